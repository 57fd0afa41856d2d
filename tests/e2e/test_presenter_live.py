"""In a real browser: the presenter's audience and speaker windows stay on the same slide
whichever window the trainer drives, with the network cut after loading too; and the deck
saved as one HTML file presents from disk without a single request."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import schedule_session_now, sign_in

pytestmark = pytest.mark.browser


def _position(page) -> int:
    """The slide number the window shows, from its visible slide (not from its own label)."""
    current = page.locator("[data-slide].is-current")
    expect(current).to_have_count(1)
    return int(current.get_attribute("id").removeprefix("slide-"))


def _in_step(audience, speaker, number: int) -> None:
    expect(audience.locator(f"#slide-{number}")).to_have_class(re.compile(r"\bis-current\b"))
    expect(speaker.locator(f"#slide-{number}")).to_have_class(re.compile(r"\bis-current\b"))
    assert _position(audience) == _position(speaker) == number


@pytest.fixture
def presenting(browser, live_server):
    """A trainer's browser with a session running now, its audience view open and, from it,
    the speaker view in a second window."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    audience = context.new_page()
    sign_in(audience, live_server, "trainer@example.org")
    schedule_session_now(audience, live_server, "Presenter Test Hall", course="wrap")
    audience.click("text=Present the slides")
    audience.wait_for_load_state("load")
    with audience.expect_popup() as opened:
        audience.click("text=Open the speaker view")
    speaker = opened.value
    speaker.wait_for_load_state("load")
    yield context, audience, speaker
    context.close()


def test_the_audience_and_speaker_windows_stay_in_step(presenting):
    _context, audience, speaker = presenting
    count = audience.locator("[data-slide]").count()
    assert count >= 10
    # The first slide is the check-in slide: its code and QR code fill the audience's screen.
    expect(audience.locator("#slide-1 .join-slide__code")).to_be_visible()
    expect(audience.locator("#slide-1 img.join-slide__qr")).to_be_visible()
    assert audience.locator("#slide-1 .speaker-notes").count() == 0  # the audience view carries no notes
    _in_step(audience, speaker, 1)

    # The audience window's keys move both.
    audience.keyboard.press("ArrowRight")
    _in_step(audience, speaker, 2)
    audience.keyboard.press("Space")
    audience.keyboard.press("PageDown")
    _in_step(audience, speaker, 4)
    audience.keyboard.press("ArrowLeft")
    _in_step(audience, speaker, 3)
    # The speaker sees this slide's notes and the next slide's title.
    expect(speaker.locator("#slide-3 .speaker-notes")).to_be_visible()
    next_title = speaker.inner_text("#slide-4 .slide-frame h2")
    expect(speaker.locator("[data-next] h2")).to_have_text(next_title)
    expect(speaker.locator("[data-clock]")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(speaker.locator("[data-elapsed]")).to_have_text(re.compile(r"^\d+:\d\d$"))

    # The speaker window's buttons and keys move both.
    speaker.click("button[data-action=next]")
    _in_step(audience, speaker, 4)
    speaker.keyboard.press("End")
    _in_step(audience, speaker, count)
    expect(speaker.locator("[data-end]")).to_be_visible()
    speaker.keyboard.press("End")  # past the end: nothing moves
    _in_step(audience, speaker, count)
    speaker.keyboard.press("Home")
    _in_step(audience, speaker, 1)

    # A click on the audience's slide goes on; one in the third where reading starts goes back.
    box = audience.locator("#deck").bounding_box()
    audience.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    _in_step(audience, speaker, 2)
    audience.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    _in_step(audience, speaker, 1)

    # A swipe towards the reading start, as on a tablet, goes on.
    y = box["y"] + box["height"] / 2
    audience.mouse.move(box["x"] + box["width"] * 0.7, y)
    audience.mouse.down()
    audience.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    audience.mouse.up()
    _in_step(audience, speaker, 2)

    # A reloaded speaker window asks where the audience is, rather than starting again.
    audience.keyboard.press("ArrowRight")
    speaker.reload()
    speaker.wait_for_load_state("load")
    _in_step(audience, speaker, 3)
    # The audience window's address keeps its place, so a reload stays on the slide.
    assert audience.url.endswith("#slide-3")
    audience.reload()
    _in_step(audience, speaker, 3)


def test_the_deck_carries_on_with_the_network_cut(presenting, live_server):
    context, audience, speaker = presenting
    requests = []
    context.on("request", lambda request: requests.append(request.url))
    context.set_offline(True)
    count = audience.locator("[data-slide]").count()
    for number in range(2, count + 1):
        (audience if number % 2 else speaker).keyboard.press("ArrowRight")
        _in_step(audience, speaker, number)
    for page in (audience, speaker):
        # Every image the deck shows was loaded before the cut.
        broken = page.eval_on_selector_all("img", "images => images.filter(i => !i.complete || !i.naturalWidth).length")
        assert broken == 0
    assert requests == [], f"the presenter asked the network for {requests}"
    context.set_offline(False)


def test_the_single_file_deck_presents_from_disk_without_any_request(browser, live_server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server, "trainer@example.org")
    schedule_session_now(page, live_server, "Single File Hall", course="wrap")
    with page.expect_download() as download:
        page.click("text=The slides as one HTML file")
    path = tmp_path / "deck.html"
    download.value.save_as(path)
    context.close()

    offline = browser.new_context(viewport={"width": 1280, "height": 720}, offline=True)
    requests = []
    offline.on("request", lambda request: requests.append(request.url))
    audience = offline.new_page()
    audience.goto(path.as_uri())
    expect(audience.locator("#slide-1.is-current .join-slide__code")).to_be_visible()
    with audience.expect_popup() as opened:
        audience.click("text=Open the speaker view")
    speaker = opened.value
    speaker.wait_for_load_state("load")
    expect(speaker.locator("html.presenter--speaker")).to_have_count(1)
    audience.keyboard.press("ArrowRight")
    _in_step(audience, speaker, 2)
    speaker.keyboard.press("ArrowRight")
    _in_step(audience, speaker, 3)
    expect(speaker.locator("#slide-3 .speaker-notes")).to_be_visible()
    expect(audience.locator("#slide-3 .speaker-notes")).to_be_hidden()
    assert [url for url in requests if not url.startswith("file:")] == []
    offline.close()


def test_without_javascript_the_presenter_is_a_list_of_slides(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "trainer@example.org")
    session_page = schedule_session_now(page, live_server, "No Script Hall", course="wrap")
    page.goto(session_page)
    page.click("text=Present the slides")
    count = page.locator("[data-slide]").count()
    assert count >= 10
    for number in (1, 2, count):
        expect(page.locator(f"#slide-{number}")).to_be_visible()
    with page.expect_popup() as opened:
        page.click("text=Open the speaker view")  # a plain link: the same list, with the notes
    speaker = opened.value
    speaker.wait_for_load_state()
    expect(speaker.locator("#slide-2 .speaker-notes")).to_be_visible()
    context.close()
