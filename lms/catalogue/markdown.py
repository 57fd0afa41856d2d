"""Lesson and slide Markdown to sanitised HTML, and the checks an author needs on it.

Authors get ordinary Markdown plus two boxes (`::: callout` and `::: scenario Title`)
and images with alt text. Raw HTML is not trusted: nh3 keeps only the tags below.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.container import container_plugin

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "img", "blockquote", "code", "pre", "hr", "br",
    "table", "thead", "tbody", "tr", "th", "td", "div", "aside", "span", "bdi",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "div": {"class"}, "aside": {"class", "aria-label"},
    "p": {"class"}, "th": {"scope"}, "td": set(), "span": {"class", "lang", "dir"}, "bdi": {"dir"},
}


def _render_box(kind: str):
    def render(self, tokens, index, options, env):
        token = tokens[index]
        if token.nesting == 1:
            title = token.info.strip()[len(kind):].strip()
            heading = f'<p class="box__title">{html.escape(title)}</p>' if title else ""
            return f'<aside class="box box--{kind}">{heading}\n'
        return "</aside>\n"
    return render


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    for kind in ("callout", "scenario"):
        parser.use(container_plugin, name=kind, render=_render_box(kind))
    return parser


_PARSER = _parser()


def is_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("/", "#"))


@dataclass(frozen=True)
class Reference:
    kind: str  # "link" or "image"
    target: str
    line: int | None
    alt: str


def references(markdown: str, first_line: int = 1) -> list[Reference]:
    """Every link and image in the text, with the line it is on."""
    found: list[Reference] = []
    for block in _PARSER.parse(markdown):
        line = first_line + block.map[0] if block.map else None
        for token in block.children or []:
            if token.type == "image":
                found.append(Reference("image", token.attrGet("src") or "", line, token.content.strip()))
            elif token.type == "link_open":
                found.append(Reference("link", token.attrGet("href") or "", line, ""))
    return found


def render(markdown: str, course_url=None, base: str = "") -> str:
    """Sanitised HTML. course_url maps a path inside the course folder (such as
    assets/map.svg or modules/02-next.md) to a web address; base is the folder of the
    file being rendered, which relative references start from."""
    tokens = _PARSER.parse(markdown)
    if course_url is not None:
        for block in tokens:
            for token in block.children or []:
                attribute = {"image": "src", "link_open": "href"}.get(token.type)
                target = token.attrGet(attribute) if attribute else None
                if target and is_relative(target):
                    inside = _inside_course(base, target)
                    if inside is not None:
                        token.attrSet(attribute, course_url(inside))
    rendered = _PARSER.renderer.render(tokens, _PARSER.options, {})
    return nh3.clean(rendered, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto", "tel"},
                     link_rel="noopener noreferrer")


def _inside_course(base: str, target: str) -> str | None:
    """modules + ../assets/x.svg -> assets/x.svg; None if it leaves the course folder."""
    clean = target.split("#")[0].split("?")[0]
    parts: list[str] = [part for part in PurePosixPath(base).parts if part not in ("", ".")]
    for part in PurePosixPath(clean).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or None


def words(markdown: str) -> int:
    return len([word for word in markdown.split() if any(ch.isalnum() for ch in word)])


def resolve(base_file: Path, course_root: Path, target: str) -> Path | None:
    """The file a relative reference points at, if it stays inside the course folder."""
    clean = target.split("#")[0].split("?")[0]
    if not clean:
        return base_file
    resolved = (base_file.parent / clean).resolve()
    try:
        resolved.relative_to(course_root.resolve())
    except ValueError:
        return None
    return resolved
