"""Open Badges 2.0 (issue 15): a certificate's badge checked by an independent validator, the
openbadges package from PyPI (run from tests/badges/.venv, which `make test` installs), which
fetches the assertion, badge class, issuer and image from this app over HTTP."""
from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from lms.certify import codes
from lms.certify.services import issue_certificate
from lms.dates import add_months
from lms.db import utcnow
from lms.models import Certificate, Completion, User
from lms.privacy import erasure
from tests.conftest import FormClient, database

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "tests/badges/.venv/bin/python"
NORTHMOOR = "Northmoor Borough Council"


@pytest.fixture
def served(app):
    """The app on a real port of the loopback, its public address pointing there."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app
    server.shutdown()


@pytest.fixture
def certificate(served, demo):
    """Lena's certificate of the tiny course, issued by Northmoor."""
    with database(served) as session:
        user_id = demo["users"]["learner@example.org"]
        now = utcnow()
        completion = Completion(user_id=user_id, course_id="tiny", course_version="1", language="en", method="online",
                                completed_at=now, expires_at=add_months(now, 24))
        session.add(completion)
        session.flush()
        code = issue_certificate(session, completion.id, demo["organisations"][NORTHMOOR]).code
        session.commit()
    return codes.display(code)


def validate(app, code: str, email: str) -> dict:
    if not VALIDATOR.exists():
        pytest.fail("The Open Badges validator is not installed: run `make test`, which installs it")
    url = f"{app.config['BASE_URL']}/badges/assertions/{code}"
    done = subprocess.run([str(VALIDATOR), str(ROOT / "tests/badges/validate.py"), url, email], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def messages(report: dict) -> str:
    return " ".join(str(message.get("result")) for message in report["messages"])


def test_a_certificates_badge_passes_the_independent_validator(served, certificate):
    report = validate(served, certificate, "learner@example.org")
    assert report["valid"] is True and report["errorCount"] == 0, messages(report)
    # The address is the holder's; the badge was not made out to anyone else.
    other = validate(served, certificate, "learner2@example.org")
    assert other["valid"] is False and "did not match" in messages(other)


def test_the_public_assertion_names_nobody(served, certificate):
    client = served.test_client()
    body = client.get(f"/badges/assertions/{certificate}").get_json()
    text = json.dumps(body)
    assert body["recipient"]["hashed"] is True and body["recipient"]["identity"].startswith("sha256$")
    assert "learner@example.org" not in text and "Lena" not in text
    issuer = client.get(body["badge"].removeprefix(served.config["BASE_URL"])).get_json()["issuer"]
    assert client.get(issuer.removeprefix(served.config["BASE_URL"])).get_json()["name"] == NORTHMOOR
    assert "/issuers/1" not in issuer  # named by a signed key, not a number to walk


def test_a_revoked_certificates_badge_fails_verification(served, certificate):
    with database(served) as session:
        found = session.scalars(select(Certificate)).one()
        found.revoked_at, found.revoked_reason = utcnow(), "Issued in error"
        session.commit()
    response = served.test_client().get(f"/badges/assertions/{certificate}")
    assert response.status_code == 410 and response.get_json()["revoked"] is True
    # The validator reads the revoked body as the assertion, which no longer holds a recipient,
    # a badge or a date: it fails.
    report = validate(served, certificate, "learner@example.org")
    assert report["valid"] is False and "Required property recipient not present" in messages(report), messages(report)


def test_an_erased_holders_badge_fails_verification(served, demo, certificate):
    with database(served) as session:
        erasure.erase_account(session, demo["users"]["learner@example.org"], erasure.Storage.of(served), erased_by=None,
                              reason=erasure.OWN_REQUEST)
        session.commit()
    response = served.test_client().get(f"/badges/assertions/{certificate}")
    assert response.status_code == 410 and "erased" in response.get_json()["revocationReason"]
    assert validate(served, certificate, "learner@example.org")["valid"] is False


def test_the_holder_downloads_the_badge_with_its_assertion_baked_in(served, demo, certificate):
    holder = FormClient(served.test_client(), [])
    holder.sign_in("learner@example.org")
    assert f"/certificates/{certificate}/badge.svg" in holder.get("/courses/tiny").get_data(as_text=True)
    response = holder.get(f"/certificates/{certificate}/badge.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert f'<openbadges:assertion verify="{served.config["BASE_URL"]}/badges/assertions/{certificate}"/>' in svg
    other = FormClient(served.test_client(), [])
    other.sign_in("learner2@example.org")
    assert other.get(f"/certificates/{certificate}/badge.svg").status_code == 404
    assert served.test_client().get(f"/certificates/{certificate}/badge.svg").status_code == 302


@pytest.mark.parametrize("path", ["/badges/assertions/XXXX-XXXX-XXXX-XXXX-X", "/badges/assertions/%00",
                                  "/badges/classes/forged.key/tiny", "/badges/issuers/forged.key",
                                  "/badges/images/nope.svg"])
def test_unknown_or_forged_addresses_are_404s(served, demo, path):
    assert served.test_client().get(path).status_code == 404
