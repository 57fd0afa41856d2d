"""Many learners doing one course at the same moment, against gunicorn with several workers,
on SQLite (WAL) and PostgreSQL. Prints one JSON object.

Each simulated learner signs in, marks every lesson read, starts the quiz, submits it with
the right answers and downloads the certificate, all starting together. Nobody presses
again: a request that fails counts as failed. Then the same load again, and every server
process is killed with SIGKILL once writes are being acknowledged; after a restart the
database must hold every write the server acknowledged.

Passes when: no 5xx; every write acknowledged with a 2xx or 3xx is in the database; no
learner has two completions or two certificates for one course version; the server log
never says "database is locked"; after the kill, SQLite's PRAGMA integrity_check is ok.
A bare Flask app under the same gunicorn and the same load generator is measured in the
same run, as the reference for requests per second.

    python bench/load.py --quick                     # 200 learners; both engines if LMS_TEST_POSTGRES_URL is set
    python bench/load.py --learners 40 --no-crash    # what the test suite runs
Exit status 1 when any check fails.
"""
from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

WORKERS = 4
PASSWORD = "bench-password-1"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
QUESTION = re.compile(r'name="q-([^"]+)"')
CERTIFICATE = re.compile(r'href="(/certificates/[^"]+\.pdf)"')


# --- a small HTTP client: one learner's browser -------------------------------------------

class Stop(Exception):
    """The learner cannot go on: a request failed or the server went away."""


@dataclass
class Record:
    """Everything the learners saw, shared by their threads."""
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    connection_errors: int = 0
    lessons_read: list[tuple[str, str]] = field(default_factory=list)    # (email, lesson) acknowledged
    submissions: list[tuple[str, int]] = field(default_factory=list)     # (email, attempt id) acknowledged
    certificates: list[str] = field(default_factory=list)                # paths of downloaded PDFs
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> int:
        return len(self.lessons_read) + len(self.submissions)

    def requests(self) -> int:
        return sum(self.statuses.values())


class Browser:
    def __init__(self, port: int, record: Record):
        self.port = port
        self.record = record
        self.cookies: dict[str, str] = {}

    def request(self, step: str, method: str, path: str, fields: dict | None = None,
                expect: tuple[int, ...] = (200,)) -> tuple[int, dict, bytes]:
        body = urllib.parse.urlencode(fields or {}, doseq=True) if method == "POST" else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            with self.record.lock:
                self.record.connection_errors += 1
            raise Stop(f"{step}: {error}") from error
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        with self.record.lock:
            self.record.timings[step].append(elapsed)
            self.record.statuses[response.status] += 1
            if response.status >= 500:
                self.record.server_errors.append(f"{response.status} {method} {path}")
        if response.status not in expect:
            raise Stop(f"{step}: {response.status} for {method} {path}")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def token(self, page: bytes) -> str:
        found = TOKEN.search(page.decode())
        if not found:
            raise Stop("no CSRF token on the page")
        return found.group(1)


