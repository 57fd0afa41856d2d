"""The learner's path: my courses, lessons, the quiz, completions and refreshers."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms import db
from lms.catalogue import load_course
from lms.db import utcnow
from lms.dates import add_months
from lms.models import Completion, LessonProgress, QuizAttempt
from tests.conftest import FIXTURE_COURSES, FormClient

TINY = load_course(FIXTURE_COURSES / "tiny")[0]
ALL_EXPLANATIONS = [o.explanation for q in TINY.question_bank.values() for o in q.options]


@pytest.fixture
def learner(client, demo):
    client.sign_in("learner@example.org")
    client.user_id = demo["users"]["learner@example.org"]
    return client


def start_quiz(client) -> str:
    response = client.submit("/courses/tiny/quiz")
    assert response.status_code == 302
    return response.headers["Location"]


def drawn_questions(client, quiz_url: str) -> list[str]:
    names = re.findall(r'name="q-([^"]+)"', client.get(quiz_url).get_data(as_text=True))
    return list(dict.fromkeys(names))  # each option repeats its question's name


def answers_for(question_ids, right=True) -> dict[str, list[str]]:
    data = {}
    for qid in dict.fromkeys(question_ids):
        question = TINY.question_bank[qid]
        if right:
            data[f"q-{qid}"] = sorted(question.answers)
        else:
            data[f"q-{qid}"] = [next(o.id for o in question.options if o.id not in question.answers)]
    return data


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.get_session().scalar(query)


def test_my_courses_moves_from_not_started_to_completed(app, learner):
    page = learner.get("/courses").get_data(as_text=True)
    assert "A tiny test course" in page and "Not started" in page
    learner.submit("/courses/tiny/lessons/01-first/read", form_page="/courses/tiny/lessons/01-first")
    page = learner.get("/courses").get_data(as_text=True)
    assert "In progress" in page and "1 of 2 lessons read" in page
    quiz = start_quiz(learner)
    response = learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    assert response.status_code == 302
    page = learner.get("/courses").get_data(as_text=True)
    today = utcnow()
    assert "Completed" in page and "Valid until" in page
    assert str(add_months(today, 12).year) in page


def test_lesson_page_shows_progress_reading_time_and_neighbours(learner):
    first = learner.get("/courses/tiny/lessons/01-first").get_data(as_text=True)
    assert "Lesson 1 of 2" in first and "about 1 minute" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert '<progress class="progress" max="2" value="0"' in first
    second = learner.get("/courses/tiny/lessons/02-second").get_data(as_text=True)
    assert "Lesson 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_reading_progress_is_saved_on_the_server_and_survives_signing_out(app, learner):
    response = learner.submit("/courses/tiny/lessons/01-first/read", form_page="/courses/tiny/lessons/01-first")
    assert response.headers["Location"] == "/courses/tiny/lessons/02-second"
    learner.sign_out()
    fresh = FormClient(app.test_client(), [])
    fresh.sign_in("learner@example.org")
    page = fresh.get("/courses/tiny").get_data(as_text=True)
    assert "Continue reading" in page
    assert '<progress class="progress" max="2" value="1"' in fresh.get("/courses/tiny/lessons/02-second").get_data(as_text=True)
    # Reading it twice keeps one record.
    fresh.submit("/courses/tiny/lessons/01-first/read", form_page="/courses/tiny/lessons/01-first")
    assert count(app, LessonProgress) == 1


@pytest.mark.parametrize("path", ["/courses/nope", "/courses/tiny/lessons/nope", "/courses/tiny/lessons/..%2Fcourse",
                                  "/courses/tiny/assets/../course.toml", "/courses/tiny/assets/%2e%2e/course.toml",
                                  "/courses/tiny/assets/nothing.svg", "/courses/tiny/quiz/999999",
                                  "/courses/tiny/quiz/999999/result"])
def test_unknown_course_paths_are_404(learner, path):
    assert learner.get(path).status_code == 404


def test_reading_an_unknown_lesson_is_404(learner):
    assert learner.submit("/courses/tiny/lessons/nope/read", form_page="/courses/tiny").status_code == 404


def test_learning_pages_need_sign_in(client):
    for path in ["/courses", "/courses/tiny", "/courses/tiny/lessons/01-first", "/courses/tiny/quiz"]:
        assert client.get(path).status_code == 302


def test_the_quiz_draws_questions_per_attempt_from_the_bank(app, learner):
    quiz = start_quiz(learner)
    drawn = drawn_questions(learner, quiz)
    assert len(set(drawn)) == TINY.questions_per_attempt
    assert set(drawn) <= set(TINY.question_bank)
    # Coming back to the quiz continues the same attempt rather than drawing again.
    assert start_quiz(learner) == quiz
    draws = set()
    for _ in range(8):
        url = start_quiz(learner)
        questions = drawn_questions(learner, url)
        draws.add(frozenset(questions))
        learner.submit(url, answers_for(questions, right=False), form_page=url)
    assert len(draws) > 1, "retakes should draw different questions from a larger bank"


def test_no_page_carries_the_answers_before_submission(learner):
    quiz = start_quiz(learner)
    pages = [learner.get(p).get_data(as_text=True) for p in
             ["/courses", "/courses/tiny", "/courses/tiny/lessons/01-first", "/courses/tiny/lessons/02-second",
              "/courses/tiny/quiz", quiz]]
    for html in pages:
        for explanation in ALL_EXPLANATIONS:
            assert explanation not in html
        assert not re.search(r"<input[^>]* checked", html) and "(right answer)" not in html
    result = learner.get(quiz + "/result")
    assert result.status_code == 302  # no result page before submission


def test_scoring_happens_on_the_server_with_explanations(app, learner):
    quiz = start_quiz(learner)
    drawn = drawn_questions(learner, quiz)
    wrong = answers_for(drawn, right=False)
    response = learner.submit(quiz, wrong, form_page=quiz)
    result = learner.get(response.headers["Location"]).get_data(as_text=True)
    assert "You answered 0 of 4 questions correctly (0%)" in result
    assert "You need 75% to pass" in result
    for qid in drawn:
        for option in TINY.question_bank[qid].options:
            assert option.explanation.replace("'", "&#39;") in result
    assert count(app, Completion) == 0
    assert "Try the quiz again" in result


def test_passing_records_a_completion_with_version_language_method_and_expiry(app, learner):
    quiz = start_quiz(learner)
    learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    with app.app_context():
        completion = db.get_session().scalars(select(Completion)).one()
        assert (completion.course_id, completion.course_version, completion.language, completion.method) == (
            "tiny", TINY.version, "en", "online")
        assert completion.expires_at == add_months(completion.completed_at, 12)
        assert completion.user_id == learner.user_id


def test_the_pass_mark_comes_from_the_manifest(app, learner):
    quiz = start_quiz(learner)
    drawn = drawn_questions(learner, quiz)
    mostly_right = answers_for(drawn)
    mostly_right.update(answers_for(drawn[:1], right=False))  # 3 of 4 = 75% = the pass mark
    learner.submit(quiz, mostly_right, form_page=quiz)
    assert count(app, Completion) == 1


def test_unanswered_questions_keep_the_answers_given(learner, app):
    quiz = start_quiz(learner)
    drawn = drawn_questions(learner, quiz)
    partial = answers_for(drawn[:2])
    response = learner.submit(quiz, partial, form_page=quiz)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "Answer question 3" in html and "Answer question 4" in html
    assert html.count(" checked") == sum(len(v) for v in partial.values())
    assert count(app, QuizAttempt, submitted_at=None) == 1


def test_bad_submissions_get_400_and_change_nothing(app, learner):
    quiz = start_quiz(learner)
    drawn = drawn_questions(learner, quiz)
    not_drawn = next(qid for qid in TINY.question_bank if qid not in drawn)
    good = answers_for(drawn)
    single = next(qid for qid in drawn if not TINY.question_bank[qid].multiple)
    bad_forms = [
        {**good, f"q-{not_drawn}": ["a"]},                 # a question not in the attempt
        {**good, f"q-{drawn[0]}": ["zzz"]},                # an option not in the question
        {**good, f"q-{single}": ["a", "b"]},               # two answers to a one-answer question
        {**good, "score": "100"},                          # a field the quiz does not have
        {**good, "q-": ["a"]},
    ]
    for data in bad_forms:
        response = learner.submit(quiz, data, form_page=quiz)
        assert response.status_code == 400, data
        assert "not recorded" in response.get_data(as_text=True)
    assert count(app, QuizAttempt, submitted_at=None) == 1 and count(app, Completion) == 0
    # The attempt is still open and can be finished properly.
    assert learner.submit(quiz, good, form_page=quiz).status_code == 302
    # Now it is finished: a further submission is refused and changes nothing.
    again = learner.submit(quiz, answers_for(drawn, right=False), form_page="/courses/tiny/quiz")
    assert again.status_code == 400
    with app.app_context():
        attempt = db.get_session().scalars(select(QuizAttempt)).one()
        assert attempt.correct == len(drawn)
    assert count(app, Completion) == 1


def test_someone_elses_attempt_is_404(app, learner, demo):
    quiz = start_quiz(learner)
    other = FormClient(app.test_client(), [])
    other.sign_in("learner2@example.org")
    assert other.get(quiz).status_code == 404
    assert other.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page="/courses/tiny/quiz").status_code == 404
    assert count(app, QuizAttempt, submitted_at=None) == 1


def test_double_submission_records_one_result_and_one_completion(app, learner):
    """Two tabs submitting the same attempt at the same moment, through real concurrent requests."""
    quiz = start_quiz(learner)
    data = answers_for(drawn_questions(learner, quiz))
    tabs = []
    for _ in range(2):
        tab = FormClient(app.test_client(), [])
        tab.sign_in("learner@example.org")
        tabs.append((tab, tab.csrf_token("/courses/tiny/quiz")))
    barrier = threading.Barrier(2)
    statuses = []

    def submit(tab, token):
        barrier.wait()
        statuses.append(tab.post(quiz, data={**data, "csrf_token": token}).status_code)

    threads = [threading.Thread(target=submit, args=tab) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 400]
    assert count(app, Completion) == 1
    assert count(app, QuizAttempt) == 1


def test_a_resent_form_records_one_result(app, learner):
    quiz = start_quiz(learner)
    data = answers_for(drawn_questions(learner, quiz))
    token = learner.csrf_token("/courses/tiny/quiz")
    first = learner.post(quiz, data={**data, "csrf_token": token})
    second = learner.post(quiz, data={**data, "csrf_token": token})
    assert (first.status_code, second.status_code) == (302, 400)
    assert "See the result of this attempt" in second.get_data(as_text=True)
    assert count(app, Completion) == 1


def test_a_course_that_changed_since_the_attempt_started(app, learner):
    quiz = start_quiz(learner)
    data = answers_for(drawn_questions(learner, quiz))
    with app.app_context():
        attempt = db.get_session().scalars(select(QuizAttempt)).one()
        attempt.course_version = "0.9.0+oldcontent"
        db.get_session().commit()
    response = learner.submit(quiz, data, form_page="/courses/tiny/quiz")
    assert response.status_code == 400 and "updated" in response.get_data(as_text=True)
    # Starting again draws a new attempt on the current version.
    assert start_quiz(learner) != quiz


def test_completions_keep_the_version_they_were_earned_on(app, learner):
    quiz = start_quiz(learner)
    learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    app.extensions["lms.catalogue"].courses["tiny"].version = "2.0.0+newcontent"
    with app.app_context():
        assert db.get_session().scalars(select(Completion.course_version)).one() == TINY.version


def test_a_completion_near_expiry_reopens_the_course_as_a_refresher(app, learner):
    quiz = start_quiz(learner)
    learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    learner.submit("/courses/tiny/lessons/01-first/read", form_page="/courses/tiny/lessons/01-first")
    with app.app_context():
        session = db.get_session()
        completion = session.scalars(select(Completion)).one()
        completion.completed_at = utcnow() - timedelta(days=340)
        completion.expires_at = utcnow() + timedelta(days=20)
        session.commit()
    page = learner.get("/courses").get_data(as_text=True)
    assert "Refresher due" in page and "Your completion expires on" in page
    with app.app_context():
        session = db.get_session()
        session.scalars(select(Completion)).one().expires_at = utcnow() - timedelta(days=1)
        session.commit()
    assert "Your completion expired on" in learner.get("/courses").get_data(as_text=True)
    # A fresh pass renews it.
    quiz = start_quiz(learner)
    learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    page = learner.get("/courses").get_data(as_text=True)
    assert "Completed" in page and "Refresher due" not in page
    assert count(app, Completion) == 2


def test_switching_language_mid_course_keeps_progress(app, learner):
    learner.submit("/courses/tiny/lessons/01-first/read", form_page="/courses/tiny/lessons/01-first")
    urdu = learner.get("/courses/tiny/lessons/01-first", headers={"Accept-Language": "ur"})
    english = learner.get("/courses/tiny/lessons/01-first?lang=en")
    assert "The first lesson" in english.get_data(as_text=True)
    assert '<progress class="progress" max="2" value="1"' in urdu.get_data(as_text=True)


def test_slides_are_for_trainers_champions_and_admins(app, learner, demo):
    assert learner.get("/courses/tiny/slides").status_code == 404
    trainer = FormClient(app.test_client(), [])
    trainer.sign_in("trainer@example.org")
    deck = trainer.get("/courses/tiny/slides").get_data(as_text=True)
    assert "Notice, check, share" in deck and "Speaker notes" in deck and "Two minutes." in deck
    assert "Slide 2 of 3" in trainer.get("/courses/tiny/slides/2").get_data(as_text=True)
    assert trainer.get("/courses/tiny/slides/0").status_code == 404
    assert trainer.get("/courses/tiny/slides/4").status_code == 404


def test_course_assets_are_served_and_svg_cannot_run_script(learner):
    response = learner.get("/courses/tiny/assets/circle.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_add_months_clamps_to_the_end_of_the_month():
    from datetime import datetime, timezone

    assert add_months(datetime(2026, 1, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2027, 11, 30, tzinfo=timezone.utc), 3) == datetime(2028, 2, 29, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 5, 15, tzinfo=timezone.utc), 24) == datetime(2028, 5, 15, tzinfo=timezone.utc)


def test_the_deck_is_shown_a_few_slides_a_page(app, demo, monkeypatch):
    from lms.learn import routes

    monkeypatch.setattr(routes, "SLIDES_PER_PAGE", 2)
    trainer = FormClient(app.test_client(), [])
    trainer.sign_in("trainer@example.org")
    first = trainer.get("/courses/tiny/slides").get_data(as_text=True)
    assert "Welcome" in first and "Notice, check, share" in first and "Where to get help" not in first
    assert "Page 1 of 2" in first
    second = trainer.get("/courses/tiny/slides?page=2").get_data(as_text=True)
    assert "Where to get help" in second and 'start="3"' in second
    assert trainer.get("/courses/tiny/slides?page=99").status_code == 200


def shown_option_order(client, quiz_url: str) -> dict[str, list[str]]:
    """Each question's option ids in the order the quiz page shows them."""
    order: dict[str, list[str]] = {}
    for qid, option_id in re.findall(r'name="q-([^"]+)" value="([^"]+)"', client.get(quiz_url).get_data(as_text=True)):
        order.setdefault(qid, []).append(option_id)
    return order


