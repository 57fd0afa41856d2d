"""Certificates: issuing, downloading, verifying, revoking, and drawing them safely in every script."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lms import db
from lms.certify import codes, render
from lms.certify.services import NoPassingCompletion, issue_certificate
from lms.db import utcnow
from lms.models import Certificate, Completion, User
from tests.conftest import FormClient, make_test_app
from tests.test_learn import answers_for, drawn_questions, start_quiz

BIN = Path(sys.executable).parent


# --- codes ------------------------------------------------------------------------------------

def test_codes_carry_80_random_bits_grouped_with_a_check_character():
    code = codes.new_code()
    assert len(code) == 17 and set(code) <= set(codes.ALPHABET) and len(codes.ALPHABET) == 32  # 16 x 5 = 80 bits
    shown = codes.display(code)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", shown)
    assert codes.normalise(shown.lower().replace("-", " ")) == code
    assert len({codes.new_code() for _ in range(1000)}) == 1000


@given(st.data())
@settings(max_examples=200)
def test_any_single_mistyped_character_is_caught(data):
    code = codes.new_code()
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in codes.ALPHABET if c != code[position]]))
    assert codes.normalise(code[:position] + wrong + code[position + 1:]) is None


@pytest.mark.parametrize("typed", ["", "x" * 100, "ABCD", "ÀBCD-EFGH-JKMN-PQRS-T", "\x00" * 17, None])
def test_malformed_codes_are_refused(typed):
    assert codes.normalise(typed) is None


# --- issuing ----------------------------------------------------------------------------------

@pytest.fixture
def passed(app, client, demo):
    """The demo learner has passed the test course; returns their certificate code."""
    client.sign_in("learner@example.org")
    quiz = start_quiz(client)
    client.submit(quiz, answers_for(drawn_questions(client, quiz)), form_page=quiz)
    with app.app_context():
        certificate = db.get_session().scalars(select(Certificate)).one()
        return codes.display(certificate.code)


def test_passing_issues_a_certificate_for_the_learners_organisation(app, passed, demo):
    with app.app_context():
        certificate = db.get_session().scalars(select(Certificate)).one()
        assert certificate.organisation_id == demo["organisations"]["Northmoor Borough Council"]
        assert certificate.completion.course_id == "tiny"


def test_failing_issues_no_certificate(app, client, demo):
    client.sign_in("learner@example.org")
    quiz = start_quiz(client)
    client.submit(quiz, answers_for(drawn_questions(client, quiz), right=False), form_page=quiz)
    with app.app_context():
        assert db.get_session().scalars(select(Certificate)).all() == []


def test_no_certificate_without_a_stored_completion(app, session):
    with pytest.raises(NoPassingCompletion):
        issue_certificate(session, 424242, None)
    assert session.scalars(select(Certificate)).all() == []


def test_issuing_twice_gives_the_same_certificate(app, passed):
    with app.app_context():
        session = db.get_session()
        certificate = session.scalars(select(Certificate)).one()
        assert issue_certificate(session, certificate.completion_id, None).id == certificate.id


# --- downloading --------------------------------------------------------------------------------

def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_learner_downloads_their_certificate(app, client, passed, tmp_path):
    page = client.get("/courses").get_data(as_text=True)
    assert f"/certificates/{passed}.pdf" in page
    response = client.get(f"/certificates/{passed}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data, tmp_path)
    for expected in ["Lena Kowalska", "A tiny test course", "Northmoor Borough Council", passed, "Online course and quiz"]:
        assert expected in text


def test_correcting_the_name_corrects_the_certificate_and_unchanged_ones_come_from_the_cache(app, client, passed, tmp_path, monkeypatch):
    drawn = []
    real = render.render_pdf
    monkeypatch.setattr(render, "render_pdf", lambda *a, **k: drawn.append(1) or real(*a, **k))
    first = client.get(f"/certificates/{passed}.pdf").data
    again = client.get(f"/certificates/{passed}.pdf").data
    assert first == again and len(drawn) == 1  # the second came from the cache
    client.submit("/account", {"name": "Lena Kowalska-Nowak", "preferred_language": "en"})
    corrected = client.get(f"/certificates/{passed}.pdf").data
    assert len(drawn) == 2 and "Lena Kowalska-Nowak" in pdf_text(corrected, tmp_path)


def test_other_people_cannot_download_it(app, passed):
    other = FormClient(app.test_client(), [])
    other.sign_in("learner2@example.org")
    assert other.get(f"/certificates/{passed}.pdf").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/certificates/{passed}.pdf").status_code == 302


# --- verifying ----------------------------------------------------------------------------------

def test_anyone_can_verify_a_certificate(app, passed):
    visitor = app.test_client()
    page = visitor.get(f"/verify/{passed}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "This certificate is valid" in html
    for shown in ["Lena Kowalska", "A tiny test course", "Northmoor Borough Council"]:
        assert shown in html
    for private in ["learner@example.org", "Housing", "Learner"]:
        assert private not in html
    # Lower case, spaces and O-for-0 still find it.
    typed = passed.lower().replace("-", " ").replace("0", "o")
    assert visitor.get(f"/verify?code={typed}").headers["Location"] == f"/verify/{passed}"


def test_tampered_and_unknown_codes_get_a_plain_404(app, passed):
    visitor = app.test_client()
    body, check = passed[:-1], passed[-1]
    tampered = body + codes.ALPHABET[(codes.ALPHABET.index(check) + 1) % 32]
    unknown = codes.display(codes.new_code())
    for code in [tampered, unknown, "nonsense", "x" * 500, "%00"]:
        response = visitor.get(f"/verify/{code}")
        assert response.status_code == 404 and "Lena" not in response.get_data(as_text=True)
    bad_form = visitor.get("/verify?code=" + tampered)
    assert bad_form.status_code == 400 and "not a valid verification code" in bad_form.get_data(as_text=True)
    assert visitor.get("/verify?code=").status_code == 400


def test_expired_certificates_say_so(app, passed):
    with app.app_context():
        session = db.get_session()
        session.scalars(select(Completion)).one().expires_at = utcnow() - timedelta(days=1)
        session.commit()
    assert "This certificate has expired" in app.test_client().get(f"/verify/{passed}").get_data(as_text=True)


def test_verification_is_rate_limited(database_url, passed):
    limited = make_test_app(database_url, RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute")
    visitor = limited.test_client()
    assert [visitor.get(f"/verify/{passed}").status_code for _ in range(4)] == [200, 200, 200, 429]


# --- revoking -----------------------------------------------------------------------------------

def test_an_org_admin_revokes_a_certificate_with_a_reason(app, passed, demo):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    admin = FormClient(app.test_client(), [])
    admin.sign_in("orgadmin@example.org")
    listing = admin.get(f"/org/{organisation}/certificates").get_data(as_text=True)
    assert passed in listing and "Lena Kowalska" in listing
    certificate_id = re.search(r"/certificates/(\d+)/revoke", listing).group(1)
    url = f"/org/{organisation}/certificates/{certificate_id}/revoke"
    empty = admin.submit(url, {"reason": "   "})
    assert empty.status_code == 400 and "Give the reason" in empty.get_data(as_text=True)
    assert admin.submit(url, {"reason": "Issued to the wrong person"}).status_code == 302
    assert "This certificate has been revoked" in app.test_client().get(f"/verify/{passed}").get_data(as_text=True)
    with app.app_context():
        certificate = db.get_session().scalars(select(Certificate)).one()
        assert certificate.revoked_reason == "Issued to the wrong person"
        assert certificate.revoked_by_id == demo["users"]["orgadmin@example.org"]
    again = admin.submit(url, {"reason": "twice"})
    assert again.status_code == 400 and "already been revoked" in again.get_data(as_text=True)


def test_only_the_issuing_organisations_admins_can_revoke(app, passed, demo):
    north = demo["organisations"]["Northmoor Borough Council"]
    east = demo["organisations"]["Eastgate Community Association"]
    with app.app_context():
        certificate_id = db.get_session().scalars(select(Certificate.id)).one()
    for email, organisation in [("eastgate-admin@example.org", east), ("eastgate-admin@example.org", north),
                                ("champion@example.org", north), ("learner@example.org", north)]:
        other = FormClient(app.test_client(), [])
        other.sign_in(email)
        url = f"/org/{organisation}/certificates/{certificate_id}/revoke"
        assert other.get(url).status_code == 404, email
        assert other.submit(url, {"reason": "no"}, form_page="/account").status_code == 404, email
    with app.app_context():
        assert db.get_session().scalars(select(Certificate.revoked_at)).one() is None


# --- drawing safely -----------------------------------------------------------------------------

HOSTILE_NAMES = [
    '<b>Bold</b> <script>alert(1)</script>',
    '<img src="http://127.0.0.1:9/x.png">',
    '<style>@import url("http://127.0.0.1:9/x.css");</style>',
    '@import url(file:///etc/passwd); body { background: url(http://127.0.0.1:9/) }',
    'file:///etc/passwd',
    'http://127.0.0.1/',
    '<link rel="stylesheet" href="file:///etc/passwd">',
    'Ali \u202eecnalab\u202c Khan',
    '<svg><image href="https://example.org/x.png"/></svg>',
]


def preview(name: str, language: str = "en", template: str | None = None) -> tuple[bytes, object, str]:
    fields = render.CertificateFields(
        name=name, course_title="WRAP: Workshop to Raise Awareness of Prevent", completed_on="1 July 2026",
        expires_on="1 July 2028", method="Online", organisation="Northmoor", code="ABCD-EFGH-JKMN-PQRS-T",
        verify_url="http://localhost/verify/ABCD-EFGH-JKMN-PQRS-T", lang=language, dir="ltr",
        text={"heading": "Certificate of completion"})
    chosen = render.get_template(template)
    html = render.render_html(chosen, fields, has_logo=False)
    fetcher = render.make_fetcher(chosen, logo=None, qr=render.qr_image(fields.verify_url))
    return render.render_pdf(html, fetcher), fetcher, html


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_only_ever_text(name, tmp_path):
    pdf, fetcher, html = preview(name)
    assert fetcher.refused == []  # nothing in the name made the renderer ask for anything
    assert "<script" not in html and "<img src=\"http" not in html and "<style>" not in html
    text = " ".join(pdf_text(pdf, tmp_path).split())
    visible = " ".join(name.replace("\u202e", "").replace("\u202c", "").split())
    assert visible[:25] in text or name.startswith("Ali")


def test_names_are_cleaned_of_bidi_controls_and_limited_in_length(app, client, demo):
    client.sign_in("learner@example.org")
    client.submit("/account", {"name": "Ali \u202eecnalab\u202c Khan", "preferred_language": "en"})
    with app.app_context():
        assert db.get_session().scalars(select(User.name).where(User.email == "learner@example.org")).one() == "Ali ecnalab Khan"
    response = client.submit("/account", {"name": "N" * 10_000, "preferred_language": "en"})
    assert response.status_code == 400 and "200 characters or fewer" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1/", "https://example.org/x.css",
                                 "data:text/css,body{}", "ftp://example.org/x", "lms-certificate://template/../../../etc/passwd",
                                 "lms-certificate://template/%2e%2e/%2e%2e/lms/config.py", "lms-certificate://elsewhere/x",
                                 "javascript:alert(1)"])
def test_the_url_fetcher_refuses_everything_but_template_files_logo_and_qr(url):
    fetcher = render.make_fetcher(render.get_template(None), logo=(b"<svg/>", "image/svg+xml"), qr=b"\x89PNG")
    with pytest.raises(render.RefusedURL):
        fetcher.fetch(url)
    assert b"@page" in fetcher.fetch(render.BASE_URL + "certificate.css").read()
    assert fetcher.fetch(render.LOGO_URL).read() == b"<svg/>"


def test_a_template_that_asks_for_outside_resources_gets_none(tmp_path, monkeypatch):
    """Even a careless template cannot make the renderer fetch from disk or the network."""
    folder = tmp_path / "certificates" / "leaky"
    shutil.copytree(render.TEMPLATES_ROOT / "classic", folder)
    (folder / "certificate.html").write_text(
        '<link rel="stylesheet" href="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
        '<img src="https://example.org/x.png" alt=""><img src="data:image/png;base64,iVBORw0KGgo=" alt="">'
        '<style>@import url("../../../../etc/passwd");</style><p>{{ name }}</p>', encoding="utf-8")
    template = render.CertificateTemplate("leaky", folder, "Leaky", "A4", ())
    fields = render.CertificateFields("A", "B", "c", "d", "e", "f", "g", "http://localhost/verify/x", "en", "ltr", {})
    fetcher = render.make_fetcher(template, logo=None, qr=b"\x89PNG")
    pdf = render.render_pdf(render.render_html(template, fields, has_logo=False), fetcher)
    assert pdf.startswith(b"%PDF")
    assert any(u.startswith("file:") for u in fetcher.refused) and any(u.startswith("http:") for u in fetcher.refused)
    assert any(u.startswith("https:") for u in fetcher.refused) and any(u.startswith("data:") for u in fetcher.refused)


# --- scripts and fonts --------------------------------------------------------------------------

SCRIPTS = {
    "pl": "Zażółć gęślą jaźń Łucja Wiśniewska",
    "ro": "Ștefan Țurcanu și Ioana Dumitrescu",
    "ur": "عائشہ خان اور محمد اقبال",
    "ar": "فاطمة الزهراء عبد الله",
    "bn": "রহিমা বেগম ও সুমন চৌধুরী",
    "pa": "ਗੁਰਪ੍ਰੀਤ ਕੌਰ ਸਿੱਧੂ",
}


def embedded_fonts(pdf_path: Path) -> list[tuple[str, bool]]:
    out = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    fonts = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        name = parts[0].split("+", 1)[-1]
        embedded = parts[-5] == "yes"
        fonts.append((name, embedded))
    return fonts


def font_file(pdf_font_name: str) -> Path:
    """WeasyPrint names an embedded font after its family and style, with dashes for spaces."""
    family = pdf_font_name.replace("-Bold", "").replace("-", " ")
    style = "Bold" if pdf_font_name.endswith("-Bold") else "Regular"
    found = subprocess.run(["fc-match", "--format=%{file}", f"{family}:style={style}"], capture_output=True, text=True).stdout
    return Path(found)


@pytest.mark.parametrize("language", list(SCRIPTS))
def test_each_script_is_set_in_an_embedded_font_that_has_every_glyph(language, tmp_path):
    from fontTools.ttLib import TTFont

    name = SCRIPTS[language]
    pdf, fetcher, _html = preview(name, language=language)
    path = tmp_path / f"{language}.pdf"
    path.write_bytes(pdf)
    fonts = embedded_fonts(path)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    covered: set[int] = set()
    for font_name, _ in fonts:
        file = font_file(font_name)
        assert file.exists(), font_name
        font = TTFont(file, fontNumber=0, lazy=True)
        covered |= set(font.getBestCmap())
    missing = {ch for ch in name if not ch.isspace() and ord(ch) not in covered}
    assert not missing, f"{language}: no embedded font has {missing}"


def test_an_english_title_in_an_urdu_certificate_is_isolated(tmp_path):
    pdf, _fetcher, html = preview(SCRIPTS["ur"], language="ur")
    assert '<html lang="ur" dir="ltr">' in html or 'lang="ur"' in html
    # The title is a paragraph of its own with dir="auto" (its own direction, isolated);
    # the code, inside a line of Urdu, is isolated left to right.
    assert '<p class="course" dir="auto">WRAP: Workshop to Raise Awareness of Prevent</p>' in html
    assert '<bdi class="code" lang="en" dir="ltr">ABCD-EFGH-JKMN-PQRS-T</bdi>' in html
    text = pdf_text(pdf, tmp_path)
    assert "Workshop to Raise Awareness of Prevent" in text
    assert "ABCD-EFGH-JKMN-PQRS-T" in text


def test_fonts_come_from_debians_fonts_noto_core():
    listed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "fonts-noto-core"], capture_output=True, text=True).stdout
    assert "install ok installed" in listed
    assert "fonts-noto-core" in (Path(__file__).parent.parent / "Makefile").read_text()


# --- the preview command -----------------------------------------------------------------------

def test_certificate_render_previews_without_a_database(tmp_path):
    out = tmp_path / "preview.pdf"
    env = {"LMS_ENV": "development", "LMS_SECRET_KEY": "x", "LMS_DATABASE_URL": "sqlite:////nonexistent/dir/x.sqlite3",
           "LMS_COURSE_PATHS": str(Path(__file__).parent / "fixtures" / "courses"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(BIN / "lms"), "certificate", "render", "--course", "tiny", "--name", "Ioana Popescu",
                           "--lang", "ro", "--template", "simple", "--out", str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF") and "Ioana Popescu" in pdf_text(out.read_bytes(), tmp_path)
    for bad, message in [(["--course", "nope"], "No course"), (["--template", "nope"], "No certificate template"),
                         (["--lang", "zz-not"], "not a language"), (["--name", "N" * 300], "200 characters")]:
        args = {"--course": "tiny", "--name": "A Name", "--lang": "en"}
        args.update(dict(zip(bad[::2], bad[1::2])))
        flat = [item for pair in args.items() for item in pair]
        failed = subprocess.run([str(BIN / "lms"), "certificate", "render", *flat, "--out", str(out)],
                                capture_output=True, text=True, env=env)
        assert failed.returncode == 2 and message in failed.stderr, failed.stderr


# --- the organisation's design and logo --------------------------------------------------------

def png_logo(width=40, height=20) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (29, 79, 145)).save(out, format="PNG")
    return out.getvalue()


HOSTILE_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10" onload="alert(1)">
<script>alert(1)</script><style>@import url(http://127.0.0.1:9/x.css);</style>
<image href="file:///etc/passwd" width="10" height="10"/><use xlink:href="http://127.0.0.1:9/x.svg#a"/>
<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">hi</p></foreignObject>
<rect width="10" height="10" fill="url(http://127.0.0.1:9/p)" style="fill:url(http://127.0.0.1:9/q)"/>
<circle cx="5" cy="5" r="4" fill="#1d4f91"/><use href="#c"/></svg>"""


