"""Static files under hashed names, kept a year; compressed pages; what must not be compressed."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
from flask import Flask, Response, url_for

from lms import serving
from tests.test_certificates import passed  # noqa: F401 - the demo learner's certificate

LMS_STATIC = Path(serving.__file__).parent / "static"
WORKSHOPS_STATIC = Path(serving.__file__).parent / "workshops" / "static"
STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/lms\.([0-9a-f]{12})\.css)">')
YEAR = "max-age=31536000"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",") if part.strip()}


def decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    data = response.get_data()
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return brotli.decompress(data)
    assert encoding is None, encoding
    return data


def stylesheet_of(client, path: str = "/sign-in") -> str:
    match = STYLESHEET.search(client.get(path).get_data(as_text=True))
    assert match, "no hashed stylesheet on the page"
    return match.group(1)


# --- hashed names -------------------------------------------------------------------------

def test_pages_name_the_stylesheet_by_its_content(client):
    address = stylesheet_of(client)
    assert address == f"/static/lms.{digest(LMS_STATIC / 'lms.css')}.css"


def test_blueprint_static_files_are_hashed_too(app):
    with app.test_request_context():
        for name in ("presenter.js", "presenter.css", "register.js"):
            stem, suffix = name.rsplit(".", 1)
            assert url_for("workshops.static", filename=name) == \
                f"/workshops/static/{stem}.{digest(WORKSHOPS_STATIC / name)}.{suffix}"
        # A file that does not exist keeps its name (and will be a 404, not a 500).
        assert url_for("static", filename="missing.css") == "/static/missing.css"


def test_a_hashed_file_is_kept_for_a_year_and_is_the_file(client):
    address = stylesheet_of(client)
    response = client.get(address)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert {"public", YEAR, "immutable"} <= directives(response)
    assert response.get_data() == (LMS_STATIC / "lms.css").read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    script = client.get(f"/workshops/static/presenter.{digest(WORKSHOPS_STATIC / 'presenter.js')}.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert "immutable" in directives(script) and script.get_data() == (WORKSHOPS_STATIC / "presenter.js").read_bytes()


def test_a_signed_in_persons_stylesheet_carries_no_cookie(client, demo):
    """Set-Cookie or Vary: Cookie would make browsers fetch it again whenever the session changes."""
    client.sign_in("learner@example.org")
    address = stylesheet_of(client, "/")
    response = client.get(address)
    assert response.status_code == 200 and "immutable" in directives(response)
    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()
    assert "private" not in directives(response) and "no-store" not in directives(response)


def test_addresses_without_the_current_hash_still_work_for_a_minute(client):
    current = (LMS_STATIC / "lms.css").read_bytes()
    for address in ("/static/lms.css", "/static/lms.0123456789ab.css"):
        response = client.get(address)
        assert response.status_code == 200 and response.get_data() == current
        assert directives(response) == {"public", "max-age=60"}


@pytest.mark.parametrize("address", [
    "/static/missing.css", "/static/lms.0123456789ab.js", "/static/", "/static", "/static/lms.css/more",
    "/static/%2e%2e/__init__.py", "/static/..%2f__init__.py", "/workshops/static/../../static/lms.css",
    "/workshops/static/missing.0123456789ab.js", "/static/lms.ACDD0E0D42E9.css", "/static/lms.css%00",
])
def test_an_unknown_static_address_is_a_404_page(client, address):
    response = client.get(address)
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_only_get_and_head_are_answered(client):
    address = stylesheet_of(client)
    assert client.post(address).status_code == 405
    head = client.client.head(address)
    assert head.status_code == 200 and head.get_data() == b""
    assert int(head.headers["Content-Length"]) == (LMS_STATIC / "lms.css").stat().st_size
    assert "immutable" in directives(head)


def test_a_browser_that_has_the_file_gets_304(client):
    address = stylesheet_of(client)
    etag = client.get(address).headers["ETag"]
    again = client.get(address, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


# --- an edited file -----------------------------------------------------------------------

@pytest.fixture
def small_app(tmp_path):
    """A bare app with a static folder of its own, so the test may change its files."""
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "site.css").write_text("body { color: black; }\n" * 100)
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    app = Flask("small", static_folder=str(folder))
    app.config.update(INSTANCE_DIR=tmp_path / "instance", STATIC_CACHE_DIR=tmp_path / "cache")

    @app.get("/stream")
    def stream():
        def rows():
            app.config["STREAMED"] = 0
            for number in range(200):
                app.config["STREAMED"] = number + 1
                yield f"<p>Row {number} of a long page sent as it is written.</p>\n" * 50

        return Response(rows(), mimetype="text/html")

    serving.init_app(app)
    return app


def test_a_changed_file_gets_a_new_address_and_the_old_one_keeps_its_content(small_app):
    client = small_app.test_client()
    path = Path(small_app.static_folder) / "site.css"
    with small_app.test_request_context():
        before = url_for("static", filename="site.css")
    old = path.read_bytes()
    assert client.get(before).get_data() == old
    path.write_text("body { color: navy; }\n" * 100)
    with small_app.test_request_context():
        after = url_for("static", filename="site.css")
    assert after != before and re.fullmatch(r"/static/site\.[0-9a-f]{12}\.css", after)
    fresh = client.get(after)
    assert fresh.get_data() == path.read_bytes() and "immutable" in directives(fresh)
    # A page from before the change may still ask for the old address: what it was is what it gets.
    assert client.get(before).get_data() == old


def test_an_old_address_never_seen_before_gets_todays_file_briefly(small_app):
    client = small_app.test_client()
    path = Path(small_app.static_folder) / "site.css"
    with small_app.test_request_context():
        before = url_for("static", filename="site.css")
    path.write_text("body { color: navy; }\n" * 100)  # changed before anyone asked for the old address
    response = client.get(before)
    assert response.get_data() == path.read_bytes()
    assert directives(response) == {"public", "max-age=60"}


def test_without_a_writable_cache_the_file_is_still_served(small_app, tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    small_app.wsgi_app.cache = blocked
    client = small_app.test_client()
    with small_app.test_request_context():
        address = url_for("static", filename="site.css")
    response = client.get(address, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "immutable" in directives(response)
    assert decoded(response) == (Path(small_app.static_folder) / "site.css").read_bytes()
    assert "Cannot keep compressed static files" in caplog.text


# --- compression --------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_static_files_are_compressed_for_browsers_that_accept_it(client, encoding):
    address = stylesheet_of(client)
    response = client.get(address, headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) == len(response.get_data()) < 14194 / 3
    assert decoded(response) == (LMS_STATIC / "lms.css").read_bytes()
    assert "immutable" in directives(response)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_pages_are_compressed_and_decompress_to_the_same_page(client, encoding):
    plain = client.get("/verify")
    response = client.get("/verify", headers={"Accept-Encoding": encoding})
    assert plain.status_code == response.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.get_data()) < len(plain.get_data()) / 2
    assert decoded(response) == plain.get_data()


def test_a_browser_that_refuses_compression_gets_none(client):
    for header in ("identity", "gzip;q=0, br;q=0", "compress"):
        response = client.get("/verify", headers={"Accept-Encoding": header})
        assert "Content-Encoding" not in response.headers, header
    assert "Content-Encoding" not in client.get(stylesheet_of(client), headers={"Accept-Encoding": "identity"}).headers


def test_head_of_a_compressed_page(client):
    response = client.client.head("/verify", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["Content-Encoding"] == "gzip"


def test_a_streamed_page_is_compressed_as_it_goes(small_app):
    """Flask-Compress must not gather a stream before sending it."""
    response = small_app.test_client().get("/stream", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and "Content-Length" not in response.headers
    chunks = iter(response.response)
    first = next(chunk for chunk in chunks if chunk)
    assert first and small_app.config["STREAMED"] < 200
    rest = b"".join(chunks)
    assert gzip.decompress(first + rest).count(b"<p>Row ") == 200 * 50


def test_images_are_not_compressed_again(small_app):
    client = small_app.test_client()
    with small_app.test_request_context():
        address = url_for("static", filename="logo.png")
    response = client.get(address, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert "immutable" in directives(response)


def test_certificate_pdfs_are_sent_as_they_are(client, passed):  # noqa: F811
    response = client.get(f"/certificates/{passed}.pdf", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Content-Encoding" not in response.headers
    assert response.get_data().startswith(b"%PDF")


def test_csv_and_xlsx_exports_stream_uncompressed(client, demo):
    client.sign_in("orgadmin@example.org")
    organisation = demo["organisations"]["Northmoor Borough Council"]
    for kind in ("csv", "xlsx"):
        response = client.get(f"/org/{organisation}/reports/people.{kind}", headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers
        # No length: the rows went out as they were written, not gathered first.
        assert "Content-Length" not in response.headers
        body = response.get_data()
        assert body.startswith(b"PK") if kind == "xlsx" else b"Lena Kowalska" in body
