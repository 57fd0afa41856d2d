"""How many requests a second the signed-in pages take, against a bare Flask app served the
same way in the same run. Prints one JSON object.

Both are served by gunicorn with 2 workers and the package's settings
(`-c python:lms.gunicorn_config`, production mode); wrk drives each page with 32 connections
for a fixed time and reports requests per second, p50 and p99 latency and how many answers
were not 200. Requests carry `Accept-Encoding: gzip, deflate, br`, as browsers send it, so the
app's compression is part of the cost (`--no-compression` leaves it out). The pages, each asked
for by real signed-in sessions (one cookie a simulated user, as the browser holds it after the
first page):

- lesson:     every lesson of every course, by 32 learners (a quarter read in another language);
- my_courses: /courses, by the same learners;
- dashboard:  the reports dashboard of an organisation of 10,000 people in 50 teams, by 32
              Prevent Champions who each look after every team (so each sees all 10,000);
- dashboard_one_team: the same page, by 32 champions of one team each (about 200 people).

The database holds the demo data and that organisation, each person with completions (some
in date, some due a refresher, some expired) and lessons read, as bench/dashboard.py builds
it. The bare app is measured before and after each database's pages; ratio_to_bare is against
the mean of the two. cpu_ratio_to_bare is the same ratio from the workers' CPU time a request,
which moves far less when other work shares the machine. From the lesson-page rate it works
out how many learners one app core carries, and says on what assumption.

    python bench/capacity.py --quick     # 10 s a page; both engines if LMS_TEST_POSTGRES_URL is set
    python bench/capacity.py             # 30 s a page
    python bench/capacity.py --quick --sqlite-only --pages lesson,my_courses
Needs wrk (Debian package `wrk`; `make bench` installs it). Exit status 1 when any answer
was not a 200, wrk lost a connection or the server logged a traceback; the ratio goals are
reported, not enforced, because on a shared machine they move with whatever else is running.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text, update  # noqa: E402

from dashboard import World  # noqa: E402
from load import Browser, Record, Stop, engines, server_env, start_gunicorn, stop  # noqa: E402

from lms import db  # noqa: E402
from lms.demo import load_demo  # noqa: E402
from lms.models import ChampionedTeam, Membership, User  # noqa: E402
from lms.people import passwords  # noqa: E402

WORKERS = 2
PAGES = ("lesson", "my_courses", "dashboard", "dashboard_one_team")
CONNECTIONS = 32
SESSIONS = 32          # signed-in learners, and as many champions
PEOPLE = 10_000
PASSWORD = "capacity-password-1"
CONFIG = "python:lms.gunicorn_config"
# Goals from issue 13: a page's requests per second as a share of the bare app's.
GOALS = {"lesson": {"ratio": 0.25, "p99_ms": 100}, "dashboard": {"ratio": 0.15}}
# Requests a learner sends for each lesson read: the page, and "Mark as read and continue"
# (whose redirect is the next lesson's page, counted with that lesson).
REQUESTS_PER_LESSON = 2

# wrk's script: each request is the next (path, cookie) pair from a file, so the connections
# take turns among the signed-in users and pages; every answer that is not a 200 is counted
# (a lost session is a 302 to the sign-in page, which wrk alone would count as a success).
WRK_SCRIPT = r"""
local threads = {}
local created = 0

