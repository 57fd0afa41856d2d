"""Learning an open course without an account: started with no sign-in, kept against a reference
code only, resumed from another device, finished with a named certificate, claimed into one
account (and counted by its organisation only from then), and erased when left too long."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.catalogue import load_course
from lms.certify.codes import display
from lms.db import utcnow
from lms.guests import reference
from lms.models import Certificate, Completion, GuestLearner, LessonProgress, QuizAttempt, User
from tests.conftest import FIXTURE_COURSES, FormClient, database, make_test_app, snapshot, text_of

COURSE = "tiny_open"
CODE_ON_PAGE = re.compile(r'<p class="code"><bdi dir="ltr">([0-9 ]{23})</bdi></p>')


def open_copy_of_tiny(folder: Path) -> Path:
    """The tests' tiny course, as a second course marked open."""
    target = folder / COURSE
    shutil.copytree(FIXTURE_COURSES / "tiny", target)
    manifest = target / "course.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('id = "tiny"', f'id = "{COURSE}"\nopen = true'),
                        encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def open_courses(tmp_path_factory) -> Path:
    return open_copy_of_tiny(tmp_path_factory.mktemp("open-courses"))


@pytest.fixture
def app(database_url, open_courses):
    application = make_test_app(database_url, COURSE_PATHS=[FIXTURE_COURSES, open_courses])
    yield application
    application.extensions["lms.engine"].dispose()


@pytest.fixture
def course(open_courses):
    return load_course(open_courses / COURSE)[0]


def browser(app) -> FormClient:
    return FormClient(app.test_client(), [])


def start(visitor: FormClient) -> str:
    """Start the course without an account; the reference code shown, as digits."""
    response = visitor.submit(f"/courses/{COURSE}/start-without-account", form_page=f"/courses/{COURSE}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/learning-code?next=")
    card = visitor.get(response.headers["Location"])
    assert card.status_code == 200
    return CODE_ON_PAGE.search(card.get_data(as_text=True)).group(1).replace(" ", "")


def read_all_lessons(visitor: FormClient, course) -> None:
    for slug in course.module_slugs:
        page = f"/courses/{COURSE}/lessons/{slug}"
        assert visitor.submit(f"{page}/read", form_page=page).status_code == 302


def pass_quiz(visitor: FormClient, course) -> str:
    started = visitor.submit(f"/courses/{COURSE}/quiz")
    assert started.status_code == 302
    quiz = started.headers["Location"]
    drawn = list(dict.fromkeys(re.findall(r'name="q-([^"]+)"', visitor.get(quiz).get_data(as_text=True))))
    answers = {f"q-{qid}": sorted(course.question_bank[qid].answers) for qid in drawn}
    submitted = visitor.submit(quiz, answers)
    assert submitted.status_code == 302, text_of(submitted)
    return submitted.headers["Location"]


def finish_with_certificate(visitor: FormClient, course, name: str) -> str:
    """Read every lesson, pass the quiz and give the name for the certificate; the result page."""
    read_all_lessons(visitor, course)
    result = pass_quiz(visitor, course)
    attempt_id = int(result.split("/")[-2])
    named = visitor.submit(f"/courses/{COURSE}/quiz/{attempt_id}/certificate-name", {"name": name}, form_page=result)
    assert named.status_code == 302, text_of(named)
    return result


def guests(app) -> list[GuestLearner]:
    with database(app) as session:
        return list(session.scalars(select(GuestLearner).order_by(GuestLearner.id)))


def test_an_open_course_is_read_without_signing_in_and_others_are_not(app, course):
    visitor = browser(app)
    page = visitor.get(f"/courses/{COURSE}")
    assert page.status_code == 200 and "Start without an account" in text_of(page)
    lesson = visitor.get(f"/courses/{COURSE}/lessons/{course.module_slugs[0]}")
    assert lesson.status_code == 200
    assert guests(app) == []  # reading makes no record
    for closed in ("/courses/tiny", "/courses/tiny/lessons/01-first", "/courses/tiny/offline.html", "/courses",
                   f"/courses/{COURSE}/slides"):
        response = visitor.get(closed)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], closed
    assert "/sign-in" in visitor.submit("/courses/tiny/quiz", form_page=f"/courses/{COURSE}").headers["Location"]
    # The home page lists it for people without an account.
    assert f"/courses/{COURSE}" in text_of(visitor.get("/"))


