"""The privacy notice (issue 14): a public page saying what is held, why, for how long and who
sees it; each organisation's own controller details, which its org admins set; links to it
from every footer, the sign-up, join and check-in pages; and hints on the free-text fields
that they are for training records only."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.certify import codes
from lms.db import utcnow
from lms.models import AuditEvent, Certificate, Completion, Organisation, User, Workshop
from tests.conftest import FormClient, database, make_test_app, snapshot, text_of
from tests.test_check_in import workshop  # noqa: F401 (a fixture: a Northmoor session of the tiny course, running now)
from tests.test_workshops import _form as session_form
from tests.test_marked_for_translation import DEMO_DATA, pseudo_client, unmarked  # noqa: F401

NORTHMOOR = "Northmoor Borough Council"
EASTGATE = "Eastgate Community Association"
TRAINING_RECORDS_ONLY = "This service holds training records only."
NEVER_CONCERNS = "It never holds concerns about anyone, referrals or Channel information."
HINT = "Training records only: do not write concerns about a person here."
NOT_FOUND = "This link does not name an organisation."


def notice_path(organisation_id: int) -> str:
    """The notice's link for an organisation, signed with the tests' secret key."""
    from lms.privacy.notice import link_token

    return "/privacy?organisation=" + link_token("test-secret-key", organisation_id)


def _set_details(app, organisation_id: int, controller: str, contact: str) -> None:
    with database(app) as session:
        organisation = session.get(Organisation, organisation_id)
        organisation.privacy_controller, organisation.privacy_contact = controller, contact
        session.commit()


def _details(app, organisation_id: int) -> tuple[str, str]:
    with database(app) as session:
        organisation = session.get(Organisation, organisation_id)
        return organisation.privacy_controller, organisation.privacy_contact


def _privacy_events(app) -> list[AuditEvent]:
    with database(app) as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy_details")
                               .order_by(AuditEvent.id)).all()


def _section(page: str, heading_id: str) -> str:
    """The text of one section of the notice: from its heading to the next h2."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<h2", start + 1)
    return page[start:end if end != -1 else len(page)]


# --- the page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("days, expected, absent", [
    ({"RETAIN_INACTIVE_DAYS": 1095, "RETAIN_WALK_IN_DAYS": 400, "RETAIN_AUDIT_DAYS": 2555},
     ["Accounts nobody has used for 1,095 days are erased.",
      "your name and email address are erased 400 days after the session.",
      "Audit log entries are erased after 2,555 days."],
     ["kept until"]),
    ({"RETAIN_INACTIVE_DAYS": 1, "RETAIN_WALK_IN_DAYS": 1, "RETAIN_AUDIT_DAYS": 1},
     ["Accounts nobody has used for 1 day are erased.", "erased 1 day after the session.",
      "Audit log entries are erased after 1 day."],
     ["1 days", "kept until"]),
    ({"RETAIN_INACTIVE_DAYS": 0, "RETAIN_WALK_IN_DAYS": 0, "RETAIN_AUDIT_DAYS": 0},
     ["Accounts are kept until the person or their organisation erases them.",
      "your name and email address are kept until the trainer or the organisation erases them.",
      "Audit log entries are kept until they are erased by hand."],
     ["0 days", "are erased after"]),
])
def test_the_notice_gives_the_retention_periods_from_the_settings(database_url, days, expected, absent):
    app = make_test_app(database_url, **days)
    try:
        response = app.test_client().get("/privacy")
        assert response.status_code == 200
        how_long = text_of(response)
        how_long = how_long[how_long.index('id="how-long"'):how_long.index('id="who-sees-it"')]
        for sentence in expected:
            assert sentence in how_long
        for wrong in absent:
            assert wrong not in how_long
    finally:
        app.extensions["lms.engine"].dispose()