@pytest.fixture
def admin(app, demo):
    client = FormClient(app.test_client(), [])
    client.sign_in("orgadmin@example.org")
    client.organisation = demo["organisations"]["Northmoor Borough Council"]
    return client


def upload(admin, data: bytes, filename: str, template: str = "classic", **extra):
    import io

    url = f"/org/{admin.organisation}/certificate-design"
    return admin.submit(url, {"template": template, "logo": (io.BytesIO(data), filename), **extra},
                        content_type="multipart/form-data")


def stored_logo(app, admin):
    from lms.models import Organisation

    with app.app_context():
        organisation = db.get_session().get(Organisation, admin.organisation)
        return organisation.logo, organisation.logo_type, organisation.certificate_template


def test_an_org_admin_chooses_a_design_and_uploads_a_png_logo(app, admin, passed, tmp_path):
    response = upload(admin, png_logo(), "logo.png", template="simple")
    assert response.status_code == 302
    logo, kind, template = stored_logo(app, admin)
    assert kind == "image/png" and logo.startswith(b"\x89PNG") and template == "simple"
    preview = admin.get(f"/org/{admin.organisation}/certificate-design/preview.pdf")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    pdf = learner.get(f"/certificates/{passed}.pdf").data
    path = tmp_path / "with-logo.pdf"
    path.write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) == 4  # two header lines, the QR code and the logo


