"""How responses travel: static files under names that carry a hash of their content, which
browsers keep for a year, and pages compressed for browsers that accept it.

Static files (lms/static and any blueprint's static folder) are served by WhiteNoise, in front
of Flask: a stylesheet never touches the session, so it carries no Set-Cookie and no
`Vary: Cookie`, either of which would make browsers and proxies fetch it again. `url_for`
names each file by its content (`lms.3f2a1b9c0d4e.css`); the hash is taken from the file
itself when a page asks for it, in a checkout or an installed wheel alike, and again whenever
the file changes, so there is no build step and an edited file gets a new address at once.
The first request for a hashed name leaves a copy, with gzip and brotli versions made by
WhiteNoise's compressor, in the instance folder; any process can use a copy another made,
because the name says what it holds. An address without a hash, or with an old one, still
answers with today's file, kept by browsers for a minute only.

Pages and JSON are compressed by Flask-Compress as they are sent. Streamed responses stay
streamed; PDFs, spreadsheets, archives and images are compressed already and are sent as
they are, and so are CSV exports."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor
from whitenoise.string_utils import decode_path_info

from lms.extensions import compress

DIGEST_LENGTH = 12  # hex digits of SHA-256 (48 bits), as long as Django's hashed names
ONE_YEAR = 365 * 24 * 60 * 60
# An address without the current hash may name another file after the next deploy.
SHORT_MAX_AGE = 60

COMPRESSION = {
    # Text only: PDFs, XLSX, ZIP and PNG are compressed already. CSV exports are left alone:
    # they stream row batches, which a compressor would hold back until it had enough.
    "COMPRESS_MIMETYPES": ["text/html", "application/json", "image/svg+xml"],
    # Brotli's built-in dictionary makes a small page smaller than gzip does; gzip is for the rest.
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
    # Quality 2, not Flask-Compress's 4: on an 11 KB lesson page it takes a third of the
    # processor time (0.11 ms against 0.36 ms) for 6% more bytes (4,759 against 4,487).
    "COMPRESS_BR_LEVEL": 2,
    # Answering If-None-Match on a stream would gather the whole stream first.
    "COMPRESS_STREAMING_ENDPOINT_CONDITIONAL": [],
    "COMPRESS_REGISTER": False,  # compress_response calls it
}


def init_app(app: Flask) -> None:
    """After every blueprint is registered: their static folders are found from the URL map."""
    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    compress.init_app(app)
    app.after_request(compress_response)

    mounts = static_mounts(app)
    digests = Digests()

    def hashed_address(endpoint: str, values: dict) -> None:
        mount = mounts.get(endpoint)
        filename = values.get("filename")
        if mount is None or not isinstance(filename, str):
            return
        path = safe_join(mount[1], filename)
        digest = digests(path) if path else None
        if digest:
            values["filename"] = hashed_name(filename, digest)

    app.url_defaults(hashed_address)
    cache = Path(app.config.get("STATIC_CACHE_DIR") or Path(app.config["INSTANCE_DIR"]) / "static")
    app.wsgi_app = StaticFiles(app.wsgi_app, list(mounts.values()), digests, cache, app.logger)


def compress_response(response: Response) -> Response:
    # Flask-Compress 1.25 still compresses for "Accept-Encoding: gzip;q=0" (q=0 means "never"):
    # werkzeug reads the header as RFC 9110 says, and a browser that accepts neither gets none.
    if request.accept_encodings.best_match(current_app.config["COMPRESS_ALGORITHM"]) is None:
        response.vary.add("Accept-Encoding")
        return response
    return compress.after_request(response)


def static_mounts(app: Flask) -> dict[str, tuple[str, str]]:
    """endpoint -> (URL prefix, folder) for the app's static route and each blueprint's."""
    mounts = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            folder = app.static_folder
        elif rule.endpoint.endswith(".static"):
            blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
            folder = blueprint.static_folder if blueprint else None
        else:
            continue
        if folder and rule.rule.endswith("/<path:filename>"):
            mounts[rule.endpoint] = (rule.rule.removesuffix("<path:filename>"), folder)
    return mounts


def hashed_name(filename: str, digest: str) -> str:
    """css/lms.css -> css/lms.<digest>.css (the digest before the type, which browsers go by)."""
    folder, slash, name = filename.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    return f"{folder}{slash}{stem}.{digest}.{suffix}" if stem else f"{folder}{slash}{name}.{digest}"


def plain_name(filename: str) -> tuple[str, str] | None:
    """The inverse of hashed_name: (css/lms.css, digest), or None for a name without a digest."""
    folder, slash, name = filename.rpartition("/")
    parts = name.split(".")
    for index in (len(parts) - 2, len(parts) - 1):  # before the type, or at the end of a name without one
        if index >= 1 and len(parts[index]) == DIGEST_LENGTH and all(c in "0123456789abcdef" for c in parts[index]):
            return f"{folder}{slash}{'.'.join(parts[:index] + parts[index + 1:])}", parts[index]
    return None


class Digests:
    """The hash of each static file's content, taken again only when its size or time changes."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def __call__(self, path: str) -> str | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        key = (found.st_mtime_ns, found.st_size)
        known = self._known.get(path)
        if known is None or known[0] != key:
            with open(path, "rb") as file:
                known = (key, digest_of(file.read()))
            self._known[path] = known
        return known[1]


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