def test_anyone_can_read_the_notice_and_it_says_training_records_only(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    page = text_of(response)
    panel = page[page.index('id="training-records-only"'):page.index('id="controller"')]
    for sentence in (TRAINING_RECORDS_ONLY, NEVER_CONCERNS, "follow your organisation's safeguarding procedure",
                     "In an emergency, call 999."):
        assert sentence in panel
    # What is held, the lawful bases, who sees it and the person's rights.
    for words in ("name, email address and preferred language", "organisation, team and role",
                  "quiz attempts and answers", "the name you give, your email address if you give one, and when you agreed",
                  "Your answers are anonymous. They are not tied to your name.", "reminder emails",
                  "downloads of training reports, reminders, invitations and changes to certificates",
                  "public task (UK GDPR Article 6(1)(e))", "consent (UK GDPR Article 6(1)(a))",
                  "You can withdraw your consent", "Prevent Champions, for the teams they look after",
                  "Trainers, for the sessions they run.", "only to keep it working",
                  "Nobody else. Your data is not shared or used for any other purpose.",
                  "without the person's name", "shows as issued, with the holder's details erased",
                  "Erase your account, on your account page.", "Information Commissioner's Office"):
        assert words in page, words
    assert 'href="https://ico.org.uk/"' in page
    assert 'href="/account"' in _section(page, "your-rights")
    # Nobody signed in and no organisation asked for: the general sentence, no organisation named.
    assert "The organisation that asked you to use this service is responsible for your data." in page
    assert NORTHMOOR not in page and EASTGATE not in page


def test_a_signed_in_person_sees_their_own_organisations_details(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    _set_details(app, north, "Northmoor Borough Council (data controller)", "dpo@northmoor.example\n1 High Street")
    client.sign_in("learner@example.org")  # a member of Northmoor only
    response = client.get("/privacy")
    assert response.status_code == 200
    controller = _section(text_of(response), "controller")
    assert "Northmoor Borough Council (data controller)" in controller
    assert "dpo@northmoor.example<br>1 High Street" in controller
    assert EASTGATE not in controller
    assert "The organisation that asked you" not in controller
    assert TRAINING_RECORDS_ONLY in text_of(response)
    assert "Accounts nobody has used for 1,095 days are erased." in text_of(response)

    # The trainer works for both: Northmoor's details, and Eastgate's name with "not filled in".
    trainer = FormClient(app.test_client(), [])
    trainer.sign_in("trainer@example.org")
    controller = _section(text_of(trainer.get("/privacy")), "controller")
    assert "dpo@northmoor.example" in controller
    assert f"{EASTGATE} has not filled in its details yet." in controller
    assert f"{NORTHMOOR} has not filled in" not in controller
    assert controller.index(EASTGATE) < controller.index("Northmoor Borough Council (data controller)")  # by name


def test_an_organisation_named_in_the_link_shows_its_details_and_only_its(app, client, demo):
    north, east = demo["organisations"][NORTHMOOR], demo["organisations"][EASTGATE]
    _set_details(app, north, "", "Data protection officer\r\n\r\n<script>alert(1)</script>\n")
    _set_details(app, east, "Eastgate Community Association CIO", "")
    page = client.get(notice_path(north)).get_data(as_text=True)
    controller = _section(page, "controller")
    # No controller name given: the organisation's own name stands; the contact's text is escaped.
    assert "Responsible for your data" in controller and NORTHMOOR in controller
    assert "Data protection officer<br>&lt;script&gt;alert(1)&lt;/script&gt;" in controller
    assert "<script>" not in page
    assert "Eastgate" not in controller
    east_page = text_of(client.get(notice_path(east)))
    controller = _section(east_page, "controller")
    assert "Eastgate Community Association CIO" in controller
    assert "How to contact them" not in controller and NORTHMOOR not in controller
    # A signed-in learner of Northmoor following an Eastgate link sees Eastgate's, not their own.
    client.sign_in("learner@example.org")
    controller = _section(text_of(client.get(notice_path(east))), "controller")
    assert "Eastgate Community Association CIO" in controller and NORTHMOOR not in controller


def test_an_organisation_that_has_not_filled_in_its_details_is_named_and_says_so(client, demo):
    east = demo["organisations"][EASTGATE]
    controller = _section(text_of(client.get(notice_path(east))), "controller")
    assert f"{EASTGATE} has not filled in its details yet. Ask it who to contact about your data." in controller
    assert "Responsible for your data" not in controller


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "1e3", " 1", "1 ", "+1", "0x1", "１", "2147483648",
                                 "99999999999999999999", "", "1\x00", "%00", "' OR 1=1 --"])
def test_a_malformed_organisation_id_is_a_clear_404(client, demo, raw):
    response = client.get("/privacy", query_string={"organisation": raw})
    assert response.status_code == 404
    assert NOT_FOUND in text_of(response)


