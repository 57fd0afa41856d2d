"""What someone learning an open course without an account downloads, in each language, counted
on the wire from a real server (gunicorn) with `Accept-Encoding: gzip, br`. Prints one JSON object.

For each language a new visitor (no cookies, empty cache, `Accept-Language` set to it) goes
through the whole course: the course page, "Start without an account", the page with their
reference code, every lesson (each marked as read), the quiz's start page, the quiz, the result
(answered right), the name for the certificate, and the result again with the certificate. Each
stylesheet, script and image is fetched once, as a browser keeps them. Counted: every response
(status line, headers and body as sent) and every request.

Targets (issue 16): the whole course under 150 KB on a first visit, and no page, with what it
loads on an empty cache, over 40 KB. The course's bundle for reading offline is weighed too.

    python bench/open_course_weight.py                 # web_guardians, every language it has
    python bench/open_course_weight.py --course web_guardians --language ur
Exit status 1 when a target is missed, a page fails, or the server logs a traceback.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_weight import (ROOT, TOKEN, Browser, prepare, resources_of, same_site_path, server_env,  # noqa: E402
                         start_gunicorn, stop)

WHOLE_COURSE_LIMIT = 150 * 1024
PAGE_LIMIT = 40 * 1024
QUESTION = re.compile(r'name="q-([^"]+)"')


class Visitor:
    """A browser with an empty cache, in one language, counting what crosses the wire."""

    def __init__(self, port: int, language: str):
        self.browser = Browser(port)
        self.language = language
        self.cached: dict[str, int] = {}
        self.received = self.sent = self.requests = 0
        self.pages: list[dict] = []

    def _fetch(self, method: str, path: str, form: dict | None = None):
        answer = self.browser.fetch(method, path, form=form, extra={"Accept-Language": self.language})
        self.received += answer.received
        self.sent += answer.sent
        self.requests += 1
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path} answered {answer.status} ({self.language})")
        return answer

    def page(self, path: str) -> str:
        """GET a page and whatever it loads that is not cached yet; weighs it as a first visit."""
        answer = self._fetch("GET", path)
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status} ({self.language})")
        loads = resources_of(path, answer.body)
        for resource in loads:
            if resource not in self.cached:
                self.cached[resource] = self._fetch("GET", resource).received
        self.pages.append({"path": path, "bytes": answer.received,
                           "first_visit_bytes": answer.received + sum(self.cached[r] for r in loads)})
        return answer.body.decode("utf-8")

    def post(self, path: str, page: str, form: dict | None = None) -> str:
        """POST the page's form; the address it redirects to."""
        token = TOKEN.search(page)
        if token is None:
            raise RuntimeError(f"no form to send on the way to {path}")
        answer = self._fetch("POST", path, {"csrf_token": token.group(1), **(form or {})})
        location = same_site_path(f"http://127.0.0.1{path}", answer.headers.get("location", ""))
        if answer.status != 302 or location is None:
            raise RuntimeError(f"POST {path} answered {answer.status}, not a redirect ({self.language})")
        return location


def take_course(port: int, course, language: str) -> dict:
    visitor = Visitor(port, language)
    course_page = visitor.page(f"/courses/{course.id}")
    card = visitor.post(f"/courses/{course.id}/start-without-account", course_page)
    page = visitor.page(card)
    for slug in course.module_slugs:
        lesson = f"/courses/{course.id}/lessons/{slug}"
        page = visitor.page(lesson)
        visitor.post(f"{lesson}/read", page)
    start = f"/courses/{course.id}/quiz"
    quiz = visitor.post(start, visitor.page(start))
    page = visitor.page(quiz)
    drawn = list(dict.fromkeys(QUESTION.findall(page)))
    answers = {f"q-{qid}": sorted(course.question_bank[qid].answers) for qid in drawn}
    result = visitor.post(quiz, page, answers)
    page = visitor.page(result)
    if "certificate-name" not in page:
        raise RuntimeError(f"the result in {language} does not ask for a name: was the quiz passed?")
    attempt = result.rsplit("/", 2)[-2]
    visitor.post(f"/courses/{course.id}/quiz/{attempt}/certificate-name", page, {"name": "Amina Begum"})
    page = visitor.page(result)
    if ".pdf" not in page:
        raise RuntimeError(f"no certificate after giving the name ({language})")
    heaviest = max(visitor.pages, key=lambda weighed: weighed["first_visit_bytes"])
    bundle = Browser(port).fetch("GET", f"/courses/{course.id}/offline.html?lang={language}",
                                 extra={"Accept-Language": language})
    return {"language": language, "requests": visitor.requests, "response_bytes": visitor.received,
            "request_bytes": visitor.sent, "total_bytes": visitor.received + visitor.sent,
            "pages": len(visitor.pages), "heaviest_page": heaviest,
            "offline_bundle_bytes": bundle.received, "offline_bundle_uncompressed_bytes": len(bundle.body),
            "passed": visitor.received + visitor.sent < WHOLE_COURSE_LIMIT and heaviest["first_visit_bytes"] < PAGE_LIMIT}


def measure(course_id: str, languages: list[str] | None) -> dict:
    from lms.catalogue import load_course

    course, faults = load_course(ROOT / "courses" / course_id)
    if course is None:
        raise RuntimeError(f"{course_id} does not load: {faults[0]}")
    if not course.open:
        raise RuntimeError(f"{course_id} is not an open course")
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        env = server_env(ROOT, directory)
        prepare(ROOT, env)
        process, port = start_gunicorn(ROOT, env, directory / "gunicorn.log")
        try:
            results = [take_course(port, course, language) for language in (languages or list(course.languages))]
        finally:
            stop(process)
        log = (directory / "gunicorn.log").read_text(errors="replace")
    return {"course": course_id, "by_language": results, "tracebacks_in_log": log.count("Traceback")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default="web_guardians", help="an open course (default web_guardians)")
    parser.add_argument("--language", action="append", help="a language to measure (default: every one it has)")
    parser.add_argument("--quick", action="store_true", help="accepted for `make bench`; the run is short anyway")
    args = parser.parse_args()
    try:
        result = measure(args.course, args.language)
    except RuntimeError as failure:
        print(f"open_course_weight: {failure}", file=sys.stderr)
        return 1
    result["targets"] = {"whole_course_bytes_below": WHOLE_COURSE_LIMIT, "page_first_visit_bytes_below": PAGE_LIMIT}
    result["passed"] = result["tracebacks_in_log"] == 0 and all(row["passed"] for row in result["by_language"])
    print(json.dumps({"benchmark": "open_course_weight", **result}, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
