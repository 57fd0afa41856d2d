"""SCORM 1.2 export (issue 15): the package's manifest, contents and checks, the command and the
org admin's download. tests/e2e/test_scorm.py plays the packages in scorm-again."""
from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from lms.interop import scorm
from tests.conftest import make_test_app, text_of
from tests.test_cli import BIN

ROOT = Path(__file__).resolve().parents[1]
NORTHMOOR = "Northmoor Borough Council"


@pytest.fixture(scope="module")
def shipped():
    return make_test_app("sqlite://", COURSE_PATHS=[ROOT / "courses"])


def build(app, course_id: str, language: str) -> scorm.Package:
    with app.app_context(), app.test_request_context():
        return scorm.build(app.extensions["lms.catalogue"].get(course_id), language)


def members(package: scorm.Package) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("language", ["en", "ur", "pl"])
def test_a_package_has_a_scorm_12_manifest_naming_every_file(shipped, language):
    for course in shipped.extensions["lms.catalogue"].all():
        files = members(build(shipped, course.id, language))
        manifest = ElementTree.fromstring(files["imsmanifest.xml"])
        assert manifest.findtext(f"{{{scorm.IMSCP}}}metadata/{{{scorm.IMSCP}}}schemaversion") == "1.2"
        resource = manifest.find(f".//{{{scorm.IMSCP}}}resource")
        assert resource.get(f"{{{scorm.ADLCP}}}scormtype") == "sco" and resource.get("href") == "index.html"
        listed = {file.get("href") for file in resource.iter(f"{{{scorm.IMSCP}}}file")}
        assert listed == set(files) - {"imsmanifest.xml", scorm.LIST_NAME}
        assert manifest.findtext(f".//{{{scorm.ADLCP}}}masteryscore") == str(course.pass_mark)
        page = files["index.html"].decode()
        assert f'lang="{language}"' in page and ('dir="rtl"' in page) == (language == "ur")
        # Every lesson, in order, and the whole bank for the quiz to draw from, with the answers.
        for slug in course.module_slugs:
            assert course.module(slug, language)[0].title in page
        quiz = json.loads(re.search(r'<script type="application/json" id="quiz-data">(.*?)</script>', page,
                                    re.S).group(1))
        assert {q["id"] for q in quiz["questions"]} == set(course.question_bank)
        assert quiz["per_attempt"] == course.questions_per_attempt and quiz["pass_mark"] == course.pass_mark
        for question in quiz["questions"]:
            assert set(question["answers"]) == set(course.question_bank[question["id"]].answers)
        # Nothing is fetched from anywhere else (links to read more are fine): an LMS may play it
        # offline or behind a firewall.
        assert not re.search(r'src="(https?:)?//|<link[^>]+href="(https?:)?//', page)


def test_a_draft_translation_says_so_in_the_package(shipped):
    course = next(c for c in shipped.extensions["lms.catalogue"].all() if c.languages.get("ur") == "draft")
    assert 'id="draft-notice"' in members(build(shipped, course.id, "ur"))["index.html"].decode()
    assert 'id="draft-notice"' not in members(build(shipped, course.id, "en"))["index.html"].decode()


def test_an_unchanged_package_passes_the_check(shipped, tmp_path):
    package = build(shipped, "wrap", "en")
    path = tmp_path / package.filename
    path.write_bytes(package.data)
    assert scorm.check_package(path) == []