def test_progress_is_kept_against_the_code_only_and_resumed_elsewhere(app, course):
    phone = browser(app)
    code = start(phone)
    assert len(code) == 18 and reference.normalise(code) == code
    first = f"/courses/{COURSE}/lessons/{course.module_slugs[0]}"
    assert phone.submit(f"{first}/read", form_page=first).status_code == 302
    (guest,) = guests(app)
    assert guest.reference_code == code and guest.name == "" and guest.claimed_by_id is None
    with database(app) as session:
        rows = session.scalars(select(LessonProgress)).all()
        assert [(row.user_id, row.guest_id, row.module_slug) for row in rows] == [(None, guest.id, course.module_slugs[0])]
        assert session.scalar(select(func.count()).select_from(User)) == 0

    # Another device: nothing until the code is typed, in any spacing.
    laptop = browser(app)
    assert laptop.get("/learning-code").headers["Location"].endswith("/learning-code/resume")
    typed = reference.display(code).replace(" ", "-")
    resumed = laptop.submit("/learning-code/resume", {"reference": typed})
    assert resumed.status_code == 302
    card = text_of(laptop.get("/learning-code"))
    assert reference.display(code) in card and "In progress" in card
    page = text_of(laptop.get(f"/courses/{COURSE}"))
    assert "Read" in page and "Continue reading" in page
    # Forgetting it on the laptop leaves the learning where it is.
    assert laptop.submit("/learning-code/forget", form_page="/learning-code").status_code == 302
    assert laptop.get("/learning-code").status_code == 302
    assert len(guests(app)) == 1


def test_a_code_shows_in_the_page_language_digits_too(app):
    visitor = browser(app)
    visitor.submit("/language", {"language": "ar", "next": "/"}, form_page="/")
    code = start(visitor)
    page = visitor.get("/learning-code").get_data(as_text=True)
    assert reference.in_script(reference.display(code), "\u0660") in page


@pytest.mark.parametrize("typed, message", [
    ("", "Enter your reference code"),
    ("123", "does not match any learning"),
    ("406 118 372 905 661 28", "does not match any learning"),        # a digit short
    ("<script>alert(1)</script>", "does not match any learning"),
    ("\x00" * 10, "does not match any learning"),
    ("9" * 61, "Field cannot be longer than 60 characters"),
])
def test_wrong_codes_are_refused_with_a_message(app, typed, message):
    visitor = browser(app)
    before = snapshot(app)
    response = visitor.submit("/learning-code/resume", {"reference": typed})
    assert response.status_code == 400 and "There is a problem" in text_of(response)
    assert message in text_of(response)
    assert snapshot(app) == before


def test_a_mistyped_code_is_told_apart_from_an_unknown_one(app):
    code = start(browser(app))
    wrong = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    response = browser(app).submit("/learning-code/resume", {"reference": wrong})
    assert response.status_code == 400 and "a digit is wrong or two are swapped" in text_of(response)
    unknown = reference.new_reference()
    response = browser(app).submit("/learning-code/resume", {"reference": unknown})
    assert response.status_code == 400 and "does not match any learning" in text_of(response)


def test_guessing_codes_runs_into_the_limit_per_address(database_url, open_courses):
    app = make_test_app(database_url, COURSE_PATHS=[FIXTURE_COURSES, open_courses], RATELIMIT_ENABLED=True,
                        ADDRESS_RATE_LIMIT="3 per minute")
    code = start(browser(app))
    guesser = browser(app)
    statuses = [guesser.submit("/learning-code/resume", {"reference": reference.new_reference()}).status_code
                for _ in range(5)]
    assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]
    # Even the right code is refused from that address now; another address is not held back.
    assert guesser.submit("/learning-code/resume", {"reference": code}).status_code == 429
    elsewhere = FormClient(app.test_client(), [])
    answer = elsewhere.client.post("/learning-code/resume", environ_base={"REMOTE_ADDR": "10.0.0.9"},
                                   data={"reference": code, "csrf_token": elsewhere.csrf_token("/learning-code/resume")})
    assert answer.status_code == 302
    app.extensions["lms.engine"].dispose()


