"""A guest learner's reference code: what someone learning without an account keeps (printed,
or on their phone) to carry on from any device, and to claim their learning later.

Digits, not letters: every language these learners read says digits aloud in its own words,
a phone offers a number pad for them, and the code may be typed in the digits of the page's
script (Arabic-Indic, Urdu, Bengali, Gurmukhi) as well as 0-9. Seventeen random digits carry
56 bits; an eighteenth, a Damm check digit, catches every mistyped digit and every swap of two
neighbours before anything is looked up. Shown as six groups of three: "406 118 372 905 661 284".

References given before this format (twelve letters and digits, as "ABCD-EFGH-JKMN") are still
recognised, as the people holding them were given them on paper."""
from __future__ import annotations

import secrets
import unicodedata

RANDOM_DIGITS = 17
LENGTH = RANDOM_DIGITS + 1
GROUP = 3
# The column holds the older letter references too.
STORED_LENGTH = 24

# Damm's quasigroup of order 10 (H. M. Damm, 2004): the check digit makes the running value 0.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def check_digit(digits: str) -> str:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return str(interim)


def new_reference() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(RANDOM_DIGITS))
    return body + check_digit(body)


class Mistyped(ValueError):
    """Eighteen digits whose check digit does not match: a typing mistake, not an unknown code."""


def normalise(typed: str | None) -> str | None:
    """The reference as stored, from what someone typed: spaces, dashes and the digits of any
    script are fine ("٤٠٦ ١١٨ …" is "406118…"). None when it cannot be a reference; Mistyped
    when it has the shape of one but its check digit is wrong."""
    from lms.models.people import normalise_code

    kept = [ch for ch in (typed or "") if not (ch.isspace() or unicodedata.category(ch) in ("Pd", "Po", "Cf"))]
    if kept and all(ch.isdecimal() for ch in kept):
        digits = "".join(str(unicodedata.decimal(ch)) for ch in kept)
        if len(digits) != LENGTH:
            return normalise_code(digits, 12)  # an older reference can be all digits
        if check_digit(digits) != "0":
            raise Mistyped(digits)
        return digits
    return normalise_code("".join(kept), 12)  # a reference given before digits


def groups(code: str) -> list[str]:
    size = GROUP if code.isdecimal() else 4
    return [code[index:index + size] for index in range(0, len(code), size)]


def display(code: str) -> str:
    """Grouped for reading aloud and copying: "406 118 372 905 661 284" (older: "ABCD-EFGH-JKMN")."""
    return (" " if code.isdecimal() else "-").join(groups(code))


# The zero of each script's own digits (CLDR numbering systems); the rest follow it in Unicode.
NATIVE_ZERO = {"arab": "\u0660", "arabext": "\u06f0", "beng": "\u09e6", "guru": "\u0a66", "deva": "\u0966"}


def native_zero(locale: str) -> str | None:
    """The zero of the language's own digits, where they are not 0-9 (Arabic, Urdu, Bengali,
    Punjabi); None for a language written with 0-9."""
    from babel import Locale, UnknownLocaleError

    try:
        system = Locale.parse(locale).other_numbering_systems.get("native")
    except (ValueError, UnknownLocaleError):
        return None
    return NATIVE_ZERO.get(system)


def in_script(code: str, zero: str) -> str:
    """The code in another script's digits, given that script's zero ("٠", "০", …)."""
    return "".join(chr(ord(zero) + int(ch)) if ch.isdecimal() else ch for ch in code)
