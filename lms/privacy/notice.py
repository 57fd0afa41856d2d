"""The privacy notice: which organisation's details it shows (how long things are kept is
lms.privacy.retention.Periods)."""
from __future__ import annotations


from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from lms.models import Organisation
from lms.people.scope import MAX_ID

# The link names an organisation by a signed token, not its number, so that nobody can walk
# the numbers to list every organisation (a community group's name can itself be sensitive).
_SALT = "privacy-notice"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


def link_token(secret: str, organisation_id: int) -> str:
    return _serializer(secret).dumps(organisation_id)


def find_organisation(db: Session, secret: str, raw: str) -> Organisation | None:
    """The organisation a link names; None for a token that is malformed, forged or names an
    organisation that no longer exists."""
    try:
        organisation_id = _serializer(secret).loads(raw)
    except BadSignature:
        return None
    if not isinstance(organisation_id, int) or isinstance(organisation_id, bool) or not 0 < organisation_id <= MAX_ID:
        return None
    return db.get(Organisation, organisation_id)
