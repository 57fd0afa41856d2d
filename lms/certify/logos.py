"""Organisation logos for certificates: PNG, checked and re-encoded, or SVG, cut down to
drawing elements only. Anything else, or anything too big, is refused with a message."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ElementTree

from flask_babel import lazy_gettext as _l

from lms.errors import InvalidInput

MAX_BYTES = 512 * 1024
MAX_PIXELS = 4000
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

ALLOWED_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "defs",
    "linearGradient", "radialGradient", "stop", "title", "desc", "clipPath", "use",
}
ALLOWED_ATTRIBUTES = {
    "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d", "points",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "opacity", "transform", "id", "offset",
    "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "clip-path", "clip-rule",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline",
    "preserveAspectRatio", "version", "href",
}
# Only references inside the file itself: url(#id) and href="#id".
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def clean_png(data: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise InvalidInput(_l("The logo must be a PNG or SVG file"), "logo")
            if image.width > MAX_PIXELS or image.height > MAX_PIXELS:
                raise InvalidInput(_l("The logo must be at most %(n)d pixels wide and high", n=MAX_PIXELS), "logo")
            image.load()
            # Re-encoding keeps the pixels and drops anything else a file might carry.
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(_l("The logo file is damaged or is not really a PNG"), "logo")


def clean_svg(data: bytes) -> bytes:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise InvalidInput(_l("SVG logos may not declare a DOCTYPE or entities"), "logo")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise InvalidInput(_l("The logo file is damaged or is not really an SVG"), "logo")
    if _local(root.tag) != "svg":
        raise InvalidInput(_l("The logo file is damaged or is not really an SVG"), "logo")
    _clean_element(root)
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    return ElementTree.tostring(root, encoding="utf-8")


def _clean_element(element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str) or _local(child.tag) not in ALLOWED_ELEMENTS:
            element.remove(child)
        else:
            _clean_element(child)
    for name in list(element.attrib):
        value = element.attrib[name]
        local = _local(name)
        keep = local in ALLOWED_ATTRIBUTES and not _EXTERNAL_URL.search(value)
        if local == "href" and not value.strip().startswith("#"):
            keep = False
        if not keep:
            del element.attrib[name]


def clean_logo(data: bytes, filename: str) -> tuple[bytes, str]:
    """(cleaned bytes, MIME type) for a PNG or SVG logo, or InvalidInput."""
    if not data:
        raise InvalidInput(_l("The logo file is empty"), "logo")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_l("The logo must be smaller than %(kb)d KB", kb=MAX_BYTES // 1024), "logo")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return clean_png(data), "image/png"
    if filename.lower().endswith(".svg") or data.lstrip()[:5] in (b"<?xml", b"<svg ", b"<svg>"):
        return clean_svg(data), "image/svg+xml"
    raise InvalidInput(_l("The logo must be a PNG or SVG file"), "logo")