def learner(port: int, email: str, course, record: Record) -> None:
    browser = Browser(port, record)
    try:
        _, _, page = browser.request("sign-in page", "GET", "/sign-in")
        browser.request("sign in", "POST", "/sign-in",
                        {"csrf_token": browser.token(page), "email": email, "password": PASSWORD}, expect=(302,))
        for slug in course.module_slugs:
            _, _, page = browser.request("lesson page", "GET", f"/courses/{course.id}/lessons/{slug}")
            browser.request("mark read", "POST", f"/courses/{course.id}/lessons/{slug}/read",
                            {"csrf_token": browser.token(page)}, expect=(302,))
            with record.lock:
                record.lessons_read.append((email, slug))
        _, _, page = browser.request("quiz start page", "GET", f"/courses/{course.id}/quiz")
        _, headers, _ = browser.request("start quiz", "POST", f"/courses/{course.id}/quiz",
                                        {"csrf_token": browser.token(page)}, expect=(302,))
        quiz_path = urllib.parse.urlsplit(headers["location"]).path
        attempt_id = int(quiz_path.rstrip("/").rsplit("/", 1)[1])
        _, _, page = browser.request("quiz page", "GET", quiz_path)
        answers = {f"q-{qid}": sorted(course.question_bank[qid].answers) for qid in QUESTION.findall(page.decode())}
        _, headers, _ = browser.request("submit quiz", "POST", quiz_path,
                                        {"csrf_token": browser.token(page), **answers}, expect=(302,))
        with record.lock:
            record.submissions.append((email, attempt_id))
        _, _, page = browser.request("result page", "GET", urllib.parse.urlsplit(headers["location"]).path)
        link = CERTIFICATE.search(page.decode())
        if not link:
            raise Stop("no certificate link on the result page")
        _, headers, pdf = browser.request("certificate", "GET", link.group(1))
        if not pdf.startswith(b"%PDF"):
            raise Stop("the certificate is not a PDF")
        with record.lock:
            record.certificates.append(link.group(1))
            record.finished += 1
    except Stop:
        pass


