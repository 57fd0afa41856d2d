"""Sign in as each demo role and visit every page reachable by links from the start page.

Fails on any 4xx or 5xx (a link the person is shown must lead somewhere they may go), any axe-core violation above minor, a page without lang and
dir on <html>, or a page over 50 KB of HTML, CSS and JavaScript. New pages are covered
as soon as a link reaches them.
"""
from __future__ import annotations

import hashlib
import json
import re
import os
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser

PAGE_WEIGHT_LIMIT = 50 * 1024
# The trainer's speaker view carries the whole deck with its notes, so that a session carries
# on when the hall's connection drops: it is loaded once, on a laptop. Its own, larger limit.
SPEAKER_VIEW_WEIGHT_LIMIT = 160 * 1024
# Moderate counts too: it holds landmark-unique, which screen-reader users navigate by.
FAILING_IMPACTS = ("moderate", "serious", "critical")
MAX_PAGES_PER_ROLE = 200
COUNTED_TYPES = {"document", "stylesheet", "script"}
ROLES = {
    "visitor": None,
    "learner": "learner@example.org",
    "champion": "champion@example.org",
    "trainer": "trainer@example.org",
    "org_admin": "orgadmin@example.org",
    "site_admin": "admin@example.org",
}
REPORT = Path(os.environ.get("LMS_CRAWL_REPORT", "test-results/crawl.json"))
axe = Axe()
# Pages whose main content another role has already had checked (lessons and slides look the
# same to every role) are not checked by axe again. Each role still has its own header
# checked, on its first pages, whose main content differs by role.
AXE_CHECKED: set[str] = set()
CSRF_VALUE = re.compile(r'name="csrf_token" (type="hidden" )?value="[^"]*"')


def crawl(page, base_url: str, start: str = "/", within: tuple[str, ...] = ("/",)) -> tuple[list[str], list[str]]:
    """Visit every page reachable from start whose path begins with one of within."""
    visited: list[str] = []
    problems: list[str] = []
    queue = deque([f"{base_url}{start}"])
    seen = set(queue)
    weights: list[int] = []

    def count(response):
        if response.request.resource_type in COUNTED_TYPES and response.url.startswith(base_url):
            try:
                weights.append(len(response.body()))
            except Exception:  # a redirect has no body to count
                pass

    page.on("response", count)
    # Routing every request turns off the HTTP cache, so each page is weighed with its CSS and JS.
    page.route("**/*", lambda route: route.continue_())

    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.popleft()
        weights.clear()
        response = page.goto(url)
        page.wait_for_load_state("load")
        path = urlparse(url).path
        visited.append(path)
        status = response.status if response else 0
        if status >= 400 or status == 0:
            problems.append(f"{path}: HTTP {status}")
            continue
        lang = page.get_attribute("html", "lang")
        direction = page.get_attribute("html", "dir")
        if not lang or direction not in ("ltr", "rtl"):
            problems.append(f"{path}: <html> lacks lang or dir (lang={lang!r}, dir={direction!r})")
        total = sum(weights)
        limit = SPEAKER_VIEW_WEIGHT_LIMIT if path.endswith("/present/speaker") else PAGE_WEIGHT_LIMIT
        if total > limit:
            problems.append(f"{path}: {total} bytes of HTML, CSS and JS (limit {limit})")
        fingerprint = hashlib.sha256(CSRF_VALUE.sub("", page.inner_html("main")).encode()).hexdigest()
        if fingerprint in AXE_CHECKED:
            violations = []
        else:
            AXE_CHECKED.add(fingerprint)
            violations = axe.run(page).response["violations"]
        for violation in violations:
            if violation["impact"] in FAILING_IMPACTS:
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(f"{path}: axe {violation['impact']} {violation['id']}: {violation['help']} {targets}")
        links = page.eval_on_selector_all("a[href]", "elements => elements.map(e => e.href)")
        for link in links:
            link, _fragment = urldefrag(link)
            # Downloads (PDF certificates and slides, ZIPs, report exports, calendar files, the
            # single-file deck, a person's own data, Open Badges) are files, not pages: their tests
            # are elsewhere.
            if (not link.startswith(base_url + "/") or "/static/" in link
                    or not urlparse(link).path.startswith(within)
                    or urlparse(link).path.endswith((".pdf", ".zip", ".csv", ".xlsx", ".ics", ".html", ".json", ".svg"))):
                continue
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return visited, problems


# English first for every role, then the same crawl in a right-to-left and a Latin-script language.
CRAWLS = [(role, language) for language in ("en", "ur", "pl") for role in ROLES]


def choose_language(page, base_url: str, language: str) -> None:
    """The header's language selector, as a person uses it (it also saves their preference)."""
    page.goto(f"{base_url}/")
    page.select_option("#language-selector", language)
    page.click("form.header-form:has(#language-selector) button")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang").startswith(language), page.get_attribute("html", "lang")


@pytest.mark.parametrize("role, language", CRAWLS, ids=[f"{r}-{l}" for r, l in CRAWLS])
def test_crawl_every_reachable_page(browser, live_server, role, language):
    context = browser.new_context()
    page = context.new_page()
    try:
        if ROLES[role]:
            sign_in(page, live_server, ROLES[role])
        if language != "en":
            choose_language(page, live_server, language)
        visited, problems = crawl(page, live_server)
        if language != "en":
            choose_language(page, live_server, "en")
    finally:
        context.close()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[f"{role} ({language})"] = visited
    REPORT.write_text(json.dumps(report, indent=2))
    print(f"\n{role} in {language}: visited {len(visited)} pages")
    assert len(visited) >= 3, f"the crawl as {role} reached only {visited}"
    assert not problems, "\n".join(problems)


