"""xAPI statements (issue 15) sent to a real learning record store this project did not write:
Ralph, run locally from its own virtualenv (`make test` installs it), read back over its API."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from base64 import b64encode
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.db import utcnow
from lms.interop import xapi
from lms.models import Attendance, User, Workshop, XapiStatement
from lms.privacy import erasure
from tests.conftest import FormClient, database, text_of

ROOT = Path(__file__).resolve().parents[1]
RALPH = ROOT / "tests/lrs/.venv/bin"
USER, PASSWORD = "lms", "a-test-password"
NORTHMOOR = "Northmoor Borough Council"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Ralph:
    """Ralph's LRS under uvicorn on the loopback, with its statements kept in a folder, so that
    it can be stopped and started again with what it had. Ralph's file backend takes one write
    per store (a second is refused as overwriting its file), so each test has a fresh store
    and sends everything waiting in one batch, as the sender does."""

    def __init__(self, folder: Path):
        if not (RALPH / "ralph").exists():
            pytest.fail("Ralph is not installed: run `make test`, which installs it in tests/lrs/.venv")
        self.port = free_port()
        self.env = {**os.environ, "RALPH_APP_DIR": str(folder / "app"), "RALPH_AUTH_FILE": str(folder / "auth.json"),
                    "RALPH_RUNSERVER_BACKEND": "fs",
                    "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "statements")}
        subprocess.run([str(RALPH / "ralph"), "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-A", USER,
                        "https://lms.test", "-w"], env=self.env, check=True, capture_output=True, timeout=120)
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def start(self) -> None:
        self.process = subprocess.Popen([str(RALPH / "python"), "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1",
                                         "--port", str(self.port)], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.statements()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("Ralph did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)

    def statements(self) -> list[dict]:
        request = urllib.request.Request(f"{self.url}/statements?limit=500", headers={
            "X-Experience-API-Version": "1.0.3",
            "Authorization": "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())["statements"]


@pytest.fixture
def ralph(tmp_path):
    store = Ralph(tmp_path / "ralph")
    store.start()
    yield store
    if store.process.poll() is None:
        store.stop()


@pytest.fixture
def lrs_app(app, ralph):
    app.config.update(XAPI_URL=ralph.url, XAPI_USERNAME=USER, XAPI_PASSWORD=PASSWORD, XAPI_TIMEOUT=2)
    return app


def pass_the_quiz(app, client, email: str = "learner@example.org", right: bool = True):
    course = app.extensions["lms.catalogue"].get("tiny")
    client.sign_in(email)
    started = client.submit("/courses/tiny/quiz", {}, form_page="/courses/tiny/quiz")
    attempt_page = started.headers["Location"]
    html = client.get(attempt_page).get_data(as_text=True)
    answers = {}
    for question_id, question in course.question_bank.items():
        if f'name="q-{question_id}"' in html:
            options = [o.id for o in question.options]
            answers[f"q-{question_id}"] = (sorted(question.answers) if right
                                           else [next(o for o in options if o not in question.answers)])
    begun = time.monotonic()
    response = client.submit(attempt_page, answers)
    assert response.status_code == 302, text_of(response)
    return time.monotonic() - begun


def test_a_quiz_passed_reaches_the_store_as_passed_and_completed(lrs_app, client, demo, ralph, queued_jobs):
    pass_the_quiz(lrs_app, client)
    assert queued_jobs() == 1  # one send, queued once the learner's record was committed
    learner = demo["users"]["learner@example.org"]
    stored = ralph.statements()
    verbs = sorted(statement["verb"]["id"].rsplit("/", 1)[1] for statement in stored)
    assert verbs == ["completed", "passed"]
    passed = next(s for s in stored if s["verb"]["id"].endswith("passed"))
    assert passed["actor"]["account"] == {"homePage": "http://localhost", "name": f"user-{learner}"}
    assert passed["result"]["score"]["raw"] == 100 and passed["result"]["success"] is True
    assert passed["object"]["id"] == "http://localhost/courses/tiny/quiz"
    # The store learns which record here a statement is about, and nothing else about the person.
    text = json.dumps(stored)
    assert "learner@example.org" not in text and "Lena" not in text
    with database(lrs_app) as session:
        assert session.scalar(select(func.count()).select_from(XapiStatement).where(XapiStatement.sent_at.is_(None))) == 0


def test_a_failed_attempt_is_sent_as_failed_without_a_completion(lrs_app, client, demo, ralph, queued_jobs):
    pass_the_quiz(lrs_app, client, right=False)
    queued_jobs()
    stored = ralph.statements()
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in stored] == ["failed"]
    assert stored[0]["result"]["success"] is False and stored[0]["result"]["score"]["raw"] == 0


def test_attendance_at_a_session_is_sent_for_account_holders_and_walk_ins(lrs_app, client, demo, ralph, queued_jobs):
    organisation = demo["organisations"][NORTHMOOR]
    now = utcnow()
    with database(lrs_app) as session:
        workshop = Workshop(organisation_id=organisation, course_id="tiny", language="en", starts_at=now - timedelta(hours=2),
                            ends_at=now - timedelta(hours=1), trainer_id=demo["users"]["trainer@example.org"])
        session.add(workshop)
        session.flush()
        session.add_all([Attendance(workshop_id=workshop.id, name="Lena Kowalska", user_id=demo["users"]["learner@example.org"]),
                         Attendance(workshop_id=workshop.id, name="Walk-in Wanjiru")])
        session.commit()
        workshop_id = workshop.id
    client.sign_in("trainer@example.org")
    closed = client.submit(f"/org/{organisation}/sessions/{workshop_id}/register/close", {},
                           form_page=f"/org/{organisation}/sessions/{workshop_id}/register")
    assert closed.status_code == 302, text_of(closed)
    queued_jobs()
    stored = ralph.statements()
    who = sorted((s["actor"]["account"]["name"].split("-")[0], s["verb"]["id"].rsplit("/", 1)[1]) for s in stored)
    assert who == [("guest", "attended"), ("guest", "completed"), ("user", "attended"), ("user", "completed")]
    assert all(s["object"]["id"].endswith(f"/sessions/{workshop_id}") for s in stored if s["verb"]["id"].endswith("attended"))
    assert "Wanjiru" not in json.dumps(stored)


def test_a_store_that_is_down_delays_nobody_and_gets_every_statement_when_it_returns(lrs_app, client, demo, ralph,
                                                                                    queued_jobs):
    ralph.stop()
    took = pass_the_quiz(lrs_app, client)
    assert took < 2  # the page only wrote a row; nothing waited on the store
    with pytest.raises(xapi.StoreUnavailable), lrs_app.app_context():
        xapi.send_waiting()  # the queued send, trying while the store is down
    with pytest.raises(xapi.StoreUnavailable):
        queued_jobs()  # the copy the page queued fails the same way (the queue retries it)
    with database(lrs_app) as session:
        waiting = list(session.scalars(select(XapiStatement).where(XapiStatement.sent_at.is_(None))))
        assert len(waiting) == 2 and all(s.attempts >= 1 and s.last_error for s in waiting)
    ralph.start()
    with lrs_app.app_context():
        result = lrs_app.test_cli_runner().invoke(args=["xapi", "send"])
    assert result.exit_code == 0 and "Sent 2 statements." in result.output, result.output
    assert sorted(s["verb"]["id"].rsplit("/", 1)[1] for s in ralph.statements()) == ["completed", "passed"]
    with lrs_app.app_context():
        again = lrs_app.test_cli_runner().invoke(args=["xapi", "send"])
    assert "Sent 0 statements." in again.output and len(ralph.statements()) == 2  # nothing sent twice


def test_a_store_that_hangs_times_out_on_the_queue_not_on_the_page(app, client, demo, queued_jobs):
    """A store that accepts the connection and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    app.config.update(XAPI_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/xAPI", XAPI_USERNAME=USER,
                      XAPI_PASSWORD=PASSWORD, XAPI_TIMEOUT=1)
    assert pass_the_quiz(app, client) < 2
    begun = time.monotonic()
    with pytest.raises(xapi.StoreUnavailable), app.app_context():
        xapi.send_waiting()
    assert time.monotonic() - begun < 5
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["xapi", "send"])
    assert result.exit_code == 1 and "2 wait for the next try" in result.output
    silent.close()


def test_without_a_store_nothing_is_kept_or_queued(app, client, demo, queued_jobs):
    pass_the_quiz(app, client)
    assert queued_jobs() == 0
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(XapiStatement)) == 0
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["xapi", "send"])
    assert result.exit_code != 0 and "LMS_XAPI_URL is not set" in result.output


def test_statements_waiting_about_someone_go_with_their_erasure(app, client, demo, queued_jobs):
    app.config.update(XAPI_URL="http://127.0.0.1:9/xAPI", XAPI_USERNAME=USER, XAPI_PASSWORD=PASSWORD)
    pass_the_quiz(app, client)
    learner = demo["users"]["learner@example.org"]
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(XapiStatement).where(XapiStatement.user_id == learner)) == 2
        erasure.erase_account(session, learner, erasure.Storage.of(app), erased_by=None, reason=erasure.OWN_REQUEST)
        session.commit()
        assert session.scalar(select(func.count()).select_from(XapiStatement)) == 0
        assert session.get(User, learner) is None
