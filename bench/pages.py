"""Server time and SQL query count of the main pages, and how the organisation page
scales from 10 to 1,000 members. Prints one JSON object.

    python bench/pages.py --quick
    LMS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/pages.py --quick
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from lms import create_app, db  # noqa: E402
from lms.demo import load_demo  # noqa: E402
from lms.migrate import upgrade  # noqa: E402
from lms.models import Membership, Organisation, User  # noqa: E402
from lms.people import passwords  # noqa: E402
from lms.querycount import count_queries  # noqa: E402

PAGES = {
    "learner@example.org": ["/", "/account"],
    "orgadmin@example.org": ["/", "/org/1", "/org/1/invite"],
    "admin@example.org": ["/admin/organisations"],
}


def sqlite_url(directory: str) -> str:
    return f"sqlite:///{directory}/bench.sqlite3"


def postgres_url(server_url: str) -> tuple[str, callable]:
    server = make_url(server_url)
    name = f"lms_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def signed_in_client(app, email: str):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"csrf_token": token, "email": email, "password": "demo-password"})
    assert response.status_code == 302, response.status_code
    return client


def measure(app, client, path: str, repeats: int) -> dict:
    engine = app.extensions["lms.engine"]
    timings = []
    for _ in range(repeats):
        with count_queries(engine) as statements:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {"median_ms": round(statistics.median(timings), 2), "queries": len(statements), "bytes": len(response.data)}


def add_members(app, organisation_id: int, count: int) -> None:
    with app.app_context():
        session = db.get_session()
        start = session.query(User).count()
        for number in range(start, start + count):
            user = User(email=f"bench{number}@example.org", name=f"Bench Person {number}", password_hash="x")
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, organisation_id=organisation_id, role="learner"))
        session.commit()


def run(url: str, repeats: int) -> dict:
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LMS_ENV": "development", "MAIL_OUTBOX": [],
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        session = db.get_session()
        load_demo(session)
        session.commit()
    result: dict = {"pages": {}}
    for email, paths in PAGES.items():
        client = signed_in_client(app, email)
        for path in paths:
            result["pages"][f"{email.split('@')[0]} {path}"] = measure(app, client, path, repeats)

    admin = signed_in_client(app, "orgadmin@example.org")
    scaling = {}
    with app.app_context():
        organisation_id = db.get_session().query(Organisation).filter_by(name="Northmoor Borough Council").one().id
    members = 5
    for target in (10, 1000):
        add_members(app, organisation_id, target - members)
        members = target
        scaling[str(target)] = measure(app, admin, f"/org/{organisation_id}", max(3, repeats // 4))
    result["organisation_page_by_members"] = scaling
    result["organisation_page_queries_flat"] = scaling["10"]["queries"] == scaling["1000"]["queries"]
    app.extensions["lms.engine"].dispose()
    return result


def run_benchmark(name: str, run, *, description: str, quick_repeats: int, full_repeats: int) -> None:
    """Parse --quick, run on SQLite and (with LMS_TEST_POSTGRES_URL) on a throwaway PostgreSQL
    database, and print one JSON object: shared by every benchmark here."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for CI and `make bench`")
    args = parser.parse_args()
    repeats = quick_repeats if args.quick else full_repeats
    passwords.HASH_METHOD = "pbkdf2:sha256:1000"  # sign-in speed is not what is measured here
    output = {"benchmark": name, "repeats": repeats, "databases": {}}
    with tempfile.TemporaryDirectory() as directory:
        output["databases"]["sqlite"] = run(sqlite_url(directory), repeats)
    if os.environ.get("LMS_TEST_POSTGRES_URL"):
        url, drop = postgres_url(os.environ["LMS_TEST_POSTGRES_URL"])
        try:
            output["databases"]["postgresql"] = run(url, repeats)
        finally:
            drop()
    print(json.dumps(output, indent=2))


def main() -> None:
    run_benchmark("pages", run, description=__doc__, quick_repeats=10, full_repeats=50)


if __name__ == "__main__":
    main()
