"""In a real browser: a trainer schedules a session running now and opens its register; a
walk-in checks in on a phone-sized page; the name appears on the trainer's register without
a reload, through lms/workshops/static/register.js; the trainer corrects the name."""
from __future__ import annotations

import re

from tests.e2e.conftest import schedule_session_now, sign_in
from tests.e2e.test_crawl import axe_problems


def test_a_walk_ins_name_appears_on_the_trainers_register_without_a_reload(browser, live_server):
    trainer = browser.new_context().new_page()
    sign_in(trainer, live_server, "trainer@example.org")
    schedule_session_now(trainer, live_server, "Live Test Hall")
    trainer.click("text=Register and check-in code")
    code = trainer.inner_text(".check-in-code").strip()
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)
    assert "Live Walk-in" not in trainer.inner_text("#register-rows")

    phone = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    phone.goto(f"{live_server}/check-in")
    phone.fill("#code", code.lower())
    phone.click("main button[type=submit]")
    phone.fill("#name", "Live Walk-in")
    phone.check("#consent")
    phone.click("main button[type=submit]")
    phone.wait_for_load_state()
    assert "You are checked in as Live Walk-in." in phone.content()

    # No reload: the register's script fetches its rows every few seconds.
    from playwright.sync_api import expect

    expect(trainer.locator("#register-rows")).to_contain_text("Live Walk-in", timeout=15_000)
    phone.context.close()

    # The trainer corrects the name before the certificate is drawn (a page the crawl cannot
    # reach, since the demo's walk-ins already have certificates): axe-checked too.
    trainer.click("#register-rows a:has-text('Change')")
    trainer.wait_for_load_state()
    assert axe_problems(trainer) == []
    trainer.fill("#name", "Live Walk-in Corrected")
    trainer.click("main button[type=submit]")
    trainer.wait_for_load_state()
    expect(trainer.locator("#register-rows")).to_contain_text("Live Walk-in Corrected")
    trainer.context.close()