def test_finishing_asks_for_the_name_and_issues_a_certificate_that_verifies(app, course):
    phone = browser(app)
    code = start(phone)
    read_all_lessons(phone, course)
    result = pass_quiz(phone, course)
    page = text_of(phone.get(result))
    assert "You passed" in page and "Get your certificate" in page
    with database(app) as session:
        completion = session.scalars(select(Completion)).one()
        assert completion.user_id is None and completion.guest_id is not None
        assert session.scalar(select(func.count()).select_from(Certificate)) == 0  # waits for the name
        attempt_id = completion.attempt_id
    name_page = f"/courses/{COURSE}/quiz/{attempt_id}/certificate-name"

    for bad, message in (("", "Enter the name to print"), ("   ", "Enter your full name"), ("x" * 201, "200 characters"),
                         ("\u202eevil", None)):
        before = snapshot(app)
        answer = phone.submit(name_page, {"name": bad}, form_page=result)
        if message is None:  # bidi controls are dropped, the rest kept
            break
        assert answer.status_code == 400 and message in text_of(answer), bad
        assert snapshot(app) == before
    answer = phone.submit(name_page, {"name": "Amina Begum"}, form_page=result)
    assert answer.status_code == 302
    with database(app) as session:
        certificate = session.scalars(select(Certificate)).one()
        assert certificate.organisation_id is None
        assert session.scalars(select(GuestLearner.name)).one() == "Amina Begum"
    page = text_of(phone.get(result))
    assert display(certificate.code) in page and "Download your certificate (PDF)" in page
    verified = text_of(browser(app).get(f"/verify/{display(certificate.code)}"))
    assert "Amina Begum" in verified
    pdf = phone.get(f"/certificates/{display(certificate.code)}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # Nobody else's browser gets it: not a stranger, and not an account.
    assert browser(app).get(f"/certificates/{display(certificate.code)}.pdf").status_code == 302
    another = browser(app)
    start(another)
    assert another.get(f"/certificates/{display(certificate.code)}.pdf").status_code == 404
    assert another.get(result).status_code == 404
    # The same code on a laptop brings the certificate too.
    laptop = browser(app)
    laptop.submit("/learning-code/resume", {"reference": code})
    assert laptop.get(f"/certificates/{display(certificate.code)}.pdf").status_code == 200


def test_a_name_for_someone_elses_attempt_is_refused(app, course):
    phone = browser(app)
    start(phone)
    read_all_lessons(phone, course)
    result = pass_quiz(phone, course)
    attempt_id = int(result.split("/")[-2])
    other = browser(app)
    start(other)
    before = snapshot(app)
    answer = other.submit(f"/courses/{COURSE}/quiz/{attempt_id}/certificate-name", {"name": "Not Me"},
                          form_page=f"/courses/{COURSE}")
    assert answer.status_code == 404 and snapshot(app) == before


def test_anonymous_learning_counts_for_an_organisation_only_once_claimed_and_only_once(app, course, demo):
    phone = browser(app)
    code = start(phone)
    finish_with_certificate(phone, course, "Fatima Learner")
    organisation = demo["organisations"]["Northmoor Borough Council"]
    admin = browser(app)
    admin.sign_in("orgadmin@example.org")
    report = f"/org/{organisation}/reports/people?course={COURSE}&q=Kowalska"
    assert "tag--completed" not in text_of(admin.get(report))

    learner = browser(app)
    learner.sign_in("learner@example.org")
    claimed = learner.submit("/certificates/claim", {"reference": reference.display(code)})
    assert claimed.status_code == 302
    assert "1 completed course has been added" in text_of(learner.get(claimed.headers["Location"]))
    with database(app) as session:
        user_id = demo["users"]["learner@example.org"]
        assert session.scalars(select(Completion.user_id)).one() == user_id
        assert {row.user_id for row in session.scalars(select(LessonProgress))} == {user_id}
        assert {row.user_id for row in session.scalars(select(QuizAttempt))} == {user_id}
        assert session.scalars(select(GuestLearner.claimed_by_id)).one() == user_id
    assert "tag--completed" in text_of(admin.get(report))
    assert "Completed" in text_of(learner.get(f"/courses/{COURSE}"))

    # A second account cannot take it; the phone can no longer carry on with it.
    before = snapshot(app)
    other = browser(app)
    other.sign_in("learner2@example.org")
    refused = other.submit("/certificates/claim", {"reference": code})
    assert refused.status_code == 400 and "already been added to another account" in text_of(refused)
    resumed = browser(app).submit("/learning-code/resume", {"reference": code})
    assert resumed.status_code == 400 and "Sign in to that account" in text_of(resumed)
    assert phone.get("/learning-code").status_code == 302
    assert snapshot(app) == before


def test_lessons_read_in_both_keep_the_later_reading(app, course, demo):
    learner = browser(app)
    learner.sign_in("learner@example.org")
    first = f"/courses/{COURSE}/lessons/{course.module_slugs[0]}"
    learner.submit(f"{first}/read", form_page=first)
    phone = browser(app)
    code = start(phone)
    phone.submit(f"{first}/read", form_page=first)
    assert learner.submit("/certificates/claim", {"reference": code}).status_code == 302
    with database(app) as session:
        rows = session.scalars(select(LessonProgress)).all()
        assert [(row.user_id, row.module_slug) for row in rows] == [(demo["users"]["learner@example.org"],
                                                                     course.module_slugs[0])]


def test_the_offline_bundle_holds_every_lesson_and_needs_nothing_else(app, course):
    visitor = browser(app)
    response = visitor.get(f"/courses/{COURSE}/offline.html?lang=ur")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{COURSE}-ur.html"'
    page = response.get_data(as_text=True)
    for slug in course.module_slugs:
        module, _fell_back = course.module(slug, "ur")
        assert f'id="{slug}"' in page and module.title in page
    assert 'dir="rtl"' in page  # the Urdu lesson
    # Nothing is loaded from anywhere: no stylesheet link, script or image address.
    assert "<link" not in page and "<script" not in page
    assert not re.search(r'\bsrc="(?!data:)', page)
    en = browser(app).get(f"/courses/{COURSE}/offline.html?lang=en").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in en  # the course's own picture, inside the page
    # A language asked for that the course does not have gives the English lessons, never a 500.
    for asked in ("<script>", "../../etc", "xx", "ur\r\nX-Bad: 1"):
        answer = browser(app).get(f"/courses/{COURSE}/offline.html", query_string={"lang": asked})
        assert answer.status_code == 200 and answer.headers["Content-Disposition"].endswith(f'{COURSE}-en.html"')
    assert "http://localhost/courses/tiny_open" in page  # where to go to take the quiz


def test_retention_erases_learning_left_too_long_and_keeps_certificates_verifiable(app, course):
    from lms.privacy import retention
    from lms.privacy.erasure import Storage

    idle, recent, finished = browser(app), browser(app), browser(app)
    start(idle)
    idle.submit(f"/courses/{COURSE}/quiz")
    start(recent)
    start(finished)
    finish_with_certificate(finished, course, "Gone Later")
    long_ago = utcnow() - timedelta(days=400)
    with database(app) as session:
        idle_id, recent_id, finished_id = session.scalars(select(GuestLearner.id).order_by(GuestLearner.id)).all()
        for guest_id in (idle_id, finished_id):
            session.get(GuestLearner, guest_id).last_active_at = long_ago
        session.commit()
        periods = retention.Periods.of(app.config)
        found = retention.due(session, periods, utcnow())
        assert found.guests == [idle_id, finished_id]
        retention.apply(session, found, Storage.of(app))
        assert session.scalars(select(GuestLearner.id)).all() == [recent_id]
        assert session.scalars(select(QuizAttempt)).all() == []
        completion = session.scalars(select(Completion)).one()
        assert completion.guest_id is None and completion.holder_erased_at is not None
        code = session.scalars(select(Certificate.code)).one()
    verified = text_of(browser(app).get(f"/verify/{display(code)}"))
    assert "Gone Later" not in verified and "valid" in verified.lower()


def test_a_walk_in_carries_on_with_their_reference_and_gets_their_certificate(app):
    """A walk-in's record is the same kind: their session's certificate is on the code page."""
    from lms.certify.services import issue_certificate

    with database(app) as session:
        guest = GuestLearner(name="Amina Khatun")
        session.add(guest)
        session.flush()
        done = Completion(guest_id=guest.id, course_id="tiny", course_version="1.0.0", language="en",
                          method="attendance", completed_at=utcnow(), expires_at=utcnow() + timedelta(days=365))
        session.add(done)
        session.flush()
        certificate_code = issue_certificate(session, done.id, None).code
        code = guest.reference_code
        session.commit()
    phone = browser(app)
    assert phone.submit("/learning-code/resume", {"reference": reference.display(code)}).status_code == 302
    card = text_of(phone.get("/learning-code"))
    assert "A tiny test course" in card and f"/certificates/{display(certificate_code)}.pdf" in card
    assert phone.get(f"/certificates/{display(certificate_code)}.pdf").status_code == 200


def test_a_guest_joins_an_organisation_with_its_join_code_and_brings_their_certificate(app, course, demo):
    from tests.test_join import organisation, registration

    phone = browser(app)
    code = start(phone)
    finish_with_certificate(phone, course, "Amina Khan")
    north = demo["organisations"]["Northmoor Borough Council"]
    joined = phone.submit("/join", {"code": organisation(app, north)["code"]})
    assert phone.submit(joined.headers["Location"], registration()).status_code == 302
    admin = browser(app)
    admin.sign_in("orgadmin@example.org")
    report = f"/org/{north}/reports/people?course={COURSE}&q=Amina"
    assert "Amina Khan" in text_of(admin.get(report)) and "tag--completed" not in text_of(admin.get(report))
    # Joining does not move it by itself (the browser's session starts afresh); the code does.
    assert phone.submit("/certificates/claim", {"reference": code}).status_code == 302
    assert "tag--completed" in text_of(admin.get(report))


def test_the_code_page_goes_on_only_within_the_site(app):
    visitor = browser(app)
    start(visitor)
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        page = text_of(visitor.get("/learning-code", query_string={"next": elsewhere}))
        assert "I have kept my code" not in page and f'href="{elsewhere}"' not in page
    page = visitor.get("/learning-code", query_string={"next": f"/courses/{COURSE}"}).get_data(as_text=True)
    assert f'href="/courses/{COURSE}"' in page


def test_signed_in_the_code_is_for_adding_learning_to_the_account(app, demo):
    learner = browser(app)
    learner.sign_in("learner@example.org")
    assert learner.get("/learning-code/resume").headers["Location"].endswith("/certificates/claim")


def test_making_learners_without_an_account_is_limited_per_address(database_url, open_courses, course):
    app = make_test_app(database_url, COURSE_PATHS=[FIXTURE_COURSES, open_courses], RATELIMIT_ENABLED=True,
                        GUEST_START_RATE_LIMIT="2 per minute")
    started = [browser(app), browser(app)]
    for visitor in started:
        start(visitor)
    # A third new learner from the address, by the start button or by marking a lesson read, waits.
    third = browser(app)
    before = snapshot(app)
    refused = third.submit(f"/courses/{COURSE}/start-without-account", form_page=f"/courses/{COURSE}")
    assert refused.status_code == 429
    lesson = f"/courses/{COURSE}/lessons/{course.module_slugs[0]}"
    assert third.submit(f"{lesson}/read", form_page=lesson).status_code == 429
    assert snapshot(app) == before
    # Those already learning carry on.
    for visitor in started:
        assert visitor.submit(f"{lesson}/read", form_page=lesson).status_code == 302
    app.extensions["lms.engine"].dispose()


def test_each_step_of_learning_starts_the_retention_period_again(app, course):
    phone = browser(app)
    start(phone)
    long_ago = utcnow() - timedelta(days=300)

    def set_back() -> None:
        with database(app) as session:
            session.scalars(select(GuestLearner)).one().last_active_at = long_ago
            session.commit()

    def moved_on() -> bool:
        with database(app) as session:
            return session.scalars(select(GuestLearner.last_active_at)).one() > long_ago + timedelta(days=1)

    lesson = f"/courses/{COURSE}/lessons/{course.module_slugs[0]}"
    for step in (lambda: phone.submit(f"{lesson}/read", form_page=lesson),
                 lambda: phone.submit(f"/courses/{COURSE}/quiz")):
        set_back()
        step()
        assert moved_on()
    set_back()
    phone.get(lesson)  # reading alone writes nothing
    assert not moved_on()
