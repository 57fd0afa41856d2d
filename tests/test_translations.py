"""Course translations: review status, fallbacks, and the status report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from lms import db
from lms.models import TranslationReview
from tests.conftest import FIXTURE_COURSES, FormClient

BIN = Path(sys.executable).parent


def test_a_draft_translation_is_marked_as_a_draft_with_a_link_to_the_english(app, client, demo):
    client.sign_in("learner@example.org")
    page = client.get("/courses/tiny/lessons/01-first?lang=ur").get_data(as_text=True)
    assert "This translation is a draft" in page and 'href="/courses/tiny/lessons/01-first?lang=en"' in page
    assert '<article class="lesson" lang="ur" dir="rtl">' in page
    english = client.get("/courses/tiny/lessons/01-first?lang=en").get_data(as_text=True)
    assert "This translation is a draft" not in english


def test_a_missing_lesson_falls_back_to_english_and_says_so(client, demo):
    client.sign_in("learner@example.org")
    page = client.get("/courses/tiny/lessons/02-second?lang=ur").get_data(as_text=True)
    assert "has not been translated into your language yet" in page
    assert '<article class="lesson" lang="en" dir="ltr">' in page


def test_a_trainer_marks_a_translation_reviewed_and_it_is_recorded(app, demo):
    trainer = FormClient(app.test_client(), [])
    trainer.sign_in("trainer@example.org")
    page = trainer.get("/courses/tiny/translations").get_data(as_text=True)
    assert "Draft" in page and "اردو" in page
    response = trainer.submit("/courses/tiny/translations/ur/reviewed", form_page="/courses/tiny/translations")
    assert response.status_code == 302
    with app.app_context():
        review = db.get_session().scalars(select(TranslationReview)).one()
        assert (review.course_id, review.language, review.reviewed_by_id) == ("tiny", "ur", demo["users"]["trainer@example.org"])
        assert review.reviewed_at is not None
    page = trainer.get("/courses/tiny/translations").get_data(as_text=True)
    assert "Reviewed" in page and "by Bushra Iqbal on" in page
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    assert "This translation is a draft" not in learner.get("/courses/tiny/lessons/01-first?lang=ur").get_data(as_text=True)


def test_only_trainers_and_admins_review_and_only_real_languages(app, demo):
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    assert learner.get("/courses/tiny/translations").status_code == 404
    assert learner.submit("/courses/tiny/translations/ur/reviewed", form_page="/account").status_code == 404
    admin = FormClient(app.test_client(), [])
    admin.sign_in("orgadmin@example.org")
    for language in ["en", "xx", "../etc", "pl"]:
        assert admin.submit(f"/courses/tiny/translations/{language}/reviewed", form_page="/courses/tiny/translations").status_code == 404
    assert admin.submit("/courses/nope/translations/ur/reviewed", form_page="/courses/tiny/translations").status_code == 404
    with app.app_context():
        assert db.get_session().scalars(select(TranslationReview)).all() == []


def test_translations_status_json(tmp_path):
    env = {**os.environ, "LMS_ENV": "development", "LMS_SECRET_KEY": "x", "LMS_COURSE_PATHS": str(FIXTURE_COURSES),
           "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/none.sqlite3"}
    done = subprocess.run([str(BIN / "lms"), "translations", "status", "--json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ur"]["courses"]["tiny"] == {"status": "draft", "modules": 0.5, "questions": 1.0, "slides": 0.0}
    assert set(report["ur"]["interface"]) == {"translated", "total", "share"}


def test_certificates_and_emails_come_out_in_the_learners_language(app, client, demo, tmp_path):
    """Uses the shipped Polish catalogue (compiled by `make test`)."""
    from lms.people import services as people
    from tests.test_certificates import pdf_text
    from tests.test_learn import answers_for, drawn_questions, start_quiz

    from lms.i18n import available_locales

    with app.test_request_context():
        assert "pl" in available_locales(), "run `make translations` to compile the catalogues"
    with app.app_context():
        session = db.get_session()
        learner = people.find_user_by_email(session, "learner@example.org")
        learner.preferred_language = "pl"
        session.commit()
    client.submit("/forgot-password", {"email": "learner@example.org"})
    assert client.outbox[-1]["Subject"] != "Reset your Prevent LMS password"
    assert "hasło" in client.outbox[-1]["Subject"].lower() or "hasła" in client.outbox[-1]["Subject"].lower()
    client.sign_in("learner@example.org")
    quiz = start_quiz(client)
    client.submit(quiz, answers_for(drawn_questions(client, quiz)), form_page=quiz)
    with app.app_context():
        from lms.certify import codes
        from lms.models import Certificate

        code = codes.display(db.get_session().scalars(select(Certificate)).one().code)
    text = pdf_text(client.get(f"/certificates/{code}.pdf").data, tmp_path)
    assert "Certificate of completion" not in text
    polish_months = ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
                     "października", "listopada", "grudnia"]
    assert any(month in text for month in polish_months)  # the dates, written by Babel in Polish


def test_the_translations_link_is_shown_only_to_those_who_may_open_it(app, demo):
    for email, may in [("learner@example.org", False), ("champion@example.org", False),
                       ("trainer@example.org", True), ("orgadmin@example.org", True)]:
        person = FormClient(app.test_client(), [])
        person.sign_in(email)
        page = person.get("/courses/tiny").get_data(as_text=True)
        assert ('href="/courses/tiny/translations"' in page) is may, email
        assert person.get("/courses/tiny/translations").status_code == (200 if may else 404), email
