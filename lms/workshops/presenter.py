"""The presenter: one page of the whole deck that presenter.js turns into an audience view
(one slide at a time, full screen) or a speaker view (notes, next slide, clock), and the same
page as a single self-contained HTML file for a laptop that will never be online.

Everything a session needs is in the page when it loads (slides, notes, the check-in QR code),
so a trainer who loses the connection mid-session carries on."""
from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import segno
from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup

from lms.catalogue import Course, Slide
from lms.catalogue.model import ASSET_TYPES
from lms.i18n import available_locales

STATIC = Path(__file__).parent / "static"
APP_STATIC = Path(__file__).parent.parent / "static"


@dataclass(frozen=True)
class CheckIn:
    """What the first slide shows so people can check in on their phones."""
    code: str
    address: str  # the page where the code is typed
    url: str      # the page the QR code opens, code included

    def qr(self) -> str:
        return segno.make(self.url, error="m").svg_data_uri(scale=5, dark="#0b0c0c")


def join_slide(check_in: CheckIn, language: str) -> Markup:
    """The check-in slide, in the session's language where the interface has it."""
    shown = language if language in available_locales() else "en"
    with force_locale(shown):
        return Markup(render_template("workshops/_join_slide.html", check_in=check_in, language=shown))


def render_presenter(course: Course, language: str, *, view: str, title: str, channel: str,
                     check_in: CheckIn | None = None, back_url: str | None = None,
                     speaker_url: str = "#speaker", standalone: bool = False) -> str:
    """The deck page. view is "audience", "speaker", or "file" (the script picks by window)."""
    slides: list[Slide] = course.deck(language)
    inline = None
    if standalone:
        inline = {"style": Markup(_read(APP_STATIC / "lms.css") + _read(STATIC / "presenter.css")),
                  "script": Markup(_read(STATIC / "presenter.js"))}
    html = render_template(
        "workshops/present.html", course=course, language=language, slides=slides, view=view, title=title,
        channel=channel, join=join_slide(check_in, language) if check_in else None, back_url=back_url,
        speaker_url=speaker_url, inline=inline)
    return inline_assets(html, course) if standalone else html


@functools.lru_cache(maxsize=None)  # the app's own files, which do not change while it runs
def _read(path: Path) -> str:
    # </style> or </script> inside a file would end the element early; neither file has one.
    text = path.read_text(encoding="utf-8")
    if re.search(r"</(style|script)", text, re.IGNORECASE):
        raise ValueError(f"{path.name} cannot be inlined")
    return text


def inline_assets(html: str, course: Course) -> str:
    """Each of the course's own images as a data: URI, so the file makes no request at all.
    Anything else a src points at is dropped (the loader allows only the course's assets)."""
    def replace(match: re.Match) -> str:
        address = match.group(2)
        if address.startswith("data:"):
            return match.group(0)
        found = course.asset_at(address)
        if found is None:
            return f'{match.group(1)}""'
        data = base64.b64encode(found.read_bytes()).decode("ascii")
        return f'{match.group(1)}"data:{ASSET_TYPES[found.suffix.lower()]};base64,{data}"'

    return re.sub(r'(\bsrc=)"([^"]*)"', replace, html)
