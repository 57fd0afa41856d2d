"""An exported SCORM 1.2 package played by an LMS this project did not write: scorm-again (from
the npm registry) is the LMS's runtime, in Debian's chromium, with the package in a frame as
Moodle or Totara would show it. A learner reads every lesson and takes the quiz; the runtime
must hold the status and score the package reported."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from lms.interop import scorm
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "tests/e2e/scorm/node_modules/scorm-again/dist/scorm12.min.js"
HARNESS = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>LMS</title>
<script src="scorm12.min.js"></script>
<script>window.API = new Scorm12API({autocommit: false, logLevel: 5});</script></head>
<body><iframe id="sco" title="Course" src="package/index.html" style="width:100%;height:90vh"></iframe></body></html>"""


@pytest.fixture(scope="module")
def shipped():
    """The shipped courses, as the app loads them."""
    app = make_test_app("sqlite://", COURSE_PATHS=[ROOT / "courses"])
    return app


@pytest.fixture
def lms_site(tmp_path):
    """A folder served over HTTP on the loopback, as an LMS serves a package it has unpacked."""
    if not RUNTIME.is_file():
        pytest.fail("scorm-again is not installed: run `make test`, which installs it")
    (tmp_path / "scorm12.min.js").write_bytes(RUNTIME.read_bytes())
    (tmp_path / "lms.html").write_text(HARNESS)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def unpack(app, course, language: str, folder: Path) -> None:
    with app.app_context(), app.test_request_context():
        package = scorm.build(course, language)
    archive = folder / package.filename
    archive.write_bytes(package.data)
    assert scorm.check_package(archive) == []
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder / "package")


def take_course(page, course, *, answer_right: bool) -> None:
    frame = page.frame_locator("#sco")
    for _lesson in course.module_slugs:
        frame.locator(".step:not([hidden]) button[data-go]").last.click()
    questions = frame.locator("fieldset.question")
    assert questions.count() == course.questions_per_attempt
    for index in range(questions.count()):
        question = questions.nth(index)
        bank = course.question_bank[question.get_attribute("data-question")]
        options = [option.id for option in bank.options]
        chosen = sorted(bank.answers) if answer_right else [next(o for o in options if o not in bank.answers)]
        for option_id in chosen:
            question.locator(f'input[value="{option_id}"]').check()
    frame.locator("#quiz-form button[type=submit]").click()
    frame.locator("#result").wait_for(state="visible")


def runtime_value(page, name: str) -> str:
    return page.evaluate(f"window.API.cmi.{name}")


@pytest.mark.parametrize("language", ["en", "ur"])
def test_each_shipped_course_is_played_and_scored_by_scorm_again(browser, shipped, lms_site, language):
    folder, base = lms_site
    for course in shipped.extensions["lms.catalogue"].all():
        shutil.rmtree(folder / "package", ignore_errors=True)
        unpack(shipped, course, language, folder)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/lms.html")
        frame = page.frame_locator("#sco")
        assert frame.locator("html").get_attribute("lang") == language
        assert frame.locator("html").get_attribute("dir") == ("rtl" if language == "ur" else "ltr")
        assert runtime_value(page, "core.lesson_status") == "incomplete"
        take_course(page, course, answer_right=True)
        assert runtime_value(page, "core.lesson_status") == "passed", course.id
        assert runtime_value(page, "core.score.raw") == "100"
        assert frame.locator("#result-recorded").is_visible()
        context.close()


def first_course_opened(browser, shipped, lms_site, page_path: str):
    """The first shipped course's English package, unpacked, and a page open at page_path."""
    folder, base = lms_site
    course = shipped.extensions["lms.catalogue"].all()[0]
    unpack(shipped, course, "en", folder)
    page = browser.new_page()
    page.goto(f"{base}/{page_path}")
    return course, page


def test_a_failed_attempt_is_reported_as_failed_and_another_can_be_drawn(browser, shipped, lms_site):
    course, page = first_course_opened(browser, shipped, lms_site, "lms.html")
    take_course(page, course, answer_right=False)
    assert runtime_value(page, "core.lesson_status") == "failed"
    assert runtime_value(page, "core.score.raw") == "0"
    frame = page.frame_locator("#sco")
    frame.locator("#again").click()
    assert frame.locator("#quiz-form").is_visible()
    # Submitting with a question unanswered is refused inside the package, and nothing is reported.
    frame.locator("#quiz-form button[type=submit]").click()
    assert frame.locator("#quiz-problem").is_visible()
    assert runtime_value(page, "core.lesson_status") == "failed"
    page.close()


def test_outside_an_lms_the_package_says_progress_is_not_recorded(browser, shipped, lms_site):
    _course, page = first_course_opened(browser, shipped, lms_site, "package/index.html")
    assert page.locator("#connection").is_visible()
    page.close()