def test_options_are_shuffled_per_attempt_and_remembered(app, learner):
    quiz = start_quiz(learner)
    first = shown_option_order(learner, quiz)
    assert shown_option_order(learner, quiz) == first  # a reload shows the same order
    for qid, order in first.items():
        assert sorted(order) == sorted(o.id for o in TINY.question_bank[qid].options)
    with app.app_context():
        attempt = db.get_session().scalars(select(QuizAttempt)).one()
        assert attempt.option_order == first
    # The result page lists the options in the order the learner saw them.
    result_url = learner.submit(quiz, answers_for(first, right=False), form_page=quiz).headers["Location"]
    result = learner.get(result_url).get_data(as_text=True)
    for qid, order in first.items():
        texts = [TINY.question_bank[qid].option(option_id).text for option_id in order]
        after_stem = result.index(TINY.question_bank[qid].stem)
        positions = [result.index(f"<strong>{text}</strong>", after_stem) for text in texts]
        assert positions == sorted(positions)

    orders = {tuple(tuple(o) for o in first.values())}
    for _ in range(10):
        url = start_quiz(learner)
        order = shown_option_order(learner, url)
        orders.add(tuple(tuple(order[qid]) for qid in sorted(order)))
        learner.submit(url, answers_for(order, right=False), form_page=url)
    assert len(orders) > 1, "the option order should differ between attempts"