class StaticFiles(WhiteNoise):
    """WhiteNoise (conditional requests, HEAD, byte ranges, choosing gzip or brotli with
    `Vary: Accept-Encoding`), given files by hashed name as they are first asked for. Anything
    that names no static file goes on to Flask, whose error page answers."""

    FOREVER = ONE_YEAR

    def __init__(self, application, mounts: list[tuple[str, str]], digests: Digests, cache: Path, logger):
        super().__init__(application, max_age=SHORT_MAX_AGE, allow_all_origins=False,
                         add_headers_function=self.more_headers)
        self.mounts = sorted(mounts, key=lambda mount: len(mount[0]), reverse=True)
        self.digests = digests
        self.cache = cache
        self.logger = logger
        self.immutable: set[str] = set()
        self.lock = threading.Lock()

    def immutable_file_test(self, path, url):
        return url in self.immutable

    def more_headers(self, headers, path, url) -> None:
        headers["X-Content-Type-Options"] = "nosniff"
        if url in self.immutable:
            # The same on every host (WhiteNoise's own is made of the copy's time and size).
            headers["ETag"] = f'"{plain_name(url)[1]}"'

    def __call__(self, environ, start_response):
        url = decode_path_info(environ.get("PATH_INFO", ""))
        static_file = self.files.get(url) or self.find(url)
        if static_file is None:
            return self.application(environ, start_response)
        return self.serve(static_file, environ, start_response)

    def find(self, url: str):
        if not self.url_is_canonical(url):
            return None
        for prefix, folder in self.mounts:
            if url.startswith(prefix):
                return self.find_in(folder, prefix, url[len(prefix):])
        return None

    def find_in(self, folder: str, prefix: str, filename: str):
        url = prefix + filename
        source = safe_join(folder, filename)
        if source is None:
            return None
        if os.path.isfile(source):
            # Looked up on every request, so an edit shows at once.
            return self.get_static_file(source, url)
        plain = plain_name(filename)
        source = safe_join(folder, plain[0]) if plain else None
        if source is None or not os.path.isfile(source):
            return None
        with open(source, "rb") as file:
            data = file.read()
        if digest_of(data) != plain[1]:
            return self.get_static_file(source, url)  # a page from before the file changed
        return self.hashed_copy(data, source, prefix, filename)

    def hashed_copy(self, data: bytes, source: str, prefix: str, filename: str):
        url = prefix + filename
        with self.lock:
            if url in self.files:
                return self.files[url]
            self.immutable.add(url)
            target = self.cache.joinpath(*prefix.strip("/").split("/"), *filename.split("/"))
            try:
                if not target.is_file():
                    write_copy(data, target)
                static_file = self.get_static_file(str(target), url)
            except OSError as error:
                # Without a writable cache the file is still served, uncompressed.
                self.logger.warning("Cannot keep compressed static files in %s (%s)", self.cache, error)
                static_file = self.get_static_file(source, url)
            self.files[url] = static_file
            return static_file


def write_copy(data: bytes, target: Path) -> None:
    """The file and its compressed versions, each moved into place whole, the file last: a
    process that finds the file finds its compressed versions too."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(dir=target.parent, prefix=".incoming-")
    try:
        staged = os.path.join(staging, target.name)
        with open(staged, "wb") as file:
            file.write(data)
        compressor = Compressor(quiet=True)
        # Images and archives are compressed already; the rest only where it saves space.
        if compressor.should_compress(target.name):
            for variant in compressor.compress(staged):
                os.replace(variant, str(target) + variant[len(staged):])
        os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
