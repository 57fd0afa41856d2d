"""In a real browser, without an account: the web-guardians course (open) in Urdu is saved as
one page and read with the network cut; a quiz answered offline is sent when the connection
comes back, once; and the pages a guest learner sees pass axe."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from lms.catalogue import load_course
from lms.config import SHIPPED_ROOT
from tests.e2e.test_crawl import axe_problems

COURSE = "web_guardians"


def _in_urdu(page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.select_option("#language-selector", "ur")
    page.click("form[action='/language'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"


def test_the_urdu_bundle_opens_with_the_network_cut(browser, live_server, tmp_path: Path):
    course = load_course(SHIPPED_ROOT / "courses" / COURSE)[0]
    context = browser.new_context(accept_downloads=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    _in_urdu(page, live_server)
    page.goto(f"{live_server}/courses/{COURSE}")
    assert axe_problems(page) == []
    with page.expect_download() as waiting:
        page.click(f"a[href^='/courses/{COURSE}/offline.html']")
    saved = tmp_path / "web-guardians-ur.html"
    waiting.value.save_as(saved)

    context.set_offline(True)
    asked = []
    offline = context.new_page()
    offline.on("request", lambda request: asked.append(request.url))
    offline.goto(saved.as_uri())
    # Everything is in the file: it asked for nothing but itself.
    assert asked == [saved.as_uri()]
    for slug in course.module_slugs:
        module, fell_back = course.module(slug, "ur")
        assert not fell_back
        section = offline.locator(f"section[id='{slug}']")
        expect(section.locator("h2")).to_have_text(module.title)
        assert section.locator("article").get_attribute("dir") == "rtl"
    # A lesson is reached from the contents, with the stylesheet applied (not the browser's default).
    offline.click(f"a[href='#{course.module_slugs[-1]}']")
    assert offline.evaluate("location.hash") == f"#{course.module_slugs[-1]}"
    assert offline.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    assert axe_problems(offline) == []
    context.close()


def test_a_quiz_answered_offline_is_sent_once_when_the_connection_returns(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/courses/{COURSE}")
    page.click("text=Start without an account")
    page.wait_for_load_state()
    assert page.url.startswith(f"{live_server}/learning-code")
    code = page.inner_text(".reference-card .code").strip()
    assert re.fullmatch(r"\d{3}( \d{3}){5}", code)
    assert axe_problems(page) == []
    page.click("text=I have kept my code")
    page.wait_for_load_state()
    assert "/lessons/" in page.url
    page.goto(f"{live_server}/courses/{COURSE}/quiz")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert re.search(r"/quiz/\d+$", page.url)
    quiz_address = page.url

    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    context.set_offline(True)
    for fieldset in page.query_selector_all("fieldset"):
        fieldset.query_selector("input").check()
    page.click("text=Submit answers")
    expect(page.locator("#quiz-offline")).to_be_visible()
    assert page.url == quiz_address and posts == []
    assert axe_problems(page) == []

    context.set_offline(False)
    page.wait_for_url(re.compile(r".*/result$"), timeout=30_000)
    assert posts == [quiz_address]
    assert "Your result" in page.content()
    # Nothing is sent again: not on the next tick, not from what the page had kept.
    page.wait_for_timeout(1_000)
    page.goto(quiz_address)  # the attempt is done, so this shows the result
    assert page.url.endswith("/result") and posts == [quiz_address]
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('quiz-waiting:')).length") == 0
    context.close()


def test_a_guest_who_passes_names_the_certificate_on_an_accessible_page(browser, live_server):
    """The result page's name form is behind a passed quiz (a POST), so the crawl cannot reach it."""
    course = load_course(SHIPPED_ROOT / "courses" / COURSE)[0]
    page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    page.goto(f"{live_server}/courses/{COURSE}")
    page.click("text=Start without an account")
    page.goto(f"{live_server}/courses/{COURSE}/quiz")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    drawn = dict.fromkeys(name[2:] for name in page.eval_on_selector_all(
        "input[name^='q-']", "inputs => inputs.map(input => input.name)"))
    for question_id in drawn:
        for answer in course.question_bank[question_id].answers:
            page.check(f"input[name='q-{question_id}'][value='{answer}']")
    page.click("text=Submit answers")
    page.wait_for_url(re.compile(r".*/result$"))
    assert "Get your certificate" in page.content()
    assert axe_problems(page) == []
    page.click("text=Get your certificate")  # no name yet
    page.wait_for_load_state()
    expect(page.locator(".error-summary")).to_contain_text("Enter the name to print on your certificate")
    assert axe_problems(page) == []
    page.fill("#name", "Amina Begum")
    page.click("text=Get your certificate")
    page.wait_for_url(re.compile(r".*/result$"))
    expect(page.locator("a[href$='.pdf']")).to_have_text("Download your certificate (PDF)")
    assert axe_problems(page) == []
    page.context.close()