function setup(thread)
  thread:set("number", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  prepared = {}
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]*)\t(.*)$")
    -- What a browser sends: the app compresses pages for it, and that is part of the cost
    -- (unless the run is told to leave compression out, as a compressing proxy in front would).
    local headers = {}
    if args[2] ~= "identity" then headers["Accept-Encoding"] = "gzip, deflate, br" end
    if cookie ~= "" then headers["Cookie"] = cookie end
    table.insert(prepared, wrk.format("GET", path, headers))
  end
  position = (number * 7919) % #prepared
  non200 = 0
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non200": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, refused, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    """How every page of a run is driven."""

    directory: Path
    seconds: int
    warm_up: int
    compressed: bool = True  # ask for compressed pages, as browsers do


def log(message: str) -> None:
    print(f"[capacity] {message}", file=sys.stderr, flush=True)


# --- the database -------------------------------------------------------------------------

def prepare(url: str, people: int):
    """The demo data and an organisation of `people` in 50 teams; 32 of them learners with a
    password, 32 more made champions of every team. Returns what the load needs."""
    world = World(url)
    app = world.app
    catalogue = app.extensions["lms.catalogue"]
    with app.app_context():
        session = db.get_session()
        load_demo(session, catalogue.all())  # again, with the courses: requirements and sessions
        session.commit()
    organisation_id, team_ids = world.organisation("Capacity County Council")
    world.add_people(organisation_id, team_ids, people)
    password_hash = passwords.hash_password(PASSWORD)
    with app.app_context():
        session = db.get_session()
        languages = [code for code in ("ur", "pl", "bn", "ar", "pa", "ro") if any(
            code in course.languages for course in catalogue.all())]
        members = session.execute(
            select(Membership.id, Membership.user_id, Membership.team_id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organisation_id == organisation_id, Membership.role == "learner")
            .order_by(Membership.id).limit(3 * SESSIONS)).all()
        learners, champions = members[:SESSIONS], members[SESSIONS:2 * SESSIONS]
        team_champions = members[2 * SESSIONS:]
        for number, (_membership_id, user_id, _team_id, _email) in enumerate(learners):
            # Most read in English; every fourth in one of the course languages, in turn.
            language = languages[(number // 4) % len(languages)] if number % 4 == 3 and languages else "en"
            session.execute(update(User).where(User.id == user_id)
                            .values(password_hash=password_hash, preferred_language=language))
        for membership_id, user_id, team_id, _email in champions:
            session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
            session.execute(update(Membership).where(Membership.id == membership_id).values(role="champion"))
            session.execute(insert(ChampionedTeam), [{"membership_id": membership_id, "team_id": other}
                                                     for other in team_ids if other != team_id])
        for membership_id, user_id, _team_id, _email in team_champions:
            session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
            session.execute(update(Membership).where(Membership.id == membership_id).values(role="champion"))
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            # As autovacuum soon would: without fresh statistics the planner misjudges the
            # champions' team lists, and the first run would measure a plan production never gets.
            session.execute(text("ANALYZE"))
            session.commit()
    courses = catalogue.all()
    lessons = [f"/courses/{course.id}/lessons/{slug}" for course in courses for slug in course.module_slugs]
    reading = [module.reading_minutes for course in courses for module in course.modules["en"].values()]
    app.extensions["lms.engine"].dispose()
    return {"organisation_id": organisation_id, "learners": [row.email for row in learners],
            "champions": [row.email for row in champions], "team_champions": [row.email for row in team_champions],
            "lessons": lessons, "reading_minutes": reading,
            "lessons_per_course": sum(len(course.module_slugs) for course in courses) / len(courses),
            "sign_in_seconds": _sign_in_seconds(password_hash)}


def _sign_in_seconds(password_hash: str) -> float:
    """CPU time of one password check at the production cost (the median of five)."""
    timings = []
    for _ in range(5):
        started = time.process_time()
        passwords.check_password(password_hash, PASSWORD)
        timings.append(time.process_time() - started)
    return sorted(timings)[2]


# --- signing in and the load generator ----------------------------------------------------

def sign_in(port: int, emails: list[str]) -> list[str]:
    """A real session for each person, through the sign-in form; their Cookie headers."""
    record = Record()
    cookies: dict[str, str] = {}

    def one(email: str) -> None:
        browser = Browser(port, record)
        _, _, page = browser.request("sign-in page", "GET", "/sign-in")
        browser.request("sign in", "POST", "/sign-in",
                        {"csrf_token": browser.token(page), "email": email, "password": PASSWORD}, expect=(302,))
        # The first page after signing in adds the session's form token to the cookie; a browser
        # keeps the cookie it is given, so every later page finds its token there.
        browser.request("home page", "GET", "/")
        cookies[email] = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())

    pending = list(emails)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                email = pending.pop()
            one(email)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = [email for email in emails if email not in cookies]
    if missing:
        raise Stop(f"could not sign in {len(missing)} people, e.g. {missing[0]}")
    return [cookies[email] for email in emails]


def request_list(paths: list[str], cookies: list[str]) -> list[tuple[str, str]]:
    """Each path with each cookie in turn, long enough that every cookie and path recurs."""
    length = math.lcm(len(paths), len(cookies))
    return [(paths[number % len(paths)], cookies[number % len(cookies)]) for number in range(length)]


def check_pages(port: int, requests: list[tuple[str, str]], marker: str) -> None:
    """Every (path, cookie) answers 200 with the signed-in page, before any is timed."""
    import http.client

    for path, cookie in requests:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        if response.status != 200 or marker not in body:
            raise Stop(f"{path} answered {response.status} without {marker!r} before the load")
        if response.getheader("Set-Cookie"):
            # The cookie would change on every request, and the load would measure a session
            # no browser keeps.
            raise Stop(f"{path} set a new cookie for a session that had already been used")


def worker_cpu_seconds(master: int) -> float:
    """User and system CPU time of the master's children (the workers) so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wrk(port: int, requests: list[tuple[str, str]], seconds: int, run: Run, name: str,
        master: int | None = None) -> dict:
    script = run.directory / "capacity.lua"
    script.write_text(WRK_SCRIPT)
    listing = run.directory / f"{name}.requests"
    listing.write_text("".join(f"{path}\t{cookie}\n" for path, cookie in requests))
    before_children = os.times()
    before_workers = worker_cpu_seconds(master) if master else None
    finished = subprocess.run(
        ["wrk", "--threads", "2", "--connections", str(CONNECTIONS), "--duration", f"{seconds}s",
         "--timeout", "30s", "--script", str(script), f"http://127.0.0.1:{port}", "--", str(listing),
         "browser" if run.compressed else "identity"],
        capture_output=True, text=True, check=True)
    after_children = os.times()
    found = re.search(r"^WRK-JSON (\{.*\})$", finished.stdout, re.MULTILINE)
    if not found:
        raise RuntimeError(f"wrk said nothing we could read: {finished.stdout[-2000:]} {finished.stderr[-2000:]}")
    raw = json.loads(found.group(1))
    elapsed = raw["duration_us"] / 1e6

    def milliseconds(key: str) -> float | None:
        # With no answer in the time (a page slower than the run), there is no latency to give.
        return round(raw[key] / 1000, 1) if raw["requests"] else None

    result = {
        "requests": raw["requests"], "seconds": round(elapsed, 2),
        "requests_per_second": round(raw["requests"] / elapsed, 1),
        "p50_ms": milliseconds("p50_us"), "p90_ms": milliseconds("p90_us"),
        "p99_ms": milliseconds("p99_us"), "max_ms": milliseconds("max_us"),
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else None,
        "non_200": raw["non200"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        # The generator's own CPU, as a share of the machine: it must leave the server room.
        "generator_cpu_share": round((after_children.children_user + after_children.children_system
                                      - before_children.children_user - before_children.children_system)
                                     / elapsed / os.cpu_count(), 3),
    }
    if master:
        cpu = worker_cpu_seconds(master) - before_workers
        result["server_cpu_ms_per_request"] = round(1000 * cpu / raw["requests"], 3) if raw["requests"] else None
    return result


def wait_until_idle(master: int, timeout: float = 120) -> None:
    """gunicorn still answers connections wrk left queued when it stopped; the next run must not
    pay for them (a slow page would otherwise be charged for the previous run's backlog)."""
    deadline = time.monotonic() + timeout
    last = worker_cpu_seconds(master)
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        now = worker_cpu_seconds(master)
        quiet = quiet + 1 if now - last < 0.02 else 0
        last = now


def drive(port: int, requests: list[tuple[str, str]], run: Run, name: str, master: int) -> dict:
    """A short run to warm both workers (templates, caches, connections), then the timed one."""
    wrk(port, requests, run.warm_up, run, name)
    wait_until_idle(master)
    result = wrk(port, requests, run.seconds, run, name, master)
    wait_until_idle(master)
    log(f"{name}: {result['requests_per_second']} requests/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"{result['non_200']} not 200, server {result.get('server_cpu_ms_per_request')} ms CPU a request")
    return result


def bare(run: Run, env: dict, name: str) -> dict:
    process, port = start_gunicorn("load:bare_app()", env, run.directory / f"{name}.log", chdir=ROOT / "bench",
                                   workers=WORKERS, config=CONFIG)
    try:
        return drive(port, [("/", "")], run, name, process.pid)
    finally:
        stop(process)


# --- the model ----------------------------------------------------------------------------

def learners_per_core(lesson_rate: float, world: dict) -> dict:
    cores = os.cpu_count()
    reading = world["reading_minutes"]
    lesson_seconds = 60 * sum(reading) / len(reading)
    every = lesson_seconds / REQUESTS_PER_LESSON
    per_core = lesson_rate / cores
    # A sitting: one course's lessons after one sign-in, whose password check costs as much CPU
    # as many pages.
    lessons = world["lessons_per_course"]
    sitting_seconds = lessons * lesson_seconds
    sitting_cpu = lessons * REQUESTS_PER_LESSON / per_core + world["sign_in_seconds"]
    return {
        "assumption": (
            f"A learner working through a course reads each lesson for the time the course gives it "
            f"(200 words a minute: {lesson_seconds / 60:.1f} minutes on average over the "
            f"{len(reading)} English lessons) and sends {REQUESTS_PER_LESSON} requests a lesson (the page, "
            f"and 'Mark as read', whose redirect is the next page): one request every {every:.0f} s, each "
            f"costing what a lesson page costs. The lesson-page rate was measured with the load generator on "
            f"the same {cores} cores, so a core is credited with 1/{cores} of it. With sign-in: each sitting "
            f"(one course, {lessons:g} lessons) also begins with one password check "
            f"({1000 * world['sign_in_seconds']:.0f} ms of CPU, scrypt, deliberately slow). Not counted: the "
            f"quiz and certificate, once a course, and learners who read faster than the estimate (one "
            f"skimming at twice the speed counts double)."),
        "mean_lesson_minutes": round(lesson_seconds / 60, 2),
        "seconds_between_requests": round(every, 1),
        "lesson_requests_per_second_per_core": round(per_core, 1),
        "sign_in_cpu_ms": round(1000 * world["sign_in_seconds"], 1),
        "learners_per_core": int(per_core * every),
        "learners_per_core_with_sign_in": int(sitting_seconds / sitting_cpu),
    }


# --- putting it together ------------------------------------------------------------------

def run_engine(url: str, engine: str, people: int, run: Run, only: set[str] | None = None) -> dict:
    started = time.perf_counter()
    world = prepare(url, people)
    log(f"{engine}: database ready in {time.perf_counter() - started:.0f} s")
    env = server_env(url, run.directory)
    result: dict = {"reference_before": bare(run, env, f"{engine}-bare-before")}
    process, port = start_gunicorn("lms:create_app()", env, run.directory / f"{engine}.log", workers=WORKERS,
                                   config=CONFIG)
    pages = {}
    try:
        learners = sign_in(port, world["learners"])
        champions = sign_in(port, world["champions"])
        team_champions = sign_in(port, world["team_champions"])
        plans = {
            "lesson": request_list(world["lessons"], learners),
            "my_courses": request_list(["/courses"], learners),
            "dashboard": request_list([f"/org/{world['organisation_id']}/reports"], champions),
            "dashboard_one_team": request_list([f"/org/{world['organisation_id']}/reports"], team_champions),
        }
        for page, requests in plans.items():
            if only and page not in only:
                continue
            check_pages(port, requests, 'action="/sign-out"')
            pages[page] = drive(port, requests, run, f"{engine}-{page}", process.pid)
    finally:
        stop(process)
    log_text = (run.directory / f"{engine}.log").read_text(errors="replace")
    result["reference_after"] = bare(run, env, f"{engine}-bare-after")
    reference = (result["reference_before"]["requests_per_second"]
                 + result["reference_after"]["requests_per_second"]) / 2
    result["reference_requests_per_second"] = round(reference, 1)
    reference_cpu = (result["reference_before"]["server_cpu_ms_per_request"]
                     + result["reference_after"]["server_cpu_ms_per_request"]) / 2
    result["reference_server_cpu_ms_per_request"] = round(reference_cpu, 3)
    for page, figures in pages.items():
        figures["ratio_to_bare"] = round(figures["requests_per_second"] / reference, 3)
        # The same ratio from the workers' CPU time a request: what the throughput ratio would be
        # if the workers had the cores to themselves. It moves much less than the throughput
        # with whatever else the machine is running.
        cpu = figures["server_cpu_ms_per_request"]
        figures["cpu_ratio_to_bare"] = round(reference_cpu / cpu, 3) if cpu else None
    result["pages"] = pages
    result["tracebacks_in_log"] = log_text.count("Traceback")
    result["goals"] = {
        page: {**goal, "measured_ratio": pages[page]["ratio_to_bare"], "measured_p99_ms": pages[page]["p99_ms"],
               "met": pages[page]["ratio_to_bare"] >= goal["ratio"]
               and pages[page]["p99_ms"] < goal.get("p99_ms", math.inf)}
        for page, goal in GOALS.items() if page in pages}
    if "lesson" in pages:
        result["capacity"] = learners_per_core(pages["lesson"]["requests_per_second"], world)
    result["passed"] = (all(figures["non_200"] == 0 and figures["socket_errors"] == 0
                            for figures in [*pages.values(), result["reference_before"], result["reference_after"]])
                        and result["tracebacks_in_log"] == 0)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s a page (for `make bench`)")
    parser.add_argument("--seconds", type=int, help="how long each page is driven (default 10 with --quick, 30 without)")
    parser.add_argument("--people", type=int, default=PEOPLE, help="people in the dashboard's organisation")
    parser.add_argument("--sqlite-only", action="store_true", help="leave PostgreSQL out even if it is configured")
    parser.add_argument("--no-compression", action="store_true",
                        help="ask for pages uncompressed (as a proxy that compresses them itself would)")
    parser.add_argument("--pages", help=f"only these pages, separated by commas (of {', '.join(PAGES)})")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/capacity.py needs wrk: sudo apt-get install wrk (or run `make bench`)", file=sys.stderr)
        return 1
    if args.people < 3 * SESSIONS:
        print(f"--people must be at least {3 * SESSIONS}", file=sys.stderr)
        return 1
    only = set(args.pages.split(",")) if args.pages else None
    if only and not only <= set(PAGES):
        print(f"--pages: choose from {', '.join(PAGES)}", file=sys.stderr)
        return 1
    if args.seconds is not None and args.seconds < 1:
        print("--seconds must be at least 1", file=sys.stderr)
        return 1
    seconds = args.seconds or (10 if args.quick else 30)
    warm_up = max(1, min(3, seconds // 3))  # wrk counts whole seconds
    output = {"benchmark": "capacity", "workers": WORKERS, "connections": CONNECTIONS, "seconds_a_page": seconds,
              "people": args.people, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
              "load_generator": "wrk " + _wrk_version(),
              "accept_encoding": "none" if args.no_compression else "gzip, deflate, br", "databases": {}}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        run = Run(directory, seconds, warm_up, compressed=not args.no_compression)
        for engine, url, drop in engines(directory, "capacity"):
            if args.sqlite_only and engine != "sqlite":
                drop()
                continue
            try:
                output["databases"][engine] = run_engine(url, engine, args.people, run, only)
            finally:
                drop()
    output["load_average_at_end"] = os.getloadavg()
    output["passed"] = all(result["passed"] for result in output["databases"].values())
    print(json.dumps(output, indent=2))
    return 0 if output["passed"] else 1


def _wrk_version() -> str:
    finished = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    found = re.search(r"wrk (\S+)", finished.stdout + finished.stderr)
    return found.group(1) if found else "unknown"


if __name__ == "__main__":
    sys.exit(main())
