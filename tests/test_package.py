"""The deploy path as a council's IT team takes it: a wheel built from a copy of the checkout,
installed into a fresh virtualenv in another folder, run with no checkout in sight. The
commands are the README's "Deploying with PostgreSQL" block, with its folders swapped for
temporary ones; the test fails if the README and the commands it runs part ways."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import brotli
import pytest

from tests.conftest import empty_postgres_database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("LMS_TEST_POSTGRES_URL")
WHEEL = "prevent_lms-0.1.0-py3-none-any.whl"
# The README's folders, and what this test uses instead.
README_BUILD_VENV, README_VENV, README_DATA = "/tmp/lms-build", "/opt/prevent-lms", "/var/lib/prevent-lms"
BUILD = f"python3 -m venv {README_BUILD_VENV} && {README_BUILD_VENV}/bin/pip wheel --no-deps --wheel-dir dist ."
INSTALL = f"python3 -m venv {README_VENV} && {README_VENV}/bin/pip install dist/{WHEEL}"
SERVE = f"{README_VENV}/bin/gunicorn -c python:lms.gunicorn_config --bind 127.0.0.1:8000 'lms:create_app()'"
LEFT_BEHIND = shutil.ignore_patterns(".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__",
                                     "*.mo", ".pytest_cache", ".hypothesis", "test-results")


def readme_deploy_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deploying with PostgreSQL", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def shell(command: str, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(command, shell=True, cwd=cwd, env=env or os.environ.copy(), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the fresh virtualenv, a folder that is not the checkout) after the README's build and install."""
    base = tmp_path_factory.mktemp("deploy")
    checkout, build_venv, venv = base / "checkout", base / "lms-build", base / "prevent-lms"
    shutil.copytree(ROOT, checkout, ignore=LEFT_BEHIND)  # a clean clone: no .venv, no compiled catalogues
    shell(BUILD.replace(README_BUILD_VENV, str(build_venv)), cwd=checkout)
    shell(INSTALL.replace(README_VENV, str(venv)), cwd=checkout)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(checkout)  # the app host has the wheel's contents and nothing else
    return venv, elsewhere


def test_the_readme_deploys_with_the_commands_this_test_runs():
    block = readme_deploy_block()
    for command in (BUILD, INSTALL, SERVE, f"{README_VENV}/bin/lms db upgrade", f"{README_VENV}/bin/lms courses list",
                    f"export LMS_INSTANCE_DIR={README_DATA}"):
        assert command in block, command


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'lms.sqlite3'}"
        return
    with empty_postgres_database("lms_deploy") as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_installed_wheel_migrates_lists_courses_draws_certificates_and_serves_urdu(installed, empty_database,
                                                                                       tmp_path):
    venv, elsewhere = installed
    data = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LMS_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(LMS_INSTANCE_DIR=str(data), LMS_DATABASE_URL=empty_database)

    where = shell(f"{venv}/bin/python -c 'import lms, lms.config as c; print(lms.__file__); print(c.SHIPPED_ROOT)'",
                  cwd=elsewhere, env=env).stdout.split()
    assert all(line.startswith(str(venv)) for line in where), where

    # Commands that sign nothing need no secret, in production mode.
    listed = shell(f"{venv}/bin/lms courses list", cwd=elsewhere, env=env).stdout
    assert len(re.findall(r"^\S+  \d", listed, re.M)) == 3, listed
    preview = tmp_path / "preview.pdf"
    shell(f"{venv}/bin/lms certificate render --course wrap --name 'Amina Yusuf' --lang ur --out {preview}",
          cwd=elsewhere, env=env)
    assert preview.read_bytes().startswith(b"%PDF") and preview.stat().st_size > 10_000

    env["LMS_SECRET_KEY"] = "deploy-test-" + "k" * 32
    env["LMS_BASE_URL"] = "https://training.example.org"  # as the README's deploy section sets them
    upgraded = shell(f"{venv}/bin/lms db upgrade", cwd=elsewhere, env=env)
    assert "up to date" in upgraded.stdout
    demo = shell(f"{venv}/bin/lms demo", cwd=elsewhere, env=env)
    assert "learner@example.org" in demo.stdout

    port = free_port()
    serve = SERVE.replace(README_VENV, str(venv)).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    server = subprocess.Popen(f"exec {serve} --workers 2", shell=True, cwd=elsewhere, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        ready = wait_for(f"http://127.0.0.1:{port}/readyz", server)
        assert '"catalogue":"ok"' in ready.replace(" ", "") and '"courses":3' in ready.replace(" ", "")
        urdu = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/",
                                                             headers={"Accept-Language": "ur"}), timeout=30)
        page = urdu.read().decode()
        assert '<html lang="ur" dir="rtl">' in page
        assert "تربیت" in page  # "training", from the compiled Urdu catalogue in the wheel
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=30).status == 200
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
        # Named by its content, kept a year, and sent compressed: the installed copy needs no build step.
        assert re.fullmatch(r"/static/lms\.[0-9a-f]{12}\.css", stylesheet), stylesheet
        css = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{stylesheet}",
                                                            headers={"Accept-Encoding": "br"}), timeout=30)
        assert css.status == 200 and css.headers["Content-Encoding"] == "br"
        assert "immutable" in css.headers["Cache-Control"] and "max-age=31536000" in css.headers["Cache-Control"]
        assert brotli.decompress(css.read()) == (Path(where[0]).parent / "static" / "lms.css").read_bytes()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors[-3000:]

    # This site's files went where LMS_INSTANCE_DIR says, and nothing was written into the package.
    assert preview.exists() and data.is_dir()
    package = Path(where[0]).parent
    assert not [path for path in package.rglob("*")
                if path.suffix in {".sqlite3", ".pdf", ".br", ".gz"} or path.name == "secret_key"]
    assert list((data / "static").rglob("lms.*.css.br"))  # the compressed copies, in this site's folder


def test_without_a_setting_the_installed_copy_keeps_its_files_beside_the_virtualenv(installed):
    venv, elsewhere = installed
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LMS_", "PYTHON", "VIRTUAL_ENV"))}
    env["LMS_ENV"] = "development"
    shell(f"{venv}/bin/lms db upgrade", cwd=elsewhere, env=env)
    assert (venv / "var" / "prevent-lms" / "lms.sqlite3").exists()
    assert (venv / "var" / "prevent-lms" / "secret_key").exists()
    assert not list(elsewhere.iterdir())


def test_a_missing_secret_stops_the_installed_server_with_one_line_naming_it(installed, tmp_path):
    venv, elsewhere = installed
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LMS_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(LMS_INSTANCE_DIR=str(tmp_path), LMS_DATABASE_URL=f"sqlite:///{tmp_path / 'lms.sqlite3'}")
    serve = SERVE.replace(README_VENV, str(venv)).replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}")
    stopped = subprocess.run(serve, shell=True, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode != 0
    assert "LMS_SECRET_KEY must be set in production." in stopped.stderr
    assert "Traceback" not in stopped.stderr


def wait_for(url: str, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {server.stderr.read()[-3000:]}")
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within 60 s")
