"""The presenter's pages as the server sends them: the whole deck in one page, the check-in
slide, a slide the translation lacks shown in English and said so, the single-file deck that
loads nothing, and who may open them. The browser behaviour is in tests/e2e/test_presenter_live.py."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.catalogue import load_course
from lms.db import utcnow
from lms.models import Workshop
from lms.workshops import presenter
from tests.conftest import FIXTURE_COURSES, database, snapshot, text_of
from tests.test_workshops import _one_session, north  # noqa: F401 (a fixture)

COURSES = Path(__file__).resolve().parent.parent / "courses"


class References(HTMLParser):
    """Every address the page would load or follow, and its inline scripts."""

    def __init__(self):
        super().__init__()
        self.addresses: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "poster", "data", "srcset") and value is not None:
                self.addresses.append((tag, name, value))


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def _open_now(app, workshop_id: int) -> None:
    with database(app) as session:
        workshop = session.get(Workshop, workshop_id)
        workshop.starts_at = utcnow() - timedelta(minutes=10)
        workshop.ends_at = utcnow() + timedelta(hours=1)
        session.commit()


def test_the_audience_and_speaker_pages_carry_the_whole_deck(app, client, north):  # noqa: F811
    workshop_id = _one_session(app, client, north)
    _open_now(app, workshop_id)
    client.sign_in("trainer@example.org")
    audience = client.get(f"/org/{north}/sessions/{workshop_id}/present")
    speaker = client.get(f"/org/{north}/sessions/{workshop_id}/present/speaker")
    assert audience.status_code == speaker.status_code == 200
    with database(app) as session:
        code = session.get(Workshop, workshop_id).check_in_code
    for page in (audience, speaker):
        html = page.get_data(as_text=True)
        for title in ("Welcome", "Notice, check, share", "Where to get help"):
            assert title in html
        # The first slide: the code as people type it, and a QR code drawn in the page.
        assert f"{code[:5]}-{code[5:]}" in html and 'src="data:image/svg+xml' in html
        assert re.search(r'src="/workshops/static/presenter\.[0-9a-f]{12}\.js"', html) and 'data-channel="lms-session-' in html
    assert 'data-view="audience"' in audience.get_data(as_text=True)
    # The notes are for the speaker: the projected page leaves them out.
    assert "Welcome everyone." not in audience.get_data(as_text=True)
    assert "Welcome everyone." in speaker.get_data(as_text=True)
    assert f'href="/org/{north}/sessions/{workshop_id}/present/speaker"' in audience.get_data(as_text=True)


def test_no_check_in_slide_once_the_register_is_closed(app, client, north):  # noqa: F811
    workshop_id = _one_session(app, client, north)
    with database(app) as session:
        session.get(Workshop, workshop_id).closed_at = utcnow()
        session.commit()
    client.sign_in("orgadmin@example.org")
    html = client.get(f"/org/{north}/sessions/{workshop_id}/present/speaker").get_data(as_text=True)
    assert "join-slide" not in html and 'id="slide-1"' in html and "Welcome" in html


def test_people_who_do_not_run_the_session_cannot_present_it(app, client, north):  # noqa: F811
    workshop_id = _one_session(app, client, north)
    before = snapshot(app)
    for email in ("learner@example.org", "champion@example.org"):
        client.sign_in(email)
        for path in ("present", "present/speaker", "slides.html"):
            assert client.get(f"/org/{north}/sessions/{workshop_id}/{path}").status_code in (403, 404)
        client.sign_out()
    assert client.get(f"/org/{north}/sessions/{workshop_id}/present").status_code == 302  # to sign in
    assert client.get(f"/org/{north}/sessions/999999/present").status_code == 302
    client.sign_in("trainer@example.org")
    assert client.get(f"/org/{north}/sessions/999999/present").status_code == 404
    assert snapshot(app) == before


def test_the_single_file_deck_loads_nothing_from_anywhere(app, client, north):  # noqa: F811
    workshop_id = _one_session(app, client, north)
    _open_now(app, workshop_id)
    client.sign_in("trainer@example.org")
    response = client.get(f"/org/{north}/sessions/{workshop_id}/slides.html")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    html = response.get_data(as_text=True)
    found = references(html)
    assert "link" not in found.tags
    for tag, attribute, address in found.addresses:
        # Only in-page anchors and data: URIs (the QR code, the course's own image).
        assert address.startswith(("#", "data:")), (tag, attribute, address)
    assert html.count('src="data:image/svg+xml;base64,') == 1  # tiny's circle.svg, inlined
    assert "<script>" in html and "BroadcastChannel" in html  # the presenter script itself
    assert "<style>" in html and ".js-presenter" in html
    assert "Welcome everyone." in html  # the notes travel with the file


def test_an_untranslated_slide_falls_back_to_english_and_the_speaker_is_told(app, tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(FIXTURE_COURSES / "tiny", folder)
    (folder / "slides.ur.md").write_text(
        "# خوش آمدید\n\n- ہم یہاں کیوں ہیں\n\nNote:\nدو منٹ۔\n\n---\n\n(untranslated)\n\n---\n\n"
        "# مدد کہاں سے ملے\n\n- ہنگامی صورت میں 999\n", encoding="utf-8")
    course, faults = load_course(folder)
    assert faults == []
    deck = course.deck("ur")
    assert [slide.language for slide in deck] == ["ur", "en", "ur"]
    assert deck[1] == course.deck("en")[1]
    with app.test_request_context():
        html = presenter.render_presenter(course, "ur", view="speaker", title="t", channel="c")
    assert html.count("This slide is in English: the Urdu slides do not have it yet.") == 1
    assert 'id="slide-2" lang="en" dir="ltr"' in html
    assert 'id="slide-1" lang' not in html  # the Urdu slides take the deck's language


def test_untranslated_is_no_slide_in_the_english_deck(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(FIXTURE_COURSES / "tiny", folder)
    text = (folder / "slides.md").read_text(encoding="utf-8")
    (folder / "slides.md").write_text(text + "\n---\n\n(untranslated)\n", encoding="utf-8")
    course, faults = load_course(folder)
    assert course is None
    assert any("each slide must start with a # heading" in str(fault) for fault in faults)


@pytest.mark.parametrize("arguments, expected", [
    (["--course", "wrap", "--lang", "ur", "--html"], "18 slides"),
    (["--course", "wrap", "--html", "--handout"], "Choose --handout or --html"),
])
def test_the_command_writes_the_single_file_deck(tmp_path, arguments, expected):
    lms = str(Path(sys.executable).with_name("lms"))
    out = tmp_path / "deck.html"
    done = subprocess.run([lms, "slides", "export", *arguments, "--out", str(out)], capture_output=True, text=True,
                          env={"LMS_ENV": "development", "PATH": "/usr/bin:/bin"}, cwd=COURSES.parent)
    assert expected in done.stdout + done.stderr
    if done.returncode == 0:
        html = out.read_text(encoding="utf-8")
        assert 'lang="ur" dir="rtl"' in html and "CONTEST" in html
        assert all(address.startswith(("#", "data:")) for _t, _a, address in references(html).addresses)
    else:
        assert not out.exists()
