"""A room of phones checking in to a session: 60 walk-ins within 30 seconds, each opening
the check-in page from the QR code, sending a name and then answering the questions before
the session, against gunicorn with 4 workers, on SQLite and (with LMS_TEST_POSTGRES_URL)
PostgreSQL. Prints one JSON object.

Passes when: no 5xx, every acknowledged check-in is on the register (none lost, none twice),
every acknowledged set of answers is kept once, and the 99th percentile of the check-in
requests is under 300 ms.

    python bench/check_in.py --quick
Exit status 1 when any check fails.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import Browser, Record, Stop, all_at_once, engines, server_env, start_gunicorn, stop, summary  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402

P99_TARGET_MS = 300


def prepare(url: str) -> tuple[str, int]:
    """A migrated database with one organisation and a session running now; its code, and how
    many learning outcomes its course has."""
    from lms import create_app, db
    from lms.db import utcnow
    from lms.migrate import upgrade
    from lms.models import Workshop
    from lms.people import services as people
    from lms.workshops.register import display_code

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LMS_ENV": "development"})
    course = app.extensions["lms.catalogue"].all()[0]
    with app.app_context():
        session = db.get_session()
        organisation = people.create_organisation(session, "Bench Community Association")
        workshop = Workshop(organisation_id=organisation.id, course_id=course.id, language="en",
                            starts_at=utcnow() - timedelta(minutes=5), ends_at=utcnow() + timedelta(hours=2),
                            venue="Bench Hall")
        session.add(workshop)
        session.commit()
        code = display_code(workshop.check_in_code)
    app.extensions["lms.engine"].dispose()
    return code, len(course.learning_outcomes())


def phone(port: int, code: str, outcomes: int, name: str, delay: float, record: Record, acknowledged: list,
          answered: list) -> None:
    time.sleep(delay)
    browser = Browser(port, record)
    try:
        _, _, page = browser.request("check-in page", "GET", f"/check-in/{code}")
        browser.request("check in", "POST", f"/check-in/{code}",
                        {"csrf_token": browser.token(page), "name": name, "email": "", "consent": "y"}, expect=(302,))
        with record.lock:
            acknowledged.append(name)
        _, _, page = browser.request("checked-in page", "GET", f"/check-in/{code}")
        if f"You are checked in as {name}." not in page.decode():
            raise Stop("the confirmation does not name the person")
        _, _, page = browser.request("questions before", "GET", f"/check-in/{code}/before")
        ratings = {f"outcome_{index}": str(1 + (index + len(name)) % 5) for index in range(outcomes)}
        browser.request("answer before", "POST", f"/check-in/{code}/before",
                        {"csrf_token": browser.token(page), **ratings, "comment": f"Hoping to learn, {name}"},
                        expect=(302,))
        with record.lock:
            answered.append(name)
        with record.lock:
            record.finished += 1
    except Stop:
        pass


def _open_page(port: int, code: str, record: Record) -> None:
    try:
        Browser(port, record).request("warm-up", "GET", f"/check-in/{code}")
    except Stop:
        pass


def run(url: str, directory: Path, phones: int, window: float) -> dict:
    from lms.models import Attendance, EvaluationResponse

    code, outcomes = prepare(url)
    log = directory / f"{url.split(':')[0].split('+')[0]}-check-in.log"
    process, port = start_gunicorn("lms:create_app()", server_env(url, directory), log)
    # A server has usually been up for a while when a session starts: each worker's first page
    # (compiling templates, loading the catalogues) is measured apart, as the warm-up.
    warm_up = Record()
    all_at_once([functools.partial(_open_page, port, code, warm_up) for _ in range(4 * 4)])
    record, acknowledged, answered = Record(), [], []
    rng = random.Random(7)
    names = [f"Attendee {number:02d}" for number in range(phones)]
    try:
        seconds = all_at_once([functools.partial(phone, port, code, outcomes, name, rng.uniform(0, window), record,
                                                 acknowledged, answered) for name in names])
    finally:
        stop(process)
    engine = create_engine(url)
    with engine.connect() as connection:
        on_register = connection.execute(select(Attendance.name)).scalars().all()
        answers = connection.execute(select(EvaluationResponse.comment)).scalars().all()
    engine.dispose()
    result = summary(record, seconds)
    check_ins = sorted(record.timings["check-in page"] + record.timings["check in"])
    p99 = check_ins[min(len(check_ins) - 1, int(len(check_ins) * 0.99))] if check_ins else None
    lost = sorted(set(acknowledged) - set(on_register))
    kept_answers = [comment.removeprefix("Hoping to learn, ") for comment in answers]
    answers_lost = sorted(set(answered) - set(kept_answers))
    answers_twice = sorted({name for name in kept_answers if kept_answers.count(name) > 1})
    twice = sorted({name for name in on_register if on_register.count(name) > 1})
    result.update({"warm_up_p99_ms": summary(warm_up, 1)["steps"]["warm-up"]["p99_ms"], "phones": phones, "window_seconds": window, "check_in_p99_ms": round(p99, 1) if p99 else None,
                   "on_register": len(on_register), "lost": lost, "on_register_twice": twice,
                   "answers_kept": len(answers), "answers_lost": answers_lost, "answers_twice": answers_twice,
                   "database_is_locked_in_log": log.read_text(errors="replace").count("database is locked")})
    result["passed"] = (result["server_errors"] == 0 and result["connection_errors"] == 0 and not lost and not twice
                        and not answers_lost and not answers_twice and len(answers) == phones
                        and result["learners_finished"] == phones and p99 is not None and p99 < P99_TARGET_MS)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the standard run (for `make bench`)")
    parser.add_argument("--phones", type=int, default=60)
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which the phones arrive")
    args = parser.parse_args()
    output = {"benchmark": "check_in", "workers": 4, "cpus": os.cpu_count(), "databases": {}}
    with tempfile.TemporaryDirectory() as folder:
        for engine, url, drop in engines(Path(folder), "check-in"):
            try:
                output["databases"][engine] = run(url, Path(folder), args.phones, args.window)
            finally:
                drop()
    output["passed"] = all(result["passed"] for result in output["databases"].values())
    print(json.dumps(output, indent=2))
    return 0 if output["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