def _record(name: str, visited: list[str]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[name] = visited
    REPORT.write_text(json.dumps(report, indent=2))


PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize("language", ["en", "ur"])
def test_a_trainers_session_pages_on_a_phone(browser, live_server, language):
    """Sessions, their registers and the presenter, 360 pixels wide."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, "trainer@example.org")
        choose_language(page, live_server, language)
        page.goto(f"{live_server}/")
        lists = []
        # The demo trainer runs sessions in two organisations: each, through the header's switcher.
        for organisation in page.eval_on_selector_all("#organisation-switcher option", "os => os.map(o => o.value)"):
            page.select_option("#organisation-switcher", organisation)
            page.click("form.header-form:has(#organisation-switcher) button")
            page.wait_for_load_state()
            lists.append(urlparse(page.locator("main a[href$='/sessions']").first.get_attribute("href")).path)
        assert len(set(lists)) == 2, lists
        visited, problems = [], []
        for start in lists:
            seen, found = crawl(page, live_server, start=start, within=(start,))
            visited += seen
            problems += found
        choose_language(page, live_server, "en")
    finally:
        context.close()
    _record(f"trainer on a phone ({language})", visited)
    assert any(path.endswith("/present/speaker") for path in visited), visited
    assert any(path.endswith("/register") for path in visited), visited
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "ur"])
def test_a_walk_in_on_a_phone(browser, live_server, open_session_code, language):
    """A walk-in checks in with the code from the first slide and sees only their own page."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        choose_language(page, live_server, language)
        page.goto(f"{live_server}/check-in")
        problems = axe_problems(page)
        page.fill("#code", open_session_code)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang").startswith(language)
        problems += axe_problems(page)
        page.fill("#name", f"Crawl Walk-in {language}")
        page.check("#consent")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert f"Crawl Walk-in {language}" in page.content()
        start = urlparse(page.url).path
        visited, more = crawl(page, live_server, start=start, within=("/check-in", "/certificates", "/verify"))
        problems += more
        # Nobody else's name is on a walk-in's page.
        assert "Crawl Walk-in" not in page.content().replace(f"Crawl Walk-in {language}", "")
    finally:
        context.close()
    _record(f"walk-in on a phone ({language})", visited)
    assert not problems, "\n".join(problems)


def test_a_lesson_and_a_quiz_in_urdu_read_right_to_left(browser, live_server):
    """Screenshots in test-results/, and the geometry a right-to-left reader expects."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    shots = REPORT.parent
    shots.mkdir(parents=True, exist_ok=True)
    try:
        sign_in(page, live_server, "guardian@example.org")
        choose_language(page, live_server, "ur")
        page.goto(f"{live_server}/courses/web_guardians/lessons/02-checking-history-and-private-browsing")
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.eval_on_selector("article.lesson", "e => getComputedStyle(e).direction") == "rtl"
        assert page.get_attribute("article.lesson", "lang") == "ur"
        previous = page.locator("a[rel=prev]").bounding_box()
        following = page.locator("a[rel=next]").bounding_box()
        assert following["x"] < previous["x"], "in Urdu the next lesson is to the left"
        assert page.eval_on_selector("a[rel=next] .arrow", "e => getComputedStyle(e).transform") != "none"
        page.screenshot(path=str(shots / "ur-lesson.png"), full_page=True)

        page.goto(f"{live_server}/courses/web_guardians/quiz")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        first_choice = page.locator(".choice").first
        radio = first_choice.locator("input").bounding_box()
        label = first_choice.locator("label").bounding_box()
        assert radio["x"] > label["x"], "in Urdu the radio button sits to the right of its answer"
        page.screenshot(path=str(shots / "ur-quiz.png"), full_page=True)
        choose_language(page, live_server, "en")
    finally:
        context.close()


def axe_problems(page) -> list[str]:
    return [f"{urlparse(page.url).path}: axe {v['impact']} {v['id']}: {v['help']}"
            for v in axe.run(page).response["violations"] if v["impact"] in FAILING_IMPACTS]


def test_taking_a_quiz_in_the_browser(browser, live_server):
    """The quiz, its error summary and its results are behind a POST, so the crawl cannot reach them.
    (axe-core is JavaScript, so this context keeps it on; the pages themselves use none.)"""
    context = browser.new_context()
    page = context.new_page()
    problems = []
    try:
        sign_in(page, live_server, "learner2@example.org")
        page.goto(f"{live_server}/courses/tiny/quiz")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert "/quiz/" in page.url
        page.click("text=Submit answers")
        page.wait_for_load_state()
        assert "There is a problem" in page.content()
        problems += axe_problems(page)
        for fieldset in page.query_selector_all("fieldset"):
            fieldset.query_selector("input").check()
        page.click("text=Submit answers")
        page.wait_for_load_state()
        assert page.url.endswith("/result")
        assert "Answers and explanations" in page.content()
        problems += axe_problems(page)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_sign_in_and_forms_work_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "orgadmin@example.org")
        page.goto(f"{live_server}/")
        page.click("text=People and teams in Northmoor Borough Council")
        page.fill("#name", "Street Outreach")
        page.click("text=Add team")
        page.wait_for_load_state()
        assert "Team Street Outreach has been added." in page.content()
        page.fill("#name", "")
        page.click("text=Add team")
        page.wait_for_load_state()
        assert "There is a problem" in page.content()
    finally:
        context.close()