def all_at_once(jobs: list) -> float:
    """Each job in its own thread, all released at the same moment; seconds until the last ends."""
    start = threading.Barrier(len(jobs) + 1)

    def released(job):
        start.wait()
        job()

    threads = [threading.Thread(target=released, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def run_learners(port: int, emails: list[str], course, record: Record) -> float:
    return all_at_once([functools.partial(learner, port, email, course, record) for email in emails])


# --- the server ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(app: str, env: dict, log: Path, chdir: Path = ROOT, *, workers: int = WORKERS,
                   config: str = str(ROOT / "gunicorn.conf.py")) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [GUNICORN, "--config", config, "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--capture-output", "--error-logfile", str(log),
         "--timeout", "120", "--chdir", str(chdir), app],
        env={**os.environ, **env}, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


def kill_everything(process: subprocess.Popen) -> None:
    """SIGKILL to the master and every worker at once, as a power cut or an OOM kill would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_everything(process)


# --- setting up and checking the database -------------------------------------------------

def prepare(url: str, learners: int, course_id: str):
    """A migrated database with one organisation and `learners` learners in it."""
    from lms import create_app, db
    from lms.migrate import upgrade
    from lms.models import Membership, User
    from lms.people import passwords
    from lms.people import services as people

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LMS_ENV": "development"})
    course = app.extensions["lms.catalogue"].get(course_id)
    password_hash = passwords.hash_password(PASSWORD)  # one real hash: what sign-in costs is part of the load
    emails = [f"learner{number}@bench.example.org" for number in range(learners)]
    with app.app_context():
        session = db.get_session()
        organisation = people.create_organisation(session, "Bench Borough Council")
        for email in emails:
            user = User(email=email, name=email.split("@")[0], password_hash=password_hash)
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, organisation_id=organisation.id, role="learner"))
        session.commit()
    app.extensions["lms.engine"].dispose()
    return course, emails


def check_database(url: str, record: Record, course_id: str) -> dict:
    from lms.models import Certificate, Completion, LessonProgress, QuizAttempt, User

    engine = create_engine(url)
    with engine.connect() as connection:
        users = dict(connection.execute(select(User.email, User.id)).all())
        read = set(connection.execute(select(LessonProgress.user_id, LessonProgress.module_slug)
                                      .where(LessonProgress.course_id == course_id)).all())
        submitted = set(connection.execute(select(QuizAttempt.id).where(QuizAttempt.submitted_at.is_not(None))).scalars())
        codes = set(connection.execute(select(Certificate.code)).scalars())
        duplicate_completions = connection.execute(
            select(func.count()).select_from(
                select(Completion.user_id).group_by(Completion.user_id, Completion.course_id, Completion.course_version)
                .having(func.count() > 1).subquery())).scalar_one()
        duplicate_certificates = connection.execute(
            select(func.count()).select_from(
                select(Certificate.completion_id).group_by(Certificate.completion_id)
                .having(func.count() > 1).subquery())).scalar_one()
        integrity = (connection.execute(text("PRAGMA integrity_check")).scalar_one()
                     if url.startswith("sqlite") else None)
    engine.dispose()
    downloaded = {path.rsplit("/", 1)[1].removesuffix(".pdf").replace("-", "") for path in record.certificates}
    lost = ([f"lesson {slug} of {email}" for email, slug in record.lessons_read if (users[email], slug) not in read]
            + [f"submission {attempt}" for _, attempt in record.submissions if attempt not in submitted]
            + [f"certificate {code}" for code in downloaded if code not in codes])
    return {"lost_acknowledged_writes": lost[:20], "lost_count": len(lost),
            "duplicate_completions": duplicate_completions, "duplicate_certificates": duplicate_certificates,
            **({"integrity_check": integrity} if integrity is not None else {})}


def summary(record: Record, seconds: float) -> dict:
    steps = {}
    for step, values in record.timings.items():
        ordered = sorted(values)
        steps[step] = {"requests": len(values), "p50_ms": round(statistics.median(ordered), 1),
                       "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)}
    return {"requests": record.requests(), "seconds": round(seconds, 2),
            "requests_per_second": round(record.requests() / seconds, 1) if seconds else None,
            "status_counts": {str(k): v for k, v in sorted(record.statuses.items())},
            "server_errors": len(record.server_errors), "server_error_examples": record.server_errors[:5],
            "connection_errors": record.connection_errors, "learners_finished": record.finished,
            "acknowledged_writes": record.acknowledged, "steps": steps}


def server_env(url: str, directory: Path) -> dict:
    env = {"LMS_ENV": "production", "LMS_SECRET_KEY": "bench-secret-key-" + "x" * 32, "LMS_DATABASE_URL": url,
           "LMS_SECURE_COOKIES": "0", "LMS_CERTIFICATE_CACHE_DIR": str(directory / "certificates"),
           "LMS_BATCH_DIR": str(directory / "batches"), "LMS_BASE_URL": "http://127.0.0.1"}
    if os.environ.get("LMS_TEST_REDIS_URL"):
        env["LMS_RATELIMIT_STORAGE_URI"] = os.environ["LMS_TEST_REDIS_URL"]
    return env


def load_run(url: str, directory: Path, learners: int, course_id: str) -> dict:
    course, emails = prepare(url, learners, course_id)
    log = directory / f"{url.split(':')[0].split('+')[0]}-load.log"
    process, port = start_gunicorn("lms:create_app()", server_env(url, directory), log)
    record = Record()
    try:
        seconds = run_learners(port, emails, course, record)
    finally:
        stop(process)
    text_of_log = log.read_text(errors="replace")
    result = summary(record, seconds)
    result.update(check_database(url, record, course_id))
    result["database_is_locked_in_log"] = text_of_log.count("database is locked")
    result["tracebacks_in_log"] = text_of_log.count("Traceback")
    result["passed"] = (result["server_errors"] == 0 and result["connection_errors"] == 0
                        and result["lost_count"] == 0 and result["learners_finished"] == learners
                        and result["duplicate_completions"] == 0 and result["duplicate_certificates"] == 0
                        and result["database_is_locked_in_log"] == 0 and result["tracebacks_in_log"] == 0)
    return result


def crash_run(url: str, directory: Path, learners: int, course_id: str) -> dict:
    """The same load, with SIGKILL to every server process once a third of the expected writes
    are acknowledged; then a restart and the checks."""
    course, emails = prepare(url, learners, course_id)
    log = directory / f"{url.split(':')[0].split('+')[0]}-crash.log"
    env = server_env(url, directory)
    process, port = start_gunicorn("lms:create_app()", env, log)
    record = Record()
    expected_writes = learners * (len(course.module_slugs) + 1)
    worker = threading.Thread(target=run_learners, args=(port, emails, course, record), daemon=True)
    worker.start()
    deadline = time.monotonic() + 300
    while record.acknowledged < expected_writes // 3 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    with record.lock:
        acknowledged_at_kill = record.acknowledged
    kill_everything(process)
    worker.join()
    # Writes acknowledged after the kill cannot exist; anything counted was acknowledged before it.
    restarted, port = start_gunicorn("lms:create_app()", env, directory / f"{url.split(':')[0].split('+')[0]}-restart.log")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/sign-in")
        serves_after_restart = connection.getresponse().status
        connection.close()
    finally:
        stop(restarted)
    result = {"acknowledged_before_kill": acknowledged_at_kill, "acknowledged_in_all": record.acknowledged,
              "server_errors": len(record.server_errors), "server_error_examples": record.server_errors[:5],
              "sign_in_page_after_restart": serves_after_restart}
    result.update(check_database(url, record, course_id))
    result["database_is_locked_in_log"] = log.read_text(errors="replace").count("database is locked")
    result["passed"] = (result["lost_count"] == 0 and result["server_errors"] == 0
                        and result.get("integrity_check", "ok") == "ok" and serves_after_restart == 200
                        and result["duplicate_completions"] == 0 and result["duplicate_certificates"] == 0
                        and result["database_is_locked_in_log"] == 0 and acknowledged_at_kill > 0)
    return result


# --- the reference ------------------------------------------------------------------------

def bare_app():
    """The reference: Flask answering a small page, nothing else."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/")
    def page():
        return "<!doctype html><title>Bare</title><p>Hello</p>"

    return app


