"""Verification codes: 80 random bits in Crockford's base 32, grouped for reading aloud,
with a Luhn mod 32 check character that catches any single mistyped character and
most swapped neighbours before the database is asked."""
from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O or U: nothing to confuse
RANDOM_CHARACTERS = 16  # 16 x 5 bits = 80 bits
GROUP = 4
# What people type for what they see (Crockford): O is 0, I and L are 1.
READ_AS = {"O": "0", "I": "1", "L": "1"}


def _check_character(body: str) -> str:
    total = 0
    for position, character in enumerate(reversed(body)):
        value = ALPHABET.index(character)
        if position % 2 == 0:
            value *= 2
            value = value // 32 + value % 32
        total += value
    return ALPHABET[(32 - total % 32) % 32]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARACTERS))
    return body + _check_character(body)


def normalise(typed: str) -> str | None:
    """The stored form of a typed code, or None if it cannot be a real one."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    cleaned = "".join(READ_AS.get(ch, ch) for ch in typed.upper() if ch not in " -\t")
    if len(cleaned) != RANDOM_CHARACTERS + 1 or any(ch not in ALPHABET for ch in cleaned):
        return None
    if _check_character(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def display(code: str) -> str:
    body, check = code[:-1], code[-1]
    return "-".join(body[i:i + GROUP] for i in range(0, len(body), GROUP)) + "-" + check
