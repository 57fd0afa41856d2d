"""Which language a page is shown in, and which way it reads.

Languages are discovered from the catalogues in translations/, so adding one means
dropping in a catalogue: no code lists them.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

SESSION_KEY = "locale"


@lru_cache(maxsize=8)
def _discover(translations_dir: str) -> tuple[str, ...]:
    found = {"en"}
    root = Path(translations_dir)
    if root.is_dir():
        # Only compiled catalogues: a language whose .mo is missing would show English
        # text on a page marked as another language (`make translations` builds them).
        for catalogue in root.glob("*/LC_MESSAGES/messages.mo"):
            found.add(catalogue.parent.parent.name)
    return tuple(sorted(found))


def available_locales() -> tuple[str, ...]:
    return _discover(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])


def choose_language() -> str:
    """The language code, by the person's saved preference, their choice in the selector,
    their browser's Accept-Language, then English."""
    if not has_request_context():  # the CLI, a background job
        return "en"
    available = available_locales()
    if current_user and current_user.is_authenticated and current_user.preferred_language in available:
        return current_user.preferred_language
    chosen = session.get(SESSION_KEY)
    if chosen in available:
        return chosen
    return request.accept_languages.best_match(available) or "en"


def select_locale() -> str:
    code = choose_language()
    # English is the source language; these users expect British dates ("1 July 2026").
    return current_app.config["BABEL_DEFAULT_LOCALE"] if code == "en" else code


def is_rtl(code: str) -> bool:
    try:
        return Locale.parse(code).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def language_options() -> list[tuple[str, str]]:
    """(code, name in its own language), for the selector and the account page."""
    return [(code, language_name(code)) for code in available_locales()]


def page_language() -> dict[str, str]:
    locale = get_locale()
    return {
        "lang": str(locale).replace("_", "-") if locale else "en",
        "dir": "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr",
        "code": choose_language(),
    }


def local_date(value, format: str = "long") -> str:
    """A date in the reader's language, on the calendar day of the service's time zone
    (flask-babel's format_date does not move a UTC datetime into it)."""
    from datetime import datetime

    from flask_babel import format_date, to_user_timezone

    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return format_date(value, format)


def text_direction(code: str) -> str:
    """"rtl" or "ltr", for a block of content whose language may differ from the page's."""
    return "rtl" if is_rtl(code) else "ltr"


def language_name(code: str) -> str:
    """A language's name in its own language, as people look for it."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def language_name_here(code: str) -> str:
    """A language's name in the page's language, for a sentence about it ("the Urdu slides")."""
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en") or code
    except (UnknownLocaleError, ValueError):
        return code


def lang_attributes(code: str):
    """lang and dir for a piece of content in a language that may not be the page's: the
    dir attribute also isolates it, so an English course title sits right in an Urdu page."""
    from markupsafe import Markup, escape

    return Markup(f'lang="{escape(code)}" dir="{text_direction(code)}"')
