"""Password hashing. scrypt is deliberately slow, so a stolen table is costly to crack."""
from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

# Tests lower this to keep the suite quick; production always uses the default.
DEFAULT_HASH_METHOD = "scrypt:32768:8:1"
HASH_METHOD = DEFAULT_HASH_METHOD
MIN_LENGTH = 10
MAX_LENGTH = 256

# Compared against when no account matches, so a missing account takes as long as a wrong password.
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def check_password(password_hash: str | None, password: str) -> bool:
    global _DUMMY_HASH
    if password_hash is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-real-password")
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)