def rewrite(package: scorm.Package, path: Path, change) -> Path:
    files = members(package)
    change(files)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("change, where, words", [
    (lambda f: f.update({"index.html": f["index.html"].replace(b"</main>", b"<script>steal()</script></main>")}),
     "index.html", "changed since the package was exported"),
    (lambda f: f.pop("sco.js"), "sco.js", "missing"),
    (lambda f: f.update({"extra.js": b"alert(1)"}), "extra.js", "added since the package was exported"),
    (lambda f: f.pop(scorm.LIST_NAME), scorm.LIST_NAME, "missing"),
    (lambda f: f.update({scorm.LIST_NAME: b"{not json"}), scorm.LIST_NAME, "not the list of files"),
    (lambda f: f.pop("imsmanifest.xml"), "imsmanifest.xml", "missing"),
    (lambda f: f.update({"imsmanifest.xml": b'<?xml version="1.0"?>\n<manifest>\n  <metadata>\n</manifest>'}),
     "imsmanifest.xml:4", "not well-formed XML"),
    (lambda f: f.update({"imsmanifest.xml": f["imsmanifest.xml"].replace(b"<schemaversion>1.2", b"<schemaversion>2004")}),
     "imsmanifest.xml", "schemaversion is '2004'"),
])
def test_a_tampered_or_partial_package_is_refused_with_the_file_and_line(shipped, tmp_path, change, where, words):
    path = rewrite(build(shipped, "wrap", "en"), tmp_path / "wrap.zip", change)
    faults = [str(fault) for fault in scorm.check_package(path)]
    assert any(f"wrap.zip/{where}" in fault and words in fault for fault in faults), faults


def test_a_file_that_is_not_a_zip_or_is_cut_short_is_refused(shipped, tmp_path):
    data = build(shipped, "wrap", "en").data
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    assert "not a readable ZIP file" in str(scorm.check_package(cut)[0])
    text = tmp_path / "notes.zip"
    text.write_text("hello")
    assert "not a readable ZIP file" in str(scorm.check_package(text)[0])
    assert "not a readable ZIP file" in str(scorm.check_package(tmp_path / "absent.zip")[0])


def test_the_commands_export_and_check_a_package(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LMS_ENV": "development",
           "LMS_DATABASE_URL": f"sqlite:///{tmp_path / 'lms.sqlite3'}", "LMS_INSTANCE_DIR": str(tmp_path)}
    out = tmp_path / "wrap-ur.zip"
    made = subprocess.run([str(BIN / "lms"), "courses", "export-scorm", "--course", "wrap", "--lang", "ur",
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    checked = subprocess.run([str(BIN / "lms"), "courses", "check-scorm", str(out)], env=env, capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0 and f"ok      {out}" in checked.stdout, checked.stderr
    rewrite(scorm.Package(out.name, out.read_bytes()), out, lambda f: f.pop("sco.css"))
    refused = subprocess.run([str(BIN / "lms"), "courses", "check-scorm", str(out)], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1 and "wrap-ur.zip/sco.css: missing" in refused.stderr
    assert "Traceback" not in refused.stderr
    for args, words in ((["--course", "nope"], "No course 'nope'"), (["--course", "wrap", "--lang", "xx"], "no 'xx'")):
        wrong = subprocess.run([str(BIN / "lms"), "courses", "export-scorm", *args, "--out", str(out)], env=env,
                               capture_output=True, text=True, timeout=120)
        assert wrong.returncode != 0 and words in wrong.stderr and "Traceback" not in wrong.stderr


def test_an_org_admin_downloads_a_package_and_nobody_else_does(app, client, demo):
    organisation = demo["organisations"][NORTHMOOR]
    path = f"/org/{organisation}/courses/tiny/scorm12.zip"
    client.sign_in("orgadmin@example.org")
    settings = text_of(client.get(f"/org/{organisation}/training"))
    assert "Download the SCORM package" in settings and f'action="{path}"' in settings
    response = client.get(path + "?lang=en")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(response.get_data())).read("imsmanifest.xml")
    for bad in (path + "?lang=xx", f"/org/{organisation}/courses/nope/scorm12.zip", "/org/999999/courses/tiny/scorm12.zip"):
        assert client.get(bad).status_code == 404, bad
    client.sign_out()
    for email in ("champion@example.org", "learner@example.org", "eastgate-admin@example.org"):
        client.sign_in(email)
        assert client.get(path).status_code in (403, 404), email
        client.sign_out()
    assert client.get(path).status_code == 302