def reference_run(directory: Path, learners: int, requests_each: int) -> dict:
    process, port = start_gunicorn("load:bare_app()", {}, directory / "gunicorn-bare.log", chdir=ROOT / "bench")
    record = Record()

    def visitor():
        browser = Browser(port, record)
        try:
            for _ in range(requests_each):
                browser.request("bare page", "GET", "/")
        except Stop:
            pass

    seconds = all_at_once([visitor] * learners)
    stop(process)
    result = summary(record, seconds)
    return {key: result[key] for key in ("requests", "seconds", "requests_per_second", "server_errors", "steps")}


# --- putting it together ------------------------------------------------------------------

def engines(directory: Path, name: str):
    yield "sqlite", f"sqlite:///{directory}/{name}.sqlite3", lambda: None
    if os.environ.get("LMS_TEST_POSTGRES_URL"):
        sys.path.insert(0, str(ROOT / "bench"))
        from pages import postgres_url

        url, drop = postgres_url(os.environ["LMS_TEST_POSTGRES_URL"])
        yield "postgresql", url, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the standard run: 200 learners (for `make bench`)")
    parser.add_argument("--learners", type=int, help="how many learners (default 200 with --quick, 500 without)")
    parser.add_argument("--course", default="wrap", help="the course every learner takes")
    parser.add_argument("--no-crash", action="store_true", help="skip the kill -9 run")
    args = parser.parse_args()
    learners = args.learners or (200 if args.quick else 500)
    output = {"benchmark": "load", "learners": learners, "workers": WORKERS, "course": args.course,
              "cpus": os.cpu_count(), "databases": {}}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        requests_each = 4 + 2 * 6 + 2  # about what one learner sends
        output["reference_bare_flask"] = reference_run(directory, learners, requests_each)
        for engine, url, drop in engines(directory, "load"):
            try:
                output["databases"][engine] = {"load": load_run(url, directory, learners, args.course)}
            finally:
                drop()
        if not args.no_crash:
            for engine, url, drop in engines(directory, "crash"):
                try:
                    output["databases"].setdefault(engine, {})["crash"] = crash_run(url, directory, learners, args.course)
                finally:
                    drop()
    output["passed"] = all(run["passed"] for runs in output["databases"].values() for run in runs.values())
    print(json.dumps(output, indent=2))
    return 0 if output["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
