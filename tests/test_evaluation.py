"""Evaluation before and after a session: anonymous answers on attendees' phones through the
check-in code, bad and repeated answers, when each stage is open, and the session and
organisation reports that withhold any figure drawn from fewer than five answers."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.db import utcnow
from lms.models import EvaluationResponse, Workshop
from lms.workshops import evaluation
from tests.conftest import FormClient, database, snapshot, text_of
from tests.test_check_in import workshop  # noqa: F401 (a fixture: the tiny course, three outcomes, running now)


def _outcomes(app) -> list[str]:
    return app.extensions["lms.catalogue"].get("tiny").learning_outcomes()


def _answer(app, workshop, stage: str, ratings, comment: str = "", phone: FormClient | None = None):
    phone = phone or FormClient(app.test_client(), [])
    # The last rating given stands for any further outcomes of the course.
    ratings = list(ratings) + [ratings[-1]] * (len(_outcomes(app)) - len(ratings))
    data = {f"outcome_{index}": str(rating) for index, rating in enumerate(ratings) if rating is not None}
    data["comment"] = comment
    return phone, phone.submit(f"/check-in/{workshop['code']}/{stage}", data)


def _count(app, stage: str | None = None) -> int:
    with database(app) as session:
        query = select(func.count()).select_from(EvaluationResponse)
        if stage:
            query = query.where(EvaluationResponse.stage == stage)
        return session.scalar(query)


def test_an_attendee_answers_before_and_after_anonymously_once_each(app, workshop):  # noqa: F811
    outcomes = _outcomes(app)
    assert len(outcomes) >= 2
    phone = FormClient(app.test_client(), [])
    page = text_of(phone.get(f"/check-in/{workshop['code']}/before"))
    assert all(outcome in page for outcome in outcomes) and "1: not at all confident" in page
    phone, response = _answer(app, workshop, "before", [2, 3], "How to share a worry", phone)
    assert response.status_code == 302, text_of(response)
    assert "your answers are saved" in text_of(phone.get(response.headers["Location"]))
    # A second tap or a resent form from the same phone changes nothing.
    _answer(app, workshop, "before", [5, 5], "again", phone)
    assert _count(app, "before") == 1
    _answer(app, workshop, "after", [4, 5], "", phone)
    assert _count(app, "after") == 1
    with database(app) as session:
        answers = session.scalars(select(EvaluationResponse).order_by(EvaluationResponse.id)).all()
        assert [(a.stage, a.ratings[:2], a.comment) for a in answers] == [("before", [2, 3], "How to share a worry"),
                                                                         ("after", [4, 5], "")]
        # The phone is known again by a keyed hash, which names nobody.
        assert answers[0].respondent == answers[1].respondent and len(answers[0].respondent) == 64
    # Another phone answers separately.
    _answer(app, workshop, "before", [1, 1])
    assert _count(app, "before") == 2


@pytest.mark.parametrize("ratings, comment, message", [
    ([None, None], "", "Choose how confident you feel, from 1 to 5."),
    ([3, None], "", "Choose how confident you feel, from 1 to 5."),
    ([0, 3], "", "Not a valid choice"),
    ([6, 3], "", "Not a valid choice"),
    (["x", 3], "", "Not a valid choice"),
    ([3, 3], "x" * 1001, "Field cannot be longer than 1000 characters."),
])
def test_bad_answers_are_refused_with_the_answers_kept(app, workshop, ratings, comment, message):  # noqa: F811
    before = snapshot(app)
    _phone, response = _answer(app, workshop, "before", ratings, comment)
    page = text_of(response)
    assert response.status_code == 400
    assert "There is a problem" in page and message in page
    assert snapshot(app) == before


@pytest.mark.parametrize("change, stage", [
    ("wrong code", "before"), ("cancelled", "before"), ("cancelled", "after"),
    ("next week", "after"),      # nothing to say after a session that has not started
    ("ended yesterday", "before"),  # too late to say how it was before
    ("ended a month ago", "after"),
])
def test_a_stage_that_is_not_open_is_refused_and_nothing_changes(app, workshop, change, stage):  # noqa: F811
    code = workshop["code"]
    with database(app) as session:
        row = session.get(Workshop, workshop["id"])
        if change == "wrong code":
            code = "AAAAA-AAAAA"
        elif change == "cancelled":
            row.cancelled_at = utcnow()
        elif change == "next week":
            row.starts_at, row.ends_at = utcnow() + timedelta(days=7), utcnow() + timedelta(days=7, hours=2)
        elif change == "ended yesterday":
            row.starts_at, row.ends_at = utcnow() - timedelta(days=1, hours=2), utcnow() - timedelta(days=1)
        else:
            row.starts_at, row.ends_at = utcnow() - timedelta(days=30, hours=2), utcnow() - timedelta(days=30)
        session.commit()
    before = snapshot(app)
    phone = FormClient(app.test_client(), [])
    assert phone.get(f"/check-in/{code}/{stage}").status_code == 404
    response = phone.client.post(f"/check-in/{code}/{stage}", data={"outcome_0": "3", "outcome_1": "3", "outcome_2": "3"})
    assert response.status_code in (400, 404)
    assert snapshot(app) == before
    assert phone.get(f"/check-in/{workshop['code']}/sometime").status_code == 404


def test_after_the_register_closes_the_code_leads_to_the_questions_after(app, workshop):  # noqa: F811
    with database(app) as session:
        session.get(Workshop, workshop["id"]).closed_at = utcnow()
        session.commit()
    phone = FormClient(app.test_client(), [])
    response = phone.get(f"/check-in/{workshop['code']}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/after")
    typed = phone.submit("/check-in", {"code": workshop["code"].lower()})
    assert typed.status_code == 302 and typed.headers["Location"].endswith("/after")


def test_the_check_in_page_offers_the_questions(app, workshop):  # noqa: F811
    phone = FormClient(app.test_client(), [])
    phone.submit(f"/check-in/{workshop['code']}", {"name": "Amina Khatun", "email": "", "consent": "y"})
    page = phone.get(f"/check-in/{workshop['code']}").get_data(as_text=True)
    assert f"/check-in/{workshop['code']}/before" in page and f"/check-in/{workshop['code']}/after" in page


def test_the_session_report_withholds_figures_from_fewer_than_five_answers(app, client, workshop):  # noqa: F811
    report = f"/org/{workshop['org']}/sessions/{workshop['id']}/evaluation"
    for ratings in ([1, 2], [2, 2], [3, 2], [2, 2]):
        _answer(app, workshop, "before", ratings, "Secret hope")
    for ratings in ([4, 5], [5, 5], [4, 4], [3, 5], [4, 4]):
        _answer(app, workshop, "after", ratings, "Will call the lead")
    client.sign_in("trainer@example.org")
    page = text_of(client.get(report))
    # Four answers before: no mean, no count, no change, no comments.
    assert "Secret hope" not in page
    assert "fewer than 5" in page and "2.0" not in page and "+" not in page
    # Five after: shown.
    assert "Will call the lead" in page
    assert "4.0" in page  # outcome 1 after: (4+5+4+3+4) / 5
    assert "4.6" in page  # outcome 2 after: (5+5+4+5+4) / 5

    _answer(app, workshop, "before", [2, 2], "Another hope")
    page = text_of(client.get(report))
    assert "Secret hope" in page and "Another hope" in page
    assert "+2.0" in page  # outcome 1: 4.0 after less 2.0 before
    assert "+2.6" in page  # outcome 2: 4.6 after less 2.0 before


def test_the_organisation_report_and_its_csv(app, client, workshop):  # noqa: F811
    for ratings in ([1, 2], [2, 2], [3, 2], [2, 2], [2, 2]):
        _answer(app, workshop, "before", ratings)
    for ratings in ([4, 5], [5, 5]):
        _answer(app, workshop, "after", ratings)
    client.sign_in("orgadmin@example.org")
    summary = f"/org/{workshop['org']}/sessions/evaluation"
    page = text_of(client.get(summary))
    assert "A tiny test course" in page and "1 session." in page and "2.0" in page
    response = client.get(summary + ".csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True)[1:])))
    assert rows[0] == ["Course", "Learning outcome", "Sessions", "Answers before", "Mean before", "Answers after",
                       "Mean after", "Mean change"]
    first = rows[1]
    assert first[:3] == ["A tiny test course", _outcomes(app)[0], "1"]
    assert first[3:5] == ["5", "2.0"]
    assert first[5:] == ["fewer than 5 answers"] * 3  # two answers after: withheld, and so is the change
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("email", ["learner@example.org", "champion@example.org", "eastgate-admin@example.org"])
def test_people_who_do_not_run_sessions_cannot_read_the_answers(app, client, workshop, email):  # noqa: F811
    client.sign_in(email)
    for path in (f"/org/{workshop['org']}/sessions/{workshop['id']}/evaluation",
                 f"/org/{workshop['org']}/sessions/evaluation", f"/org/{workshop['org']}/sessions/evaluation.csv"):
        assert client.get(path).status_code in (403, 404), path


def test_a_mean_is_never_drawn_from_fewer_than_five():
    tally = evaluation.Tally()
    for rating in (5, 5, 5, 5):
        tally.add(rating)
    assert tally.mean is None and not tally.shown
    tally.add(1)
    assert tally.mean == pytest.approx(4.2)
    row = evaluation.OutcomeRow("x", before=evaluation.Tally(total=4, count=4), after=tally)
    assert row.change is None
