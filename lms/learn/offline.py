"""A course's lessons as one self-contained HTML page, to save on a phone and read with no
connection: the stylesheet inline, the course's images inline as data: addresses, and links
to the site made absolute, so that nothing in it needs the network."""
from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

from lms.catalogue import Course, Module
from lms.catalogue.model import ASSET_TYPES

_SITE_LINK = re.compile(r'(\bhref=")(/[^/"][^"]*)(")')
_HEADING = re.compile(r"<(/?)h([1-5])\b")
STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "lms.css"


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def _inline(path: Path, _name: str) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{ASSET_TYPES[path.suffix.lower()]};base64,{encoded}"


def standalone(course: Course, module: Module, base_url: str) -> str:
    """The lesson's (already sanitised) HTML, with nothing left that needs the network."""
    html = course.with_assets(module.html, _inline)
    html = _SITE_LINK.sub(lambda match: match[1] + base_url.rstrip("/") + match[2] + match[3], html)
    # On one page each lesson's title is a level-2 heading, so its own headings go one level down.
    return _HEADING.sub(lambda match: f"<{match[1]}h{int(match[2]) + 1}", html)


def lessons(course: Course, language: str, base_url: str) -> list[tuple[Module, bool, str]]:
    """Each lesson in the language (or English), whether it fell back, and its HTML."""
    found = []
    for slug in course.module_slugs:
        module, fell_back = course.module(slug, language)
        found.append((module, fell_back, standalone(course, module, base_url)))
    return found