def test_svg_logos_are_cut_down_to_drawing(app, admin):
    assert upload(admin, HOSTILE_SVG, "logo.svg").status_code == 302
    logo, kind, _ = stored_logo(app, admin)
    assert kind == "image/svg+xml"
    text = logo.decode()
    for gone in ["script", "onload", "style", "foreignObject", "<image", "127.0.0.1", "file:", "alert"]:
        assert gone not in text, gone
    assert "<circle" in text and 'href="#c"' in text
    render.render_pdf(*_design_render(app, admin))


def _design_render(app, admin):
    from lms.certify.services import sample_drawing
    from lms.models import Organisation

    with app.test_request_context():
        organisation = db.get_session().get(Organisation, admin.organisation)
        drawing = sample_drawing(organisation, "A course", base_url="http://localhost", language="en")
        fetcher = drawing.fetcher()
        return drawing.html, fetcher


@pytest.mark.parametrize("data, filename, message", [
    (b"GIF89a\x01\x00\x01\x00", "logo.gif", "must be a PNG or SVG"),
    (b"\x89PNG\r\n\x1a\nnot really a png", "logo.png", "damaged or is not really a PNG"),
    (b"<svg" + b" " * (600 * 1024) + b"/>", "big.svg", "smaller than 512 KB"),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "lol">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>', "e.svg", "DOCTYPE"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed></svg>", "broken.svg", "not really an SVG"),
    (b"<html><body>hi</body></html>", "page.svg", "not really an SVG"),
    (b"", "empty.png", "The logo file is empty"),
])
def test_bad_logos_get_a_clear_400_and_change_nothing(app, admin, data, filename, message):
    before = stored_logo(app, admin)
    response = upload(admin, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored_logo(app, admin) == before


def test_an_unknown_design_is_refused(app, admin):
    response = admin.submit(f"/org/{admin.organisation}/certificate-design", {"template": "../../etc"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)


def test_removing_the_logo(app, admin):
    upload(admin, png_logo(), "logo.png")
    assert admin.submit(f"/org/{admin.organisation}/certificate-design", {"template": "classic", "remove_logo": "y"}).status_code == 302
    assert stored_logo(app, admin)[0] is None


def test_only_org_admins_set_the_design(app, demo):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    for email in ["champion@example.org", "trainer@example.org", "learner@example.org", "eastgate-admin@example.org"]:
        other = FormClient(app.test_client(), [])
        other.sign_in(email)
        assert other.get(f"/org/{organisation}/certificate-design").status_code == 404
        assert other.get(f"/org/{organisation}/certificate-design/preview.pdf").status_code == 404


def test_the_qr_code_reads_back_as_the_public_verification_url(app, client, passed, tmp_path):
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(client.get(f"/certificates/{passed}.pdf").data)
    subprocess.run(["pdfimages", "-all", str(pdf), str(tmp_path / "image")], check=True)
    images = sorted(tmp_path.glob("image-*"))
    assert images, "the PDF has no QR image"
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", *map(str, images)], capture_output=True, text=True).stdout.split()
    assert decoded == [f"http://localhost/verify/{passed}"]


def test_a_logo_too_large_goes_back_to_the_form_with_its_limit(app, admin):
    """A 3.1 MB logo is over the form's 512 KB, and over the 2 MB every other form takes."""
    big = png_logo() + b"\0" * (3_100_000)
    response = upload(admin, big, "logo.png", template="simple")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and "The logo must be smaller than 512 KB" in html
    assert re.search(r'<input checked[^>]*value="simple"', html), "the chosen design is kept"
    huge = upload(admin, b"\0" * (9 * 1024 * 1024), "logo.png", template="simple")
    assert huge.status_code == 413 and "the form says what size it takes" in huge.get_data(as_text=True)
    assert stored_logo(app, admin) == (None, None, None)
