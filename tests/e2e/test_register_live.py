"""In a real browser: a trainer schedules a session running now and opens its register; a
walk-in checks in on a phone-sized page; the name appears on the trainer's register without
a reload, through lms/workshops/static/register.js."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.e2e.conftest import sign_in


def _now_window() -> tuple[str, str, str]:
    now = datetime.now(ZoneInfo("Europe/London"))
    start = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=0, microsecond=0))
    end = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=0, microsecond=0))
    return now.strftime("%Y-%m-%d"), start.strftime("%H:%M"), end.strftime("%H:%M")


def test_a_walk_ins_name_appears_on_the_trainers_register_without_a_reload(browser, live_server):
    day, start, end = _now_window()
    trainer = browser.new_context().new_page()
    sign_in(trainer, live_server, "trainer@example.org")
    trainer.goto(f"{live_server}/")
    trainer.click("text=Sessions")
    trainer.click("text=Schedule a session")
    trainer.fill("#day", day)
    trainer.fill("#start", start)
    trainer.fill("#end", end)
    trainer.fill("#venue", "Live Test Hall")
    trainer.click("main button[type=submit]")
    trainer.wait_for_load_state()
    assert "The session is scheduled." in trainer.content()
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
    trainer.context.close()
