"""Which language a page is shown in, and which way it reads.

Languages are discovered from the catalogues in translations/, so adding one means
dropping in a catalogue: no code lists them.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import format_number, get_locale, get_translations
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


# Locale data does not change while the app runs, and every page asks for these names and
# directions several times: each (code, locale) is worked out once per process.
@lru_cache(maxsize=256)
def is_rtl(code: str) -> bool:
    try:
        return Locale.parse(code).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def language_options() -> list[tuple[str, str]]:
    """(code, name in its own language), for the selector and the account page."""
    return list(_language_options(available_locales()))


@lru_cache(maxsize=8)
def _language_options(codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((code, language_name(code)) for code in codes)


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


@lru_cache(maxsize=256)
def language_name(code: str) -> str:
    """A language's name in its own language, as people look for it."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def language_name_here(code: str) -> str:
    """A language's name in the page's language, for a sentence about it ("the Urdu slides")."""
    return _language_name_in(code, str(get_locale() or "en"))


@lru_cache(maxsize=1024)
def _language_name_in(code: str, locale: str) -> str:
    try:
        return Locale.parse(code).get_display_name(locale) or code
    except (UnknownLocaleError, ValueError):
        return code


def lang_attributes(code: str):
    """lang and dir for a piece of content in a language that may not be the page's: the
    dir attribute also isolates it, so an English course title sits right in an Urdu page."""
    from markupsafe import Markup, escape

    return Markup(f'lang="{escape(code)}" dir="{text_direction(code)}"')


def _page_translations():
    """The catalogue flask-babel would give, looked up once a page instead of once a string:
    a page translates twenty-odd strings, and flask-babel works out the locale, the domain
    and the cache key again for each. Kept against the very locale and domain objects it was
    found for, so force_locale() (a new locale object) and refresh() (none) find it afresh."""
    context = g.get("_flask_babel") if has_app_context() else None
    if context is not None:
        kept = getattr(context, "lms_translations", None)
        if (kept is not None and kept[0] is getattr(context, "babel_locale", None)
                and kept[1] is getattr(context, "babel_domain", None)):
            return kept[2]
    translations = get_translations()
    context = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(context, "babel_locale", None)
    if locale is not None:
        context.lms_translations = (locale, getattr(context, "babel_domain", None), translations)
    return translations


def number_format(number) -> str:
    """flask-babel's numberformat filter, remembered per number and locale: pages show the same
    few counts ("Lesson 3 of 6") on every request, and Babel works each one out afresh."""
    locale = get_locale()
    if locale is None:
        return format_number(number)
    try:
        return _formatted_number(type(number), number, str(locale))
    except TypeError:  # a number that cannot be a key
        return format_number(number)


@lru_cache(maxsize=4096)
def _formatted_number(_kind: type, number, locale: str) -> str:
    return format_decimal(number, locale=locale)


def install_template_i18n(app: Flask) -> None:
    """The templates' _(), ngettext() and their context forms, as flask-babel installs them
    (new style: variables are escaped, %% formatting), through _page_translations(); and
    numberformat through number_format()."""
    app.jinja_env.filters["numberformat"] = number_format
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: _page_translations().ugettext(string),
        ngettext=lambda singular, plural, number: _page_translations().ungettext(singular, plural, number),
        newstyle=True,
        pgettext=lambda context, string: _page_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, number: _page_translations().unpgettext(
            context, singular, plural, number),
    )
