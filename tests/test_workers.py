"""The app as it is deployed: gunicorn with several worker processes. The sign-in limit is
shared by the workers through Redis, a per-process limit is warned about at start-up, and a
reduced form of the load benchmark (bench/load.py) holds on SQLite and PostgreSQL."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, database_url: str, tmp_path: Path, workers: int, **env):
        self.port = _free_port()
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        settings = {"LMS_ENV": "production", "LMS_SECRET_KEY": "workers-test-" + "k" * 32,
                    "LMS_BASE_URL": "http://127.0.0.1",
                    "LMS_DATABASE_URL": database_url, "LMS_SECURE_COOKIES": "0",
                    "LMS_CERTIFICATE_CACHE_DIR": str(tmp_path / "certificates"), "LMS_BATCH_DIR": str(tmp_path / "b"),
                    "LMS_COURSE_PATHS": str(ROOT / "tests" / "fixtures" / "courses"), **env}
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "--capture-output",
             "--error-logfile", str(self.log), "lms:create_app()"],
            cwd=ROOT, env={**os.environ, **settings}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start")

    def request(self, method: str, path: str, fields: dict | None = None, cookies: dict | None = None):
        status, body = self.request_bytes(method, path, fields, cookies)
        return status, body.decode()

    def request_bytes(self, method: str, path: str, fields: dict | None = None, cookies: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if cookies is not None:
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def stop(self) -> str:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture
def sqlite_url(database_url, demo):
    if not database_url.startswith("sqlite"):
        pytest.skip("one engine is enough for the limiter")
    return database_url


def _failed_sign_ins(server: Server, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        cookies: dict = {}
        _, page = server.request("GET", "/sign-in", cookies=cookies)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = server.request("POST", "/sign-in", {"csrf_token": token, "email": "learner@example.org",
                                                         "password": "wrong-password"}, cookies=cookies)
        statuses.append(status)
    return statuses


@pytest.mark.skipif(not REDIS_URL, reason="LMS_TEST_REDIS_URL is not set")
def test_four_workers_share_one_sign_in_count_through_redis(sqlite_url, tmp_path):
    """Each request may land on any of the four workers; the 4th failure is refused all the same."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # no counts left from an earlier run
    server = Server(sqlite_url, tmp_path, 4, LMS_RATELIMIT_STORAGE_URI=REDIS_URL, LMS_SIGN_IN_RATE_LIMIT="3 per minute")
    try:
        statuses = _failed_sign_ins(server, 6)
    finally:
        log = server.stop()
    assert statuses == [400, 400, 400, 429, 429, 429], log[-2000:]
    assert "memory://" not in log


def test_per_process_limits_are_warned_about_at_start_up(sqlite_url, tmp_path):
    server = Server(sqlite_url, tmp_path, 2, LMS_RATELIMIT_STORAGE_URI="memory://")
    try:
        status, _ = server.request("GET", "/sign-in")
    finally:
        log = server.stop()
    assert status == 200
    assert "LMS_RATELIMIT_STORAGE_URI is memory://" in log
    assert "Set LMS_RATELIMIT_STORAGE_URI=redis://" in log


def test_forty_learners_at_once_lose_nothing_and_see_no_server_error():
    """The reduced load benchmark: 40 learners through the whole course at the same moment
    against gunicorn with 4 workers, on SQLite (and PostgreSQL when LMS_TEST_POSTGRES_URL is set)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--learners", "40", "--no-crash"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = json.loads(result.stdout)
    for engine, runs in output["databases"].items():
        load = runs["load"]
        assert load["server_errors"] == 0, (engine, load["server_error_examples"])
        assert load["learners_finished"] == 40, (engine, load)
        assert load["lost_count"] == 0, (engine, load["lost_acknowledged_writes"])
        assert load["duplicate_completions"] == load["duplicate_certificates"] == 0
        assert load["database_is_locked_in_log"] == 0
    assert output["passed"], result.stderr[-3000:]


def test_a_room_of_phones_checks_in_without_a_server_error_or_a_lost_name():
    """The check-in benchmark, reduced: 20 phones within 5 seconds against gunicorn with 4 workers.
    Its timing target (p99 under 300 ms) is for `make bench`, on a quiet machine."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "check_in.py"), "--phones", "20", "--window", "5"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = json.loads(result.stdout)
    assert output["databases"], result.stderr[-3000:]
    for engine, run in output["databases"].items():
        assert run["server_errors"] == 0 and run["connection_errors"] == 0, (engine, run["server_error_examples"])
        assert run["on_register"] == 20 and not run["lost"] and not run["on_register_twice"], (engine, run)
        assert run["learners_finished"] == 20, (engine, run)
        assert run["database_is_locked_in_log"] == 0


def test_an_open_course_in_urdu_and_punjabi_stays_light_on_a_first_visit():
    """The open-course weight benchmark for two of its heaviest languages: the whole course under
    150 KB on the wire, no page over 40 KB with what it loads, from gunicorn."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "open_course_weight.py"),
                             "--language", "ur", "--language", "pa"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    output = json.loads(result.stdout)
    assert [row["language"] for row in output["by_language"]] == ["ur", "pa"]
    for row in output["by_language"]:
        assert row["total_bytes"] < 150 * 1024 and row["heaviest_page"]["first_visit_bytes"] < 40 * 1024, row
        assert row["requests"] == 24  # the stylesheet and the quiz's script once each, not per page
    assert output["tracebacks_in_log"] == 0
