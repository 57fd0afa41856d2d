"""The `lms` console script and the production server, run as a person would run them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run_lms(*args: str, env: dict, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lms"), *args], env=env, input=input, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_env(tmp_path):
    return {**os.environ, "LMS_ENV": "development", "LMS_SECRET_KEY": "cli-test",
            "LMS_DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'cli.sqlite3'}"}


def test_db_upgrade_demo_and_users_create(cli_env):
    upgraded = run_lms("db", "upgrade", env=cli_env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in upgraded.stdout

    first = run_lms("demo", env=cli_env)
    assert first.returncode == 0, first.stderr
    for email in ["admin@example.org", "orgadmin@example.org", "champion@example.org", "trainer@example.org", "learner@example.org"]:
        assert email in first.stdout
    again = run_lms("demo", env=cli_env)
    assert again.returncode == 0 and again.stdout == first.stdout  # idempotent
    # Demo people have not completed anything, so nothing is about to expire.
    due = run_lms("reminders", "send-due", env=cli_env)
    assert due.returncode == 0 and "Reminders sent: 0; failed: 0." in due.stdout, due.stderr
    # Everyone signed in today (the demo was just made), so retention has nothing to erase.
    kept = run_lms("retention", "apply", "--dry-run", env=cli_env)
    assert kept.returncode == 0 and "Would erase 0 account(s): none" in kept.stdout, kept.stderr
    assert "Accounts unused for: 1095 days" in kept.stdout
    assert run_lms("retention", "apply", env={**cli_env, "LMS_RETAIN_AUDIT_DAYS": "soon"}).returncode != 0

    created = run_lms("users", "create", "--email", "New.Person@Example.org", "--name", "New Person",
                      "--organisation", "Northmoor Borough Council", "--role", "champion",
                      env=cli_env, input="a-long-password\na-long-password\n")
    assert created.returncode == 0, created.stderr
    assert "new.person@example.org (champion in Northmoor Borough Council)" in created.stdout

    duplicate = run_lms("users", "create", "--email", "new.person@example.org", "--name", "Again", "--password", "a-long-password", env=cli_env)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    short = run_lms("users", "create", "--email", "x@example.org", "--name", "X", "--password", "short", env=cli_env)
    assert short.returncode != 0 and "at least 10" in short.stderr
    unknown = run_lms("users", "create", "--email", "y@example.org", "--name", "Y", "--password", "a-long-password",
                      "--organisation", "Nowhere", env=cli_env)
    assert unknown.returncode != 0 and "No organisation called" in unknown.stderr

    counted = subprocess.run([sys.executable, "-c", (
        "from lms import create_app, db\nfrom lms.models import User, Membership\nfrom sqlalchemy import select, func\n"
        "app = create_app()\nwith app.app_context():\n s = db.get_session()\n"
        " print(s.scalar(select(func.count()).select_from(User)), s.scalar(select(func.count()).select_from(Membership)))")],
        env=cli_env, capture_output=True, text=True, timeout=60)
    assert counted.stdout.split() == ["9", "9"], counted.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_app_in_production_mode(cli_env):
    assert run_lms("db", "upgrade", env=cli_env).returncode == 0
    port = free_port()
    env = {**cli_env, "LMS_ENV": "production", "LMS_BASE_URL": "https://training.example.org"}
    server = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "lms:create_app()"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    assert b'"database":"ok"' in response.read().replace(b" ", b"")
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2) as response:
                    cookie = response.headers.get("Set-Cookie") or ""
                    assert "Strict-Transport-Security" in response.headers
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(f"gunicorn did not serve: {server.stdout.read() if server.poll() is not None else ''}")
                time.sleep(0.3)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_tools_that_sign_nothing_run_without_the_secret_key_in_production(tmp_path):
    """Template designers and translators run these on their own machines, in production mode."""
    env = {key: value for key, value in os.environ.items() if key != "LMS_SECRET_KEY"}
    env.update(LMS_ENV="production", LMS_DATABASE_URL=f"sqlite:///{tmp_path / 'none.sqlite3'}")
    checked = run_lms("courses", "check", env=env)
    assert checked.returncode == 0 and "ok " in checked.stdout, checked.stderr
    status = run_lms("translations", "status", env=env)
    assert status.returncode == 0 and "interface" in status.stdout, status.stderr
    drawn = run_lms("certificate", "render", "--course", "wrap", "--name", "Amina Khan", "--out", str(tmp_path / "c.pdf"), env=env)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    # Serving still needs the secret.
    served = run_lms("run", "--port", "1", env=env)
    assert served.returncode != 0 and "LMS_SECRET_KEY must be set in production" in served.stderr
    # And the public address that emailed links point to.
    env.pop("LMS_BASE_URL", None)
    for command in (("run", "--port", "1"), ("reminders", "send-due")):
        stopped = run_lms(*command, env={**env, "LMS_SECRET_KEY": "a-production-secret"})
        assert stopped.returncode != 0 and "LMS_BASE_URL must be set in production" in stopped.stderr, command
        assert "Traceback" not in stopped.stderr


def test_commands_about_records_ask_for_an_upgrade_first_on_a_new_database(cli_env, tmp_path):
    (tmp_path / "instance").mkdir()
    env = {**cli_env, "LMS_BASE_URL": "https://training.example.org", "LMS_XAPI_URL": "http://127.0.0.1:9/xAPI"}
    for args in (["retention", "apply", "--dry-run"], ["retention", "clean-copies"], ["xapi", "send"],
                 ["reminders", "send-due"]):
        refused = run_lms(*args, env=env)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "run `lms db upgrade` first" in refused.stderr and "Traceback" not in refused.stderr, args
    unreachable = run_lms("retention", "apply", env={**env, "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/none/x.sqlite3"})
    assert unreachable.returncode == 1 and "The database cannot be opened" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