def test_an_unknown_organisation_is_a_clear_404_and_a_known_one_is_not(app, client, demo):
    with database(app) as session:
        unknown = session.scalar(select(func.max(Organisation.id))) + 1
    response = client.get(notice_path(unknown))
    assert response.status_code == 404 and NOT_FOUND in text_of(response)
    assert client.get(notice_path(unknown - 1)).status_code == 200
    # Signed in makes no difference: an organisation of one's own is no excuse for a bad id.
    client.sign_in("orgadmin@example.org")
    assert client.get(notice_path(unknown)).status_code == 404
    assert client.get("/privacy?organisation=abc").status_code == 404
    # An organisation's number alone names nothing: the numbers cannot be walked to list them.
    assert client.get(f"/privacy?organisation={unknown - 1}").status_code == 404
    forged = notice_path(unknown - 1)[:-2] + ("AA" if not notice_path(unknown - 1).endswith("AA") else "BB")
    assert client.get(forged).status_code == 404


def test_the_notice_is_fully_marked_for_translation(pseudo_client):  # noqa: F811
    with database(pseudo_client.client.application) as session:
        session.get(Organisation, 1).privacy_contact = "dpo@northmoor.example"
        session.commit()
    data = DEMO_DATA + ["ico.org.uk", "dpo@northmoor.example"]
    for path in ("/privacy", notice_path(1), notice_path(2), "/privacy?organisation=nope"):
        assert unmarked(pseudo_client.get(path).get_data(as_text=True), data) == [], path
    pseudo_client.sign_in("trainer@example.org")
    assert unmarked(pseudo_client.get("/privacy").get_data(as_text=True), data) == []


# --- the organisation's details ----------------------------------------------------------------

