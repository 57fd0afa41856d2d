"""A course's trainer deck as a PDF: 16:9 slides to project from any laptop, or an A4
handout with each slide's speaker notes under it. For halls with a borrowed projector and
no internet. Drawn by WeasyPrint like the certificates: one font configuration for the
process, Debian's Noto fonts for every script, and a fetcher that loads nothing but the
course's own assets."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app
from markupsafe import Markup, escape

from lms.catalogue import Course
from lms.catalogue.model import ASSET_TYPES
from lms.certify.render import _RENDER_LOCK, _font_config
from lms.i18n import text_direction

# Same stacks and line heights per script as the certificates (see certificates/classic).
STYLE = """
@page { size: 254mm 142.875mm; margin: 0; }
@page handout { size: A4 portrait; margin: 14mm 16mm; @bottom-center { content: counter(page); font-size: 9pt; } }
html { font-family: "Noto Sans", "Noto Naskh Arabic", "Noto Sans Bengali", "Noto Sans Gurmukhi", sans-serif;
       color: #0b0c0c; line-height: 1.4; }
html:lang(ur) { font-family: "Noto Nastaliq Urdu", "Noto Naskh Arabic", "Noto Sans", serif; line-height: 2.4; }
html:lang(ar) { font-family: "Noto Naskh Arabic", "Noto Sans Arabic", "Noto Sans", serif; line-height: 1.75; }
html:lang(bn) { font-family: "Noto Sans Bengali", "Noto Sans", sans-serif; line-height: 1.7; }
html:lang(pa) { font-family: "Noto Sans Gurmukhi", "Noto Sans", sans-serif; line-height: 1.5; }
body { margin: 0; }
.slide { page-break-after: always; height: 142.875mm; box-sizing: border-box; padding: 12mm 16mm;
         border-top: 4mm solid #1d4f91; overflow: hidden; font-size: 20pt; }
.slide:last-child { page-break-after: auto; }
.slide h1 { font-size: 32pt; margin: 0 0 6mm; color: #1d4f91; line-height: 1.25; }
html:lang(ur) .slide h1 { line-height: 2.2; }
.slide ul, .slide ol { margin: 0; padding-inline-start: 1.2em; }
.slide li { margin-bottom: 2mm; }
.slide img { max-width: 100%; max-height: 80mm; }
/* Scripts with tall lines get smaller type, so that every slide fits its page. */
html:lang(ur) .slide { font-size: 15pt; }
html:lang(ur) .slide h1 { font-size: 24pt; }
html:lang(bn) .slide, html:lang(ar) .slide { font-size: 17pt; }
.number { position: absolute; bottom: 5mm; right: 8mm; font-size: 10pt; color: #505a5f; }
.handout { page: handout; font-size: 11pt; }
.handout .item { break-inside: avoid-page; margin-bottom: 8mm; }
.handout .frame { border: 1pt solid #505a5f; border-top: 2.5mm solid #1d4f91; padding: 4mm 6mm; font-size: 12pt; }
.handout .frame h1 { font-size: 16pt; margin: 0 0 2mm; color: #1d4f91; }
.handout .notes { margin-top: 3mm; padding-inline-start: 4mm; border-inline-start: 1mm solid #b1b4b6; }
.handout h2 { font-size: 10pt; color: #505a5f; margin: 0 0 1mm; font-weight: 400; }
"""

ASSET_BASE = "lms-slides://course/"


class RefusedURL(Exception):
    pass


def _fetcher(course: Course):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SlidesFetcher(URLFetcher):
        """The course's own assets (as lessons and slides address them); nothing else."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            found = course.asset_at(parts.path + (f"?{parts.query}" if parts.query else "")) \
                if url.startswith(ASSET_BASE) else None
            if found is not None:
                return URLFetcherResponse(url, body=found.read_bytes(),
                                          headers={"Content-Type": ASSET_TYPES[found.suffix.lower()]})
            raise RefusedURL(f"slides may not load {url[:200]}")

    return SlidesFetcher(fail_on_errors=False)


def deck_html(course: Course, language: str, *, handout: bool) -> str:
    deck = course.deck(language)
    shown = language if language in course.slides else "en"
    title = escape(course.title(shown))
    body_class = ' class="handout"' if handout else ""
    parts = [f'<!doctype html><html lang="{escape(shown)}" dir="{text_direction(shown)}"><head><meta charset="utf-8">'
             f"<title>{title}</title></head><body{body_class}>"]
    for number, slide in enumerate(deck, start=1):
        if handout:
            parts.append(f'<section class="item"><div class="frame"><h1>{escape(slide.title)}</h1>{Markup(slide.html)}</div>'
                         f'<div class="notes">{Markup(slide.notes_html)}</div></section>')
        else:
            parts.append(f'<section class="slide"><h1>{escape(slide.title)}</h1>{Markup(slide.html)}'
                         f'<span class="number" dir="ltr">{number} / {len(deck)}</span></section>')
    parts.append("</body></html>")
    return "".join(parts)


def render_deck(course: Course, language: str, *, handout: bool = False) -> bytes:
    """The deck as PDF bytes. A language the deck lacks falls back to English."""
    from weasyprint import CSS, HTML

    with _RENDER_LOCK:
        fetcher = _fetcher(course)
        css = CSS(string=STYLE, font_config=_font_config())
        document = HTML(string=deck_html(course, language, handout=handout), base_url=ASSET_BASE,
                        url_fetcher=fetcher).render(stylesheets=[css], font_config=_font_config())
        return document.write_pdf()


def write_deck(course: Course, language: str, out: Path, *, handout: bool = False) -> int:
    data = render_deck(course, language, handout=handout)
    out.write_bytes(data)
    return len(data)


def deck_folder(app: Flask) -> Path:
    """Decks live with the other files jobs draw for download, which every app host sees."""
    return Path(app.config["BATCH_DIR"]) / "slides"


def deck_path(course: Course, language: str, *, handout: bool, folder: Path) -> Path:
    """Keyed by the course version (which carries a hash of its content), so each deck is
    drawn once per version and language, not per download."""
    shown = language if language in course.slides else "en"
    kind = "handout" if handout else "slides"
    safe_version = "".join(ch if ch.isalnum() or ch in ".+-" else "_" for ch in course.version)
    return folder / f"{course.id}-{safe_version}-{shown}-{kind}.pdf"


def cached_deck(course: Course, language: str, *, handout: bool, folder: Path) -> Path:
    """The deck's PDF, drawn now if no job has drawn it yet."""
    path = deck_path(course, language, handout=handout, folder=folder)
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        shown = language if language in course.slides else "en"
        partial.write_bytes(render_deck(course, shown, handout=handout))
        partial.replace(path)  # atomic: a reader never sees half a file
    return path


def decks_missing(app: Flask, course: Course, language: str) -> bool:
    return not all(deck_path(course, language, handout=handout, folder=deck_folder(app)).exists()
                   for handout in (False, True))


def draw_decks(course_id: str, language: str) -> None:
    """The queued task, started when a session is scheduled or changed: the session's slides
    and handout are drawn before the trainer asks, so the download does not wait for them."""
    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None:  # the course was withdrawn since: nothing to draw
        return
    for handout in (False, True):
        cached_deck(course, language, handout=handout, folder=deck_folder(current_app))