def test_the_score_does_not_depend_on_the_option_order(app, session, demo):
    import random

    from lms.learn import services

    user_id = demo["users"]["learner@example.org"]
    orders = set()
    for seed in range(12):
        attempt = services.start_attempt(session, user_id, TINY, "en", rng=random.Random(seed))
        orders.add(tuple(tuple(attempt.option_order[qid]) for qid in sorted(attempt.option_order)))
        right = {qid: sorted(TINY.question_bank[qid].answers) for qid in attempt.question_ids}
        scored = services.submit_attempt(session, user_id, TINY, attempt.id, right)
        assert scored.correct == scored.total and scored.passed
        session.commit()
    assert len(orders) > 1


def test_a_language_chosen_on_the_page_is_kept_through_the_course(app, learner, demo):
    lesson = learner.get("/courses/tiny/lessons/01-first?lang=en").get_data(as_text=True)
    assert 'href="/courses/tiny/lessons/02-second?lang=en" rel="next"' in lesson
    assert 'href="/courses/tiny?lang=en"' in lesson
    read = learner.submit("/courses/tiny/lessons/01-first/read?lang=ur", form_page="/courses/tiny/lessons/01-first?lang=ur")
    assert read.headers["Location"].endswith("/courses/tiny/lessons/02-second?lang=ur")
    last = learner.submit("/courses/tiny/lessons/02-second/read?lang=ur", form_page="/courses/tiny/lessons/02-second?lang=ur")
    assert last.headers["Location"].endswith("/courses/tiny?lang=ur#quiz")
    # Nothing asked for, nothing added; and a made-up value is not carried.
    assert "?lang=" not in learner.get("/courses/tiny/lessons/01-first").get_data(as_text=True).split("lesson-nav")[1]
    odd = learner.get("/courses/tiny/lessons/01-first?lang=%22%3E%3Cx").get_data(as_text=True)
    assert "lang=" not in odd.split("lesson-nav")[1] and "<x" not in odd
    trainer = FormClient(app.test_client(), [])
    trainer.sign_in("trainer@example.org")
    slide = trainer.get("/courses/tiny/slides/1?lang=ur").get_data(as_text=True)
    assert 'href="/courses/tiny/slides/2?lang=ur" rel="next"' in slide


def test_after_passing_the_result_links_the_certificate_and_the_course_page_says_it_is_done(app, learner):
    quiz = start_quiz(learner)
    result_url = learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz).headers["Location"]
    result = learner.get(result_url).get_data(as_text=True)
    with app.app_context():
        from lms.certify.codes import display
        from lms.models import Certificate

        code = display(db.get_session().scalars(select(Certificate)).one().code)
    assert f'href="/certificates/{code}.pdf"' in result
    assert f'<bdi class="verification-code">{code}</bdi>' in result
    assert learner.get(f"/verify/{code}").status_code == 200
    course = learner.get("/courses/tiny").get_data(as_text=True)
    assert "You have completed this course" in course
    assert "Not read" not in course and "Start the course" not in course
    # A failed attempt earns nothing to link to.
    again = start_quiz(learner)
    failed = learner.get(learner.submit(again, answers_for(drawn_questions(learner, again), right=False),
                                        form_page=again).headers["Location"]).get_data(as_text=True)
    assert "Download your certificate" not in failed
