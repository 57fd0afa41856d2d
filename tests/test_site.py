from __future__ import annotations

import os

import pytest

from tests.conftest import FormClient, make_test_app


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-directory/lms.sqlite3",
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
])
def test_healthz_is_503_when_the_database_cannot_be_reached(url):
    app = make_test_app(url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"


def test_readyz_checks_the_database_and_the_catalogue(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["catalogue"] == "ok"
    assert body["courses"] >= 1 and "redis" not in body  # the embedded default has no Redis to ask


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-directory/lms.sqlite3",
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
])
def test_readyz_is_503_naming_an_unreachable_database(url):
    response = make_test_app(url).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable" and response.get_json()["status"] == "error"


def test_readyz_is_503_naming_an_unreachable_redis(database_url):
    app = make_test_app(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "unreachable" and response.get_json()["database"] == "ok"


@pytest.mark.skipif(not os.environ.get("LMS_TEST_REDIS_URL"), reason="LMS_TEST_REDIS_URL is not set")
def test_readyz_asks_a_configured_redis(database_url):
    app = make_test_app(database_url, RATELIMIT_STORAGE_URI=os.environ["LMS_TEST_REDIS_URL"])
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and response.get_json()["redis"] == "ok"


def test_readyz_is_503_without_courses(database_url, tmp_path):
    app = make_test_app(database_url, COURSE_PATHS=[tmp_path])
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["catalogue"] == "no courses"


def test_every_page_declares_language_and_direction(client, demo):
    for path in ["/", "/sign-in", "/join", "/forgot-password", "/no-such-page"]:
        html = client.get(path).get_data(as_text=True)
        assert '<html lang="en-GB" dir="ltr">' in html, path


def test_unknown_pages_get_a_plain_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_wrong_method_is_405_not_500(client):
    assert client.get("/sign-out").status_code == 405
    assert client.client.put("/sign-in").status_code == 405


def test_home_shows_membership_for_each_role(client, demo):
    client.sign_in("champion@example.org")
    page = client.get("/").get_data(as_text=True)
    assert "Prevent Champion" in page and "Housing" in page and "Northmoor Borough Council" in page


def test_organisation_switcher(client, demo):
    client.sign_in("trainer@example.org")
    page = client.get("/").get_data(as_text=True)
    assert 'id="organisation-switcher"' in page
    eastgate = demo["organisations"]["Eastgate Community Association"]
    assert client.submit("/organisation", {"organisation_id": str(eastgate)}, form_page="/").status_code == 302
    assert "<h2>Eastgate Community Association</h2>" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("value", ["", "abc", "999999", "-1"])
def test_organisation_switcher_refuses_other_organisations(client, demo, value):
    client.sign_in("learner@example.org")
    response = client.submit("/organisation", {"organisation_id": value}, form_page="/")
    assert response.status_code == 404


def test_organisation_switcher_refuses_an_organisation_you_are_not_in(client, demo):
    client.sign_in("learner@example.org")
    eastgate = demo["organisations"]["Eastgate Community Association"]
    assert client.submit("/organisation", {"organisation_id": str(eastgate)}, form_page="/").status_code == 404


@pytest.fixture
def app_with_urdu_catalogue(tmp_path, database_url):
    """A catalogue dropped into a translations folder is a new language: no code changes."""
    catalogue = tmp_path / "translations" / "ur" / "LC_MESSAGES"
    catalogue.mkdir(parents=True)
    (catalogue / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: ur\\n"\n\n'
        'msgid "Sign in"\nmsgstr "سائن ان کریں"\n', encoding="utf-8")
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(catalogue / "messages.po", "rb") as source, open(catalogue / "messages.mo", "wb") as target:
        write_mo(target, read_po(source))
    return make_test_app(database_url, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))


def test_a_dropped_in_catalogue_adds_a_right_to_left_language(app_with_urdu_catalogue):
    client = FormClient(app_with_urdu_catalogue.test_client(), [])
    html = client.get("/sign-in", headers={"Accept-Language": "ur,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in html
    assert "سائن ان کریں" in html
    assert 'id="language-selector"' in html
    # Accept-Language is only the third choice: an explicit choice from the selector wins.
    token = client.csrf_token("/sign-in")
    response = client.post("/language", data={"csrf_token": token, "language": "en", "next": "/sign-in"},
                           headers={"Accept-Language": "ur"})
    assert response.headers["Location"] == "/sign-in"
    html = client.get("/sign-in", headers={"Accept-Language": "ur"}).get_data(as_text=True)
    assert '<html lang="en-GB" dir="ltr">' in html


def test_saved_preference_wins_over_the_selector(app_with_urdu_catalogue):
    from lms import db
    from lms.demo import load_demo

    with app_with_urdu_catalogue.app_context():
        session = db.get_session()
        load_demo(session)
        session.commit()
    client = FormClient(app_with_urdu_catalogue.test_client(), [])
    client.sign_in("learner@example.org")
    client.submit("/account", {"name": "Lena Kowalska", "preferred_language": "ur"})
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in html


@pytest.mark.parametrize("data", [{"language": "klingon"}, {}, {"language": "en", "next": "https://evil.example/"}])
def test_language_selector_bad_input(client, data):
    token = client.csrf_token("/sign-in")
    response = client.post("/language", data={"csrf_token": token, **data})
    if data.get("language") == "en":
        assert response.headers["Location"] == "/"  # an outside address is not followed
    else:
        assert response.status_code == 400


def test_dates_are_formatted_by_babel(app):
    from datetime import datetime, timezone

    from flask_babel import force_locale

    from lms.i18n import local_date

    with app.test_request_context():
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
        assert local_date(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)) == "1 July 2026"
        with force_locale("pl"):
            assert local_date(datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)) == "5 stycznia 2026"