def test_an_org_admin_saves_the_details_stripped_and_the_audit_log_records_it(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    organisation_page = text_of(client.get(f"/org/{north}"))
    assert "You have not said yet who is responsible" in organisation_page
    assert f'href="/org/{north}/privacy"' in organisation_page
    page = client.get(f"/org/{north}/privacy")
    assert page.status_code == 200
    assert f'href="{notice_path(north)}"' in page.get_data(as_text=True)
    response = client.submit(f"/org/{north}/privacy", {
        "controller": "  Northmoor Borough Council\u202e (Information Governance)  ",
        "contact": "  dpo@northmoor.example\r\n\r\n   Civic Centre,\t1 High Street  \r\n\x00\n"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/org/{north}#privacy")
    assert _details(app, north) == ("Northmoor Borough Council (Information Governance)",
                                    "dpo@northmoor.example\nCivic Centre, 1 High Street")
    [event] = _privacy_events(app)
    assert event.organisation_id == north and event.actor_id == demo["users"]["orgadmin@example.org"]
    assert event.details == {"changed": ["controller", "contact"]}
    log = text_of(client.get(f"/org/{north}/audit"))
    assert "Changed the organisation's details on the privacy notice" in log
    assert "who is responsible for people's data; how to contact them" in log
    # The organisation page and the public notice show them.
    assert "Northmoor Borough Council (Information Governance)" in text_of(client.get(f"/org/{north}"))
    assert "dpo@northmoor.example<br>Civic Centre, 1 High Street" in text_of(
        FormClient(app.test_client(), []).get(notice_path(north)))
    # The form shows what is saved; saving it unchanged records nothing more.
    form = text_of(client.get(f"/org/{north}/privacy"))
    assert 'value="Northmoor Borough Council (Information Governance)"' in form
    assert client.submit(f"/org/{north}/privacy", {"controller": "Northmoor Borough Council (Information Governance)",
                                                   "contact": "dpo@northmoor.example\nCivic Centre, 1 High Street"}
                         ).status_code == 302
    assert len(_privacy_events(app)) == 1
    # Changing one field records that one; emptying both is allowed.
    assert client.submit(f"/org/{north}/privacy", {"controller": "", "contact": "dpo@northmoor.example\nCivic Centre, 1 High Street"}).status_code == 302
    assert _privacy_events(app)[-1].details == {"changed": ["controller"]}
    assert client.submit(f"/org/{north}/privacy", {"controller": "", "contact": "  \r\n "}).status_code == 302
    assert _details(app, north) == ("", "")
    assert _privacy_events(app)[-1].details == {"changed": ["contact"]}
    assert f"{NORTHMOOR} has not filled in its details yet." in text_of(client.get(notice_path(north)))


def test_the_longest_details_allowed_are_saved(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    controller, contact = "C" * 300, ("x" * 99 + "\n") * 9 + "y" * 100  # 1,000 characters in all
    assert len(contact) == 1000
    assert client.submit(f"/org/{north}/privacy", {"controller": controller, "contact": contact}).status_code == 302
    assert _details(app, north) == (controller, contact)


@pytest.mark.parametrize("data, field, message", [
    ({"controller": "C" * 301, "contact": ""}, "controller", "The name must be 300 characters or fewer"),
    ({"controller": "Council", "contact": "x" * 1001}, "contact", "The contact details must be 1,000 characters or fewer"),
    ({"controller": "C" * 301, "contact": "x" * 1001}, "controller", "The name must be 300 characters or fewer"),
])
def test_over_long_details_are_refused_with_a_400_and_keep_nothing(app, client, demo, data, field, message):
    north = demo["organisations"][NORTHMOOR]
    _set_details(app, north, "Before", "before@northmoor.example")
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{north}/privacy", data)
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page
    assert f'<a href="#{field}">{message}</a>' in page
    assert 'aria-invalid="true"' in page
    assert snapshot(app) == before
    assert _privacy_events(app) == []


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.post(f"/org/{north}/privacy", data={"controller": "Forged", "contact": ""})
    assert response.status_code == 400
    assert snapshot(app) == before


@pytest.mark.parametrize("email", ["learner@example.org", "champion@example.org", "trainer@example.org",
                                   "eastgate-admin@example.org", "guardian@example.org"])
def test_only_the_organisations_admins_may_change_the_details(app, client, demo, email):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in(email)
    before = snapshot(app)
    # The same answer as the organisation's other settings give them.
    expected = client.get(f"/org/{north}/training").status_code
    assert expected == 404
    assert client.get(f"/org/{north}/privacy").status_code == expected
    refused = client.submit(f"/org/{north}/privacy", {"controller": "Taken over", "contact": "evil@example.org"},
                            form_page="/account")
    assert refused.status_code == expected
    assert snapshot(app) == before
    assert f'href="/org/{north}/privacy"' not in client.get(f"/org/{north}").get_data(as_text=True)


def test_nobody_signed_out_may_change_the_details_and_a_site_admin_may(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    response = client.get(f"/org/{north}/privacy")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    client.sign_in("admin@example.org")
    assert client.submit(f"/org/{north}/privacy", {"controller": "Set by the site admin", "contact": ""}).status_code == 302
    assert _details(app, north) == ("Set by the site admin", "")
    [event] = _privacy_events(app)
    assert event.actor_id == demo["users"]["admin@example.org"]
    # An organisation that does not exist is not found, for the site admin too.
    assert client.get("/org/999999/privacy").status_code == 404


def test_the_settings_page_and_its_audit_entry_are_fully_marked(pseudo_client):  # noqa: F811
    pseudo_client.sign_in("orgadmin@example.org")
    assert unmarked(pseudo_client.get("/org/1/privacy").get_data(as_text=True), DEMO_DATA) == []
    refused = pseudo_client.submit("/org/1/privacy", {"controller": "C" * 301, "contact": ""})
    assert refused.status_code == 400
    assert unmarked(refused.get_data(as_text=True), DEMO_DATA + ["C" * 301]) == []
    saved = pseudo_client.submit("/org/1/privacy", {"controller": "Northmoor DPO", "contact": "dpo@northmoor.example"},
                                 follow_redirects=True)
    data = DEMO_DATA + ["Northmoor DPO", "dpo@northmoor.example"]
    html = saved.get_data(as_text=True)
    assert unmarked(html, data + re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}|http://localhost/join/[\w-]+", html)) == []
    assert unmarked(pseudo_client.get("/org/1/audit").get_data(as_text=True), data) == []


# --- links to the notice -----------------------------------------------------------------------

def test_every_page_footer_links_to_the_notice(app, client, demo):
    for path in ("/", "/sign-in", "/join", "/verify", "/privacy", "/no-such-page"):
        footer = client.get(path).get_data(as_text=True).split('<footer class="site-footer">')[1]
        assert 'href="/privacy"' in footer, path
    client.sign_in("learner@example.org")
    footer = client.get("/courses").get_data(as_text=True).split('<footer class="site-footer">')[1]
    assert 'href="/privacy"' in footer


def _invite_token(app, organisation_id: int) -> str:
    with database(app) as session:
        return session.get(Organisation, organisation_id).invite_token


def test_the_sign_up_and_join_pages_link_to_the_organisations_notice(app, client, demo):
    north, east = demo["organisations"][NORTHMOOR], demo["organisations"][EASTGATE]
    main = client.get("/join").get_data(as_text=True).split('<main')[1].split("</main>")[0]
    assert 'href="/privacy"' in main
    register = client.get(f"/join/{_invite_token(app, north)}")
    assert register.status_code == 200 and "Create your account" in text_of(register)
    main = register.get_data(as_text=True).split('<main')[1]
    assert f'href="{notice_path(north)}"' in main
    # A personal invitation names its organisation the same way.
    client.sign_in("orgadmin@example.org")
    client.submit(f"/org/{north}/invite", {"email": "new@example.org", "name": "", "role": "learner", "team": ""})
    client.sign_out()
    token = re.search(r"/invitation/([\w-]+)", client.outbox[-1].get_content()).group(1)
    assert f'href="{notice_path(north)}"' in client.get(f"/invitation/{token}").get_data(as_text=True)
    # Someone signed in, joining another organisation, is shown that organisation's notice.
    client.sign_in("guardian@example.org")
    confirm = client.get(f"/join/{_invite_token(app, north)}").get_data(as_text=True)
    assert "Join Northmoor Borough Council" in html.unescape(confirm)
    assert f'href="{notice_path(north)}"' in confirm
    assert f'href="{notice_path(east)}"' not in confirm


def test_the_check_in_pages_link_to_the_sessions_organisations_notice(app, client, workshop):  # noqa: F811
    assert 'href="/privacy"' in client.get("/check-in").get_data(as_text=True).split("<main")[1].split("</main>")[0]
    page = client.get(f"/check-in/{workshop['code']}").get_data(as_text=True)
    main = page.split("<main")[1].split("</main>")[0]
    assert f'href="{notice_path(workshop["org"])}"' in main
    assert "I agree that my name is kept" in html.unescape(main)  # the walk-in's form, with the link beside it
    client.sign_in("learner@example.org")
    page = client.get(f"/check-in/{workshop['code']}").get_data(as_text=True)
    assert f'href="{notice_path(workshop["org"])}"' in page.split("<main")[1]


# --- free-text fields say training records only ------------------------------------------------

def _hint_of(page: str, field_id: str) -> str:
    match = re.search(rf'<div id="{field_id}-hint" class="hint">(.*?)</div>', page, re.S)
    assert match, f"no hint for {field_id}"
    tag = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>', page) or re.search(rf'<textarea[^>]*name="{field_id}"[^>]*>', page)
    assert tag and f"{field_id}-hint" in tag.group(0), "the field is not described by its hint"
    return html.unescape(match.group(1))


def test_the_evaluation_comment_says_training_records_only(app, workshop):  # noqa: F811
    phone = FormClient(app.test_client(), [])
    response = phone.get(f"/check-in/{workshop['code']}/before")
    assert response.status_code == 200
    hint = _hint_of(response.get_data(as_text=True), "comment")
    assert HINT in hint and "talk to your trainer" in hint


def test_the_session_notes_say_training_records_only(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("trainer@example.org")
    assert HINT in _hint_of(client.get(f"/org/{north}/sessions/new").get_data(as_text=True), "notes")
    assert client.submit(f"/org/{north}/sessions/new", session_form(notes="Bring a laptop")).status_code == 302
    with database(app) as session:
        upcoming = session.scalars(select(Workshop).where(Workshop.organisation_id == north)).one()
    edit = client.get(f"/org/{north}/sessions/{upcoming.id}/edit")
    assert edit.status_code == 200
    assert HINT in _hint_of(edit.get_data(as_text=True), "notes")


def test_the_revoke_reason_says_training_records_only(app, client, demo):
    north = demo["organisations"][NORTHMOOR]
    with database(app) as session:
        learner = session.get(User, demo["users"]["learner@example.org"])
        completion = Completion(user_id=learner.id, course_id="tiny", course_version="1", language="en", method="online",
                                completed_at=utcnow() - timedelta(days=2), expires_at=utcnow() + timedelta(days=700))
        session.add(completion)
        session.flush()
        certificate = Certificate(completion_id=completion.id, code=codes.new_code(), organisation_id=north)
        session.add(certificate)
        session.commit()
        certificate_id = certificate.id
    client.sign_in("orgadmin@example.org")
    page = client.get(f"/org/{north}/certificates/{certificate_id}/revoke")
    assert page.status_code == 200
    hint = _hint_of(page.get_data(as_text=True), "reason")
    assert HINT in hint and "not shown publicly" in hint
