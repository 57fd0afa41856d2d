"""Drawing a certificate: a template folder, escaped fields, and WeasyPrint with a URL
fetcher that serves only the template's own files, the organisation's stored logo and
the QR code, and refuses everything else."""
from __future__ import annotations

import hashlib
import io
import logging
import threading
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit, uses_netloc, uses_relative

import segno
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from lms.config import SHIPPED_ROOT

TEMPLATES_ROOT = SHIPPED_ROOT / "certificates"
DEFAULT_TEMPLATE = "classic"
SCHEME = "lms-certificate"
BASE_URL = f"{SCHEME}://template/"
LOGO_URL = f"{SCHEME}://stored/logo"
QR_URL = f"{SCHEME}://stored/qr.jpg"
log = logging.getLogger(__name__)

# Let relative references in the template resolve against our own scheme.
for registry in (uses_relative, uses_netloc):
    if SCHEME not in registry:
        registry.append(SCHEME)


@dataclass(frozen=True)
class CertificateTemplate:
    name: str
    folder: Path
    title: str
    page_size: str
    fields: tuple[str, ...]

    def fingerprint(self) -> str:
        """Changes whenever any file of the design changes, so cached PDFs are redrawn."""
        digest = hashlib.sha256()
        for path in sorted(self.folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(self.folder).as_posix().encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


def available_templates(root: Path = TEMPLATES_ROOT) -> dict[str, CertificateTemplate]:
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        manifest = folder / "template.toml"
        if not (manifest.exists() and (folder / "certificate.html").exists()):
            continue
        try:
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            log.error("Certificate template %s is not offered: %s", folder, error)
            continue
        found[folder.name] = CertificateTemplate(
            name=folder.name, folder=folder, title=str(data.get("title", folder.name)),
            page_size=str(data.get("page_size", "A4 landscape")), fields=tuple(data.get("fields", ())))
    return found


def get_template(name: str | None) -> CertificateTemplate:
    templates = available_templates()
    return templates.get(name or DEFAULT_TEMPLATE) or templates[DEFAULT_TEMPLATE]


@lru_cache(maxsize=16)
def _environment(folder: Path) -> SandboxedEnvironment:
    # Sandboxed and autoescaped: a name like <img src=...> or @import is only ever text.
    return SandboxedEnvironment(loader=FileSystemLoader(folder), autoescape=select_autoescape(default=True))


@dataclass(frozen=True)
class CertificateFields:
    name: str
    course_title: str
    completed_on: str
    expires_on: str
    method: str
    organisation: str
    code: str
    verify_url: str
    lang: str
    dir: str
    text: dict = field(default_factory=dict)


def render_html(template: CertificateTemplate, fields: CertificateFields, *, has_logo: bool) -> str:
    values = {**fields.__dict__, "qr_url": QR_URL, "logo_url": LOGO_URL if has_logo else ""}
    return _environment(template.folder).get_template("certificate.html").render(**values)


def qr_image(url: str) -> bytes:
    """The QR code as a greyscale JPEG: WeasyPrint embeds a JPEG as it is, where a PNG would
    be decoded and compressed again for every certificate. Drawn large and saved at high
    quality, it scans as well as the PNG (a test reads it back out of the PDF)."""
    from PIL import Image

    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=6, border=2)
    png.seek(0)
    out = io.BytesIO()
    with Image.open(png) as image:
        image.convert("L").save(out, format="JPEG", quality=92)
    return out.getvalue()


class RefusedURL(Exception):
    pass


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class CertificateFetcher(URLFetcher):
        """Serves lms-certificate://template/<file in the template folder> and the two
        stored resources; refuses file:, http:, https:, data: and everything else."""

        def __init__(self, folder: Path, stored: dict[str, tuple[bytes, str]]):
            super().__init__(fail_on_errors=False)
            self.folder = folder.resolve()
            self.stored = stored
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url in self.stored:
                body, mime = self.stored[url]
                return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})
            if url.startswith(BASE_URL) and not urlsplit(url).query:
                relative = unquote(urlsplit(url).path).lstrip("/")
                path = (self.folder / relative).resolve()
                if path.is_file() and path.is_relative_to(self.folder):
                    mime = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix, "application/octet-stream")
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
            self.refused.append(url)
            raise RefusedURL(f"certificates may not load {url[:200]}")

    return CertificateFetcher


def make_fetcher(template: CertificateTemplate, *, logo: tuple[bytes, str] | None, qr: bytes):
    stored = {QR_URL: (qr, "image/jpeg")}
    if logo is not None:
        stored[LOGO_URL] = logo
    return _fetcher_class()(template.folder, stored)


_RENDER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _font_config():
    """One font configuration for the process: fonts are found and loaded once, not per PDF."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=32)
def _stylesheet(folder: Path, fingerprint: str):
    """The template's CSS, parsed once per version of the design."""
    from weasyprint import CSS

    fetcher = _fetcher_class()(folder, {})
    return CSS(string=(folder / "certificate.css").read_text(encoding="utf-8"), base_url=BASE_URL,
               url_fetcher=fetcher, font_config=_font_config())


def _document(html: str, fetcher):
    from weasyprint import HTML

    template_folder = fetcher.folder
    css = _stylesheet(template_folder, _folder_fingerprint(template_folder))
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(stylesheets=[css], font_config=_font_config())


def _folder_fingerprint(folder: Path) -> str:
    # Cheap check that the CSS has not changed since it was parsed (a designer editing it).
    css = folder / "certificate.css"
    stat = css.stat()
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def render_pdf(html: str, fetcher) -> bytes:
    # WeasyPrint's shared font configuration is not made for several threads at once.
    with _RENDER_LOCK:
        return _document(html, fetcher).write_pdf()


def draw_document(html: str, fetcher):
    """One certificate laid out, ready to be joined with others into one PDF."""
    with _RENDER_LOCK:
        return _document(html, fetcher)


def join_documents(documents: list) -> bytes:
    if not documents:
        raise ValueError("nothing to render")
    pages = [page for document in documents for page in document.pages]
    with _RENDER_LOCK:
        return documents[0].copy(pages).write_pdf()


def render_pages_pdf(documents: list[tuple[str, object]]) -> bytes:
    """Several certificates as one PDF, a page (or pages) each, in order."""
    return join_documents([draw_document(html, fetcher) for html, fetcher in documents])


def cache_key(template: CertificateTemplate, html: str, logo: tuple[bytes, str] | None) -> str:
    digest = hashlib.sha256()
    digest.update(template.fingerprint().encode())
    digest.update(html.encode())
    if logo is not None:
        digest.update(logo[0])
    return digest.hexdigest()


