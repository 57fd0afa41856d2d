"""Every user-visible string is marked for translation.

The test extracts the messages exactly as `pybabel extract -F babel.cfg` would, writes a
pseudo-translation (each message wrapped in ⟦ ⟧) for a spare locale, then reads pages in
that locale: any visible text outside the brackets, other than the data on the page
(names, emails, codes, dates, numbers), was not marked.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from tests.conftest import FormClient, make_test_app

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = "eo"  # a real locale that the project will not ship, used as a pseudo-locale
VISIBLE_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")
# The keywords `pybabel extract -k _l -k lazy_gettext` adds to Babel's own.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def pseudo_catalogue(directory: Path) -> None:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalogue = Catalog(locale=PSEUDO)
    for filename, lineno, message, comments, context in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS):
        if isinstance(message, tuple):
            catalogue.add(message, tuple(f"⟦{m}⟧" for m in (message[0], message[1])), [(filename, lineno)])
        else:
            catalogue.add(message, f"⟦{message}⟧", [(filename, lineno)])
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.po", "wb") as po:
        write_po(po, catalogue)
    with open(target / "messages.mo", "wb") as mo:
        write_mo(mo, catalogue)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class VisibleText(HTMLParser):
    """Visible text and labelling attributes, leaving out script, options, example files and
    any element in another language than the page: that is course content, which has
    translations of its own, not interface text."""

    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self.stack: list[bool] = []  # for each open element: is its text skipped?

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = bool(self.stack and self.stack[-1]) or tag in ("script", "style", "pre", "option") or (
            tag != "html" and "lang" in attributes and not (attributes["lang"] or "").startswith(PSEUDO))
        if not skipped:
            for name in VISIBLE_ATTRIBUTES:
                if attributes.get(name):
                    self.chunks.append(attributes[name])
        if tag not in VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]) and data.strip():
            self.chunks.append(data)


def unmarked(html: str, data: list[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    text = "\n".join(parser.chunks)
    text = re.sub(r"⟦[^⟦⟧]*(⟦[^⟦⟧]*⟧[^⟦⟧]*)*⟧", " ", text, flags=re.S)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    leftovers = [chunk.strip() for chunk in text.split("\n")]
    # Punctuation, digits and the dates Babel wrote are not messages.
    return [chunk for chunk in leftovers if re.search(r"[^\W\d_]{2,}", chunk)]


@pytest.fixture
def pseudo_client(tmp_path, database_url):
    pseudo_catalogue(tmp_path / "translations")
    app = make_test_app(database_url, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    from lms import db
    from lms.demo import load_demo

    with app.app_context():
        session = db.get_session()
        load_demo(session)
        from lms.models import User

        for user in session.query(User):
            user.preferred_language = PSEUDO
        session.commit()
    client = FormClient(app.test_client(), app.config["MAIL_OUTBOX"])
    client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    return client


DEMO_DATA = ["Northmoor Borough Council", "Eastgate Community Association", "Housing", "Children's Services",
             "Libraries", "Web guardians", "Youth club volunteers", "Olu Adeyemi", "Chris Morgan", "Bushra Iqbal",
             "Lena Kowalska", "Dev Sharma", "Farida Begum", "Ioana Popescu", "Sam Site-Admin", "orgadmin@example.org",
             "champion@example.org", "trainer@example.org", "learner@example.org", "learner2@example.org",
             "guardian@example.org", "eastgate-admin@example.org", "admin@example.org",
             "http://localhost", "English", "esperanto", "Esperanto",
]


def _babel_dates() -> list[str]:
    """Dates Babel writes on these pages: joining today, invitations expiring in 30 days."""
    from datetime import date, timedelta

    from babel.dates import format_date

    days = [date.today() + timedelta(days=offset) for offset in (-1, 0, 1, 29, 30, 31)]
    return [format_date(day, style, locale=PSEUDO) for day in days for style in ("long", "medium")]


DEMO_DATA += _babel_dates()


def test_visitor_pages_are_fully_marked(pseudo_client):
    for path in ["/", "/sign-in", "/join", "/forgot-password", "/no-such-page"]:
        assert unmarked(pseudo_client.get(path).get_data(as_text=True), DEMO_DATA) == [], path
    # Pages with errors show the error summary and messages from the forms.
    for path, data in [("/sign-in", {"email": "", "password": ""}), ("/join", {"code": "ZZZZZZZZ"}),
                       ("/sign-in", {"email": "learner@example.org", "password": "wrong-password"})]:
        assert unmarked(pseudo_client.submit(path, data).get_data(as_text=True), DEMO_DATA) == [], path


def join_codes_and_links(html: str) -> list[str]:
    return re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}|http://localhost/join/[\w-]+", html)


def test_signed_in_pages_and_flash_messages_are_fully_marked(pseudo_client):
    pseudo_client.sign_in("orgadmin@example.org")
    pseudo_client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    paths = ["/", "/account", "/account/password", "/org/1", "/org/1/invite", "/org/1/invite/upload", "/org/1/members/3"]
    for path in paths:
        html = pseudo_client.get(path).get_data(as_text=True)
        assert unmarked(html, DEMO_DATA + join_codes_and_links(html)) == [], path
    response = pseudo_client.submit("/org/1/teams", {"name": "Outreach"}, form_page="/org/1", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert unmarked(html, DEMO_DATA + ["Outreach"] + join_codes_and_links(html)) == []
    bad_upload = pseudo_client.submit("/org/1/invite/upload", {}, form_page="/org/1/invite/upload")
    assert unmarked(bad_upload.get_data(as_text=True), DEMO_DATA) == []


def test_emails_are_marked(pseudo_client):
    pseudo_client.submit("/forgot-password", {"email": "learner@example.org"})
    pseudo_client.sign_in("orgadmin@example.org")
    pseudo_client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    pseudo_client.submit("/org/1/invite", {"email": "new@example.org", "name": "", "role": "learner", "team": ""})
    assert len(pseudo_client.outbox) == 2
    for message in pseudo_client.outbox:
        body = message.get_content()
        links = re.findall(r"http://localhost/\S+", body)
        assert "⟦" in message["Subject"]
        assert unmarked(body, DEMO_DATA + links) == [], body


def test_learning_pages_are_fully_marked(pseudo_client):
    pseudo_client.sign_in("trainer@example.org")
    pages = ["/courses", "/courses/tiny", "/courses/tiny/lessons/01-first", "/courses/tiny/lessons/02-second",
             "/courses/tiny/quiz", "/courses/tiny/slides", "/courses/tiny/slides/2"]
    # Course and lesson titles also stand in <title>, where no lang attribute can mark them.
    from lms.catalogue import load_course
    from tests.conftest import FIXTURE_COURSES

    course = load_course(FIXTURE_COURSES / "tiny")[0]
    titles = [course.title()] + [module.title for module in course.modules["en"].values()] + [s.title for s in course.deck()]
    data = DEMO_DATA + titles
    for path in pages:
        assert unmarked(pseudo_client.get(path).get_data(as_text=True), data) == [], path
    quiz = pseudo_client.submit("/courses/tiny/quiz", {}).headers["Location"]
    unanswered = pseudo_client.submit(quiz, {}, form_page=quiz)
    assert unanswered.status_code == 400
    assert unmarked(unanswered.get_data(as_text=True), data) == []
    names = dict.fromkeys(re.findall(r'name="(q-[^"]+)"', unanswered.get_data(as_text=True)))
    result = pseudo_client.submit(quiz, {name: "a" for name in names}, form_page=quiz, follow_redirects=True).get_data(as_text=True)
    # A pass shows the certificate's verification code, which is data.
    assert unmarked(result, data + re.findall(r'class="verification-code">([^<]+)<', result)) == []
    refused = pseudo_client.submit(quiz, {name: "a" for name in names}, form_page="/courses/tiny/quiz")
    assert refused.status_code == 400
    assert unmarked(refused.get_data(as_text=True), data) == []


def test_report_pages_and_reminder_emails_are_fully_marked(app, pseudo_client, queued_jobs):
    from lms import db
    from lms.catalogue import load_course
    from lms.models import TrainingRequirement
    from tests.conftest import FIXTURE_COURSES

    with app.app_context():
        session = db.get_session()
        session.add(TrainingRequirement(organisation_id=1, course_id="tiny", team_id=1, role=None, due_days=30))
        session.commit()
    titles = [load_course(FIXTURE_COURSES / "tiny")[0].title()]
    pseudo_client.sign_in("orgadmin@example.org")
    pseudo_client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    pseudo_client.get("/org/1/reports/people.csv")
    for path in ["/org/1/reports", "/org/1/reports?team=1", "/org/1/reports/people", "/org/1/reports/people?course=tiny",
                 "/org/1/reports/reminders?course=tiny", "/org/1/training", "/org/1/audit", "/org/1/reports/people?status=x"]:
        html = pseudo_client.get(path).get_data(as_text=True)
        assert unmarked(html, DEMO_DATA + titles + ["tiny", "status=not_started"]) == [], path
    bad = pseudo_client.submit("/org/1/training/requirements", {"course_id": "tiny", "team_id": "", "role": "", "due_days": "-4"},
                               form_page="/org/1/training")
    assert bad.status_code == 400 and unmarked(bad.get_data(as_text=True), DEMO_DATA + titles) == []
    sent = pseudo_client.submit("/org/1/reports/reminders?course=tiny", form_page="/org/1/reports/reminders?course=tiny")
    progress = pseudo_client.get(sent.headers["Location"]).get_data(as_text=True)  # the page followed while it sends
    assert queued_jobs() == 1
    finished = pseudo_client.get(sent.headers["Location"]).get_data(as_text=True)
    for html in (progress, finished):
        assert unmarked(html, DEMO_DATA + titles) == []
    assert pseudo_client.outbox
    for message in pseudo_client.outbox:
        body = message.get_content()
        assert "⟦" in message["Subject"]
        assert unmarked(body, DEMO_DATA + titles + re.findall(r"http://localhost/\S+", body)) == [], body
