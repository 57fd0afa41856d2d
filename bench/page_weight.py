"""What a learner's browser downloads on a first visit to the heaviest learner page, counted on
the wire from a real server (gunicorn). Prints one JSON object.

The demo learner (learner@example.org) signs in; every page reachable by links from the start
page is visited, and so is one quiz attempt per course (the page with the questions). Each
page is weighed with the stylesheets, scripts and images it loads from the site. The heaviest
is then fetched as a browser with an empty cache would, sending `Accept-Encoding: gzip, br`:
the figure is the bytes of every response (status line, headers and body as sent, so
compressed where the server compressed) and the number of requests. The same page is fetched
again without Accept-Encoding (what a client that cannot decompress receives), and once more
as a browser that kept the first visit's files would (files still fresh by their
Cache-Control are not asked for; the others are asked for with If-None-Match).

    python bench/page_weight.py --quick
    python bench/page_weight.py --checkout /tmp/before   # another checkout (say, a git worktree
                                                          # of an older commit), for a before/after
    python bench/page_weight.py --quick --page /courses/wrap/lessons/01-prevent-and-contest   # one given page
Exit status 1 when a page fails to load or a compressed body does not decompress.
"""
from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LEARNER = "learner@example.org"
PASSWORD = "demo-password"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LINK = re.compile(r'<a\b[^>]*\bhref="([^"]+)"')
POST_FORM = re.compile(r'<form\b[^>]*\bmethod="post"')
# What a page loads by itself: stylesheets, scripts and images (fonts are not used).
RESOURCE = re.compile(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"|<script\b[^>]*\bsrc="([^"]+)"'
                      r'|<img\b[^>]*\bsrc="([^"]+)"')
DOWNLOADS = (".pdf", ".zip", ".csv", ".xlsx", ".ics", ".html")
ENCODINGS = "gzip, br"


# --- a small HTTP/1.1 client that counts bytes on the wire ----------------------------------

@dataclass
class Exchange:
    status: int
    headers: dict[str, str]       # lower-case names; repeated headers joined with "\n"
    body: bytes                   # decoded: de-chunked and decompressed
    sent: int                     # bytes of the request
    received: int                 # bytes of the response: status line, headers and body as sent
    wire_body: int                # bytes of the body as sent (compressed, if it was)


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def fetch(self, method: str, path: str, *, form: dict | None = None, accept_encoding: str | None = ENCODINGS,
              extra: dict | None = None) -> Exchange:
        """One request on its own connection (Connection: close), read to the end."""
        body = urlencode(form, doseq=True).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close",
                 "User-Agent: page-weight-bench", "Accept: */*"]
        if accept_encoding:
            lines.append(f"Accept-Encoding: {accept_encoding}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        for name, value in (extra or {}).items():
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as connection:
            connection.sendall(request)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        raw = b"".join(chunks)
        head, _, payload = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = f"{headers[name]}\n{value.strip()}" if name in headers else value.strip()
        for cookie in headers.get("set-cookie", "").split("\n"):
            if "=" in cookie:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        status = int(status_line.split()[1])
        decoded = dechunk(payload) if "chunked" in headers.get("transfer-encoding", "") else payload
        wire_body = len(payload)
        if method == "HEAD":
            decoded = b""
        encoding = headers.get("content-encoding", "")
        try:
            if encoding == "gzip":
                decoded = gzip.decompress(decoded)
            elif encoding == "br":
                import brotli

                decoded = brotli.decompress(decoded)
            elif encoding:
                raise RuntimeError(f"unexpected Content-Encoding {encoding!r}")
        except Exception as failure:  # noqa: BLE001 - whatever the decoder raises, say which response
            raise RuntimeError(f"{path}: the {encoding} body does not decode ({failure})") from failure
        return Exchange(status, headers, decoded, len(request), len(raw), wire_body)


def dechunk(payload: bytes) -> bytes:
    out, rest = [], payload
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


# --- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(checkout: Path, directory: Path) -> dict:
    env = {**os.environ, "LMS_ENV": "development", "LMS_INSTANCE_DIR": str(directory),
           "LMS_DATABASE_URL": f"sqlite:///{directory}/page-weight.sqlite3", "LMS_RATELIMIT_ENABLED": "0"}
    if checkout != ROOT:
        # The other checkout's lms/ comes first on the path (before this one's editable install).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))
    return env


def prepare(checkout: Path, env: dict) -> None:
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([str(BIN / "lms"), *command], cwd=checkout, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"lms {' '.join(command)} failed: {done.stderr.strip()[-500:]}")


def start_gunicorn(checkout: Path, env: dict, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:lms.gunicorn_config", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--error-logfile", str(log), "--chdir", str(checkout), "lms:create_app()"],
        # Started in the checkout: gunicorn puts the folder it starts in first on the path.
        cwd=checkout, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the learner's pages --------------------------------------------------------------------

def sign_in(browser: Browser) -> None:
    page = browser.fetch("GET", "/sign-in")
    token = TOKEN.search(page.body.decode()).group(1)
    answer = browser.fetch("POST", "/sign-in", form={"csrf_token": token, "email": LEARNER, "password": PASSWORD})
    if answer.status != 302:
        raise RuntimeError(f"signing in as {LEARNER} answered {answer.status}")


def same_site_path(base: str, address: str) -> str | None:
    address, _ = urldefrag(html.unescape(address))
    absolute = urljoin(base, address)
    parts = urlsplit(absolute)
    if parts.scheme not in ("", "http") or (parts.netloc and not parts.netloc.startswith("127.0.0.1")):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def resources_of(path: str, page: bytes) -> list[str]:
    found = []
    for match in RESOURCE.finditer(page.decode("utf-8", "replace")):
        address = next(group for group in match.groups() if group)
        if address.startswith("data:"):
            continue
        resource = same_site_path(f"http://127.0.0.1{path}", address)
        if resource and resource not in found:
            found.append(resource)
    return found


def learner_pages(browser: Browser, limit: int) -> dict[str, bytes]:
    """Every page reachable from the start page (at most `limit`), and one quiz attempt a course."""
    pages: dict[str, bytes] = {}
    queue, seen = deque(["/"]), {"/"}
    while queue and len(pages) < limit:
        path = queue.popleft()
        answer = browser.fetch("GET", path)
        if answer.status != 200:
            raise RuntimeError(f"{path} answered {answer.status}")
        pages[path] = answer.body
        text = answer.body.decode("utf-8", "replace")
        links = [m.group(1) for m in LINK.finditer(text)]
        for address in links:
            link = same_site_path(f"http://127.0.0.1{path}", address)
            if (link is None or link in seen or link.startswith(("/static/", "/workshops/static/"))
                    or urlsplit(link).path.endswith(DOWNLOADS) or link.startswith("/sign-out")):
                continue
            seen.add(link)
            queue.append(link)
        token = TOKEN.search(text)
        if path.endswith("/quiz") and POST_FORM.search(text) and token:  # the quiz's start button
            started = browser.fetch("POST", path, form={"csrf_token": token.group(1)})
            attempt = same_site_path(f"http://127.0.0.1{path}", started.headers.get("location", ""))
            if started.status == 302 and attempt and attempt not in seen and "/quiz/" in attempt:
                seen.add(attempt)
                queue.append(attempt)
    return pages


def weigh(browser: Browser, path: str, page: bytes, sizes: dict[str, int]) -> dict:
    resources = resources_of(path, page)
    for resource in resources:
        if resource not in sizes:
            answer = browser.fetch("GET", resource, accept_encoding=None)
            if answer.status != 200:
                raise RuntimeError(f"{resource} (loaded by {path}) answered {answer.status}")
            sizes[resource] = len(answer.body)
    return {"path": path, "html_bytes": len(page), "resources": resources,
            "uncompressed_bytes": len(page) + sum(sizes[r] for r in resources)}


def first_visit(browser: Browser, path: str, accept_encoding: str | None) -> tuple[dict, list[tuple[str, Exchange]]]:
    exchanges = [(path, browser.fetch("GET", path, accept_encoding=accept_encoding))]
    if exchanges[0][1].status != 200:
        raise RuntimeError(f"{path} answered {exchanges[0][1].status}")
    for resource in resources_of(path, exchanges[0][1].body):
        exchanges.append((resource, browser.fetch("GET", resource, accept_encoding=accept_encoding)))
    return summarise(exchanges), exchanges


def fresh(headers: dict[str, str]) -> bool:
    """Would a browser use its copy without asking? Only by max-age here: no Expires is sent."""
    control = headers.get("cache-control", "").lower()
    if "no-store" in control or "no-cache" in control:
        return False
    match = re.search(r"max-age=(\d+)", control)
    return bool(match) and int(match.group(1)) > 0


def next_visit(browser: Browser, path: str, first: list[tuple[str, Exchange]]) -> dict:
    """The same page again, by a browser that kept what the first visit sent."""
    exchanges = [(path, browser.fetch("GET", path))]
    kept = dict(first[1:])
    for resource in resources_of(path, exchanges[0][1].body):
        copy = kept.get(resource)
        if copy is not None and fresh(copy.headers):
            continue
        extra = {"If-None-Match": copy.headers["etag"]} if copy is not None and "etag" in copy.headers else None
        exchanges.append((resource, browser.fetch("GET", resource, extra=extra)))
    return summarise(exchanges)


def summarise(exchanges: list[tuple[str, Exchange]]) -> dict:
    return {
        "requests": len(exchanges),
        "response_bytes": sum(exchange.received for _, exchange in exchanges),
        "request_bytes": sum(exchange.sent for _, exchange in exchanges),
        "responses": [{"path": path, "status": exchange.status, "bytes": exchange.received,
                       "body_on_wire": exchange.wire_body, "body_decoded": len(exchange.body),
                       "content_encoding": exchange.headers.get("content-encoding"),
                       "cache_control": exchange.headers.get("cache-control"),
                       "vary": exchange.headers.get("vary")} for path, exchange in exchanges],
    }


def measure(checkout: Path, limit: int, page: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        env = server_env(checkout, directory)
        prepare(checkout, env)
        process, port = start_gunicorn(checkout, env, directory / "gunicorn.log")
        try:
            browser = Browser(port)
            sign_in(browser)
            pages = learner_pages(browser, limit)
            sizes: dict[str, int] = {}
            weights = sorted((weigh(browser, path, page, sizes) for path, page in pages.items()),
                             key=lambda weight: weight["uncompressed_bytes"], reverse=True)
            measured = page or weights[0]["path"]
            compressed, first = first_visit(browser, measured, ENCODINGS)
            uncompressed, _ = first_visit(browser, measured, None)
            again = next_visit(browser, measured, first)
        finally:
            stop(process)
        log = (directory / "gunicorn.log").read_text(errors="replace")
    return {
        "pages_weighed": len(weights),
        "heaviest_pages": [{key: weight[key] for key in ("path", "html_bytes", "uncompressed_bytes")}
                           for weight in weights[:5]],
        "measured": measured,
        "first_visit_with_gzip_br": compressed,
        "first_visit_without_accept_encoding": uncompressed,
        "next_visit_with_cache": again,
        "tracebacks_in_log": log.count("Traceback"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="weigh at most 60 pages (for `make bench`)")
    parser.add_argument("--pages", type=int, help="how many pages to weigh at most (default 60 with --quick, 300 without)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    parser.add_argument("--page", help="measure this page (a path such as /courses/wrap/lessons/01-...) "
                                       "instead of the heaviest; the quiz draws its questions afresh each run")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    if not (checkout / "lms" / "__init__.py").is_file():
        parser.error(f"{checkout} is not a checkout of Prevent LMS (no lms/__init__.py)")
    if args.page is not None and not args.page.startswith("/"):
        parser.error(f"--page must be a path on the site, starting with /, not {args.page!r}")
    try:
        result = measure(checkout, args.pages or (60 if args.quick else 300), args.page)
    except RuntimeError as failure:
        print(f"page_weight: {failure}", file=sys.stderr)
        return 1
    compressed = result["first_visit_with_gzip_br"]
    output = {"benchmark": "page_weight", "checkout": str(checkout), "learner": LEARNER, **result,
              "first_visit": {"requests": compressed["requests"], "response_bytes": compressed["response_bytes"],
                              "uncompressed_response_bytes": result["first_visit_without_accept_encoding"]["response_bytes"]}}
    output["passed"] = result["tracebacks_in_log"] == 0
    print(json.dumps(output, indent=2))
    return 0 if output["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
