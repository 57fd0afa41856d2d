"""Password-reset links. A link carries the account id and its session token, signed and
timed; setting a new password changes the token, so each link works once."""
from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from lms.models import User

_SALT = "lms.password-reset"


def make_reset_token(secret_key: str, user: User) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps({"user": user.id, "token": user.session_token})


def user_for_reset_token(db: Session, secret_key: str, token: str, max_age: int) -> User | None:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int):
        return None
    user = db.get(User, data["user"])
    if user is None or user.session_token != data.get("token"):
        return None
    return user
