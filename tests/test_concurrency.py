"""Writes under concurrency: SQLite transactions that may write take the lock up front, the
error page survives a broken request, and many learners at once lose nothing."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select, text

from lms import db
from lms.models import LessonProgress, QuizAttempt
from tests.conftest import FormClient, make_test_app

COURSE = "tiny"


def _statements(app):
    seen = []

    def remember(_conn, _cursor, statement, *_args):
        seen.append(statement.strip().upper())

    engine = app.extensions["lms.engine"]
    event.listen(engine, "before_cursor_execute", remember)
    return seen, lambda: event.remove(engine, "before_cursor_execute", remember)


def _modules(app):
    return app.extensions["lms.catalogue"].get(COURSE).module_slugs


def test_posts_take_the_sqlite_write_lock_at_begin_and_gets_do_not(app, client, demo, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    client.sign_in("learner@example.org")
    slug = _modules(app)[0]
    token = client.csrf_token(f"/courses/{COURSE}/lessons/{slug}")
    seen, stop = _statements(app)
    try:
        client.get(f"/courses/{COURSE}/lessons/{slug}")
        reading = list(seen)
        seen.clear()
        response = client.post(f"/courses/{COURSE}/lessons/{slug}/read", data={"csrf_token": token})
        writing = list(seen)
    finally:
        stop()
    assert response.status_code == 302
    assert "BEGIN" in reading and "BEGIN IMMEDIATE" not in reading
    assert writing[0] == "BEGIN IMMEDIATE"


def test_a_get_that_writes_outside_a_write_transaction_is_caught_in_tests(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite needs to know beforehand")
    app = make_test_app(database_url)

    @app.get("/test-writes-carelessly")
    def careless():
        db.get_session().execute(text("SELECT 1"))
        db.get_session().execute(text("UPDATE organisations SET name = name"))
        return "written"

    @app.get("/test-writes-carefully")
    def careful():
        db.get_session().execute(text("SELECT 1"))
        with db.write_transaction() as session:
            session.execute(text("UPDATE organisations SET name = name"))
        return "written"

    with pytest.raises(db.DeferredWrite):
        app.test_client().get("/test-writes-carelessly")
    assert app.test_client().get("/test-writes-carefully").status_code == 200


def test_the_error_page_survives_a_failed_flush(database_url, demo):
    """A request whose flush failed leaves its session needing a rollback; the error page's
    own queries (the organisation switcher) must not fail with it."""
    app = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.post("/test-duplicate")
    def duplicate():
        session = db.get_session()
        session.add(LessonProgress(user_id=demo["users"]["learner@example.org"], course_id=COURSE, module_slug="x"))
        session.add(LessonProgress(user_id=demo["users"]["learner@example.org"], course_id=COURSE, module_slug="x"))
        session.flush()
        return "not reached"

    app.config["WTF_CSRF_ENABLED"] = False
    client = FormClient(app.test_client(), [])
    client.sign_in("learner@example.org")
    response = client.post("/test-duplicate")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "Your courses" in page  # the full layout, signed-in header and all, not a bare page


def test_an_error_page_that_cannot_be_drawn_falls_back_to_plain_text(database_url, monkeypatch):
    app = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/test-broken")
    def broken():
        raise RuntimeError("boom")

    import lms

    def unusable(*_args, **_kwargs):
        raise RuntimeError("the template is broken too")

    monkeypatch.setattr(lms, "render_template", unusable)
    response = app.test_client().get("/test-broken")
    assert response.status_code == 500
    assert response.mimetype == "text/plain"
    assert "try again" in response.get_data(as_text=True)


def test_many_learners_marking_lessons_and_starting_quizzes_at_once_lose_nothing(database_url, demo):
    """Threads are real concurrent connections: on SQLite, a read-then-write transaction begun
    deferred fails here with "database is locked" as soon as another has committed."""
    app = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False)
    emails = ["learner@example.org", "learner2@example.org", "guardian@example.org", "champion@example.org",
              "trainer@example.org", "orgadmin@example.org"]
    slugs = _modules(app)
    clients = {}
    for email in emails:
        clients[email] = FormClient(app.test_client(), [])
        clients[email].sign_in(email)
    tokens = {email: c.csrf_token(f"/courses/{COURSE}") for email, c in clients.items()}
    statuses = []
    start = threading.Barrier(len(emails))

    def learner(email):
        browser = clients[email].client
        start.wait()
        for _ in range(3):  # three tabs' worth: repeats must not fail either
            for slug in slugs:
                statuses.append(browser.post(f"/courses/{COURSE}/lessons/{slug}/read",
                                             data={"csrf_token": tokens[email]}).status_code)
            statuses.append(browser.post(f"/courses/{COURSE}/quiz", data={"csrf_token": tokens[email]}).status_code)

    threads = [threading.Thread(target=learner, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses and set(statuses) == {302}, sorted(set(statuses))
    with app.app_context():
        session = db.get_session()
        read = session.scalar(select(func.count()).select_from(LessonProgress))
        attempts = session.scalars(select(QuizAttempt.user_id)).all()
    assert read == len(emails) * len(slugs)
    # An open attempt is carried on, so three presses made one attempt each.
    assert sorted(attempts) == sorted(demo["users"][email] for email in emails)
    app.extensions["lms.engine"].dispose()
