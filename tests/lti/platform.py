"""An LTI 1.3 platform for the tests, made of lti1p3platform's parts (a project this one did not
write): its registration of the tool, OIDC login initiation, the launch (an id token signed with
the platform's key), access tokens (the tool's signed client assertion checked against the keys
the tool publishes) and the Assignment and Grade Services line items, which keep every score
they are sent. lti1p3platform leaves the web endpoints to its user; a small Flask app serves
them on the loopback, as Moodle would serve its own.

The test browser is a requests.Session: it follows the redirects between the platform and the
tool, and posts the launch form as the platform's page would.
"""
from __future__ import annotations

import html
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, redirect, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from werkzeug.serving import make_server

LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                   "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                   "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"]


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class Person:
    """Someone on the platform, and what their launch should carry."""

    sub: str
    name: str = "Pat Platform"
    email: str | None = "pat@platform.example"
    custom: dict = field(default_factory=lambda: {"course": "tiny"})
    locale: str | None = None
    resource_link_id: str = "resource-link-1"
    # Claims put over the id token's own (a wrong audience, another deployment...).
    overrides: dict = field(default_factory=dict)
    # Seconds the id token lives; a negative number makes one that has already expired.
    lifetime: int = 300
    with_grades: bool = True
    # A line item of the activity's own (as Moodle gives each activity), instead of the tool
    # finding or making one in the course's list.
    own_line_item: bool = False


class _FlaskRequest(Request):
    def build_metadata(self, flask_request):
        return {"method": flask_request.method, "form_data": flask_request.form.to_dict(),
                "get_data": flask_request.args.to_dict(), "headers": dict(flask_request.headers),
                "content_type": flask_request.content_type, "path": flask_request.path, "json": None}


class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs):
        self.platform = kwargs["platform"]

    def get_registration_by_params(self, **kwargs):
        platform = self.platform
        registration = Registration()
        registration.set_iss(platform.issuer).set_client_id(platform.client_id)
        registration.set_deployment_id(platform.deployment_id).set_oidc_login_url(platform.tool_login_url)
        registration.set_launch_url(platform.tool_launch_url)
        registration.set_platform_public_key(platform.public_key).set_platform_private_key(platform.private_key)
        registration.set_tool_key_set_url(platform.tool_jwks_url)
        return registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs):
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url):
        return redirect(url)


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def get_preflight_response(self):
        return self._request.get_data

    def render_launch_form(self, launch_data, **kwargs):
        # As a platform's page does: the browser posts the form at once.
        return (f'<!doctype html><title>Launching</title>'
                f'<form method="post" action="{html.escape(launch_data["launch_url"])}">'
                f'<input type="hidden" name="id_token" value="{html.escape(launch_data["id_token"])}">'
                f'<input type="hidden" name="state" value="{html.escape(launch_data["state"])}">'
                f'<button type="submit">Continue</button></form><script>document.forms[0].submit()</script>')


class Platform:
    """The platform, served on a free loopback port until stop()."""

    def __init__(self, tool_base: str, *, client_id: str = "prevent-lms", deployment_id: str = "deployment-1",
                 host: str = "127.0.0.1"):
        self.tool_login_url = f"{tool_base}/lti/login"
        self.tool_launch_url = f"{tool_base}/lti/launch"
        self.tool_jwks_url = f"{tool_base}/lti/jwks.json"
        self.client_id, self.deployment_id = client_id, deployment_id
        self.private_key, self.public_key = _key_pair()
        self.people: dict[str, Person] = {}
        self.line_items: dict[str, dict] = {}
        self.scores: list[tuple[str, dict]] = []
        self.token_requests = 0
        self._ids = itertools.count(1)
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        # Another host name than the tool's makes the platform another site to a browser.
        self.issuer = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()

    # What an admin copies from the platform into the tool's registration form.
    def details(self) -> dict[str, str]:
        return {"name": "Trust Moodle", "issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": self.deployment_id, "auth_login_url": f"{self.issuer}/auth",
                "auth_token_url": f"{self.issuer}/token", "key_set_url": f"{self.issuer}/jwks"}

    def config(self) -> _Config:
        config = _Config(platform=self)
        config.get_registration()
        return config

    def start_url(self, person: Person) -> str:
        """Where a link on the platform's page sends the person to launch the tool."""
        hint = uuid.uuid4().hex
        self.people[hint] = person
        return f"{self.issuer}/start?hint={hint}"

    def launch_form(self, browser: requests.Session, person: Person) -> tuple[str, dict[str, str]]:
        """Start a launch for the person as the platform's page would, follow it through the
        tool's login to the platform's launch page, and return that page's form (action, fields)."""
        response = browser.get(self.start_url(person), allow_redirects=True)
        response.raise_for_status()
        action = re.search(r'action="([^"]+)"', response.text)
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
        assert action and "id_token" in fields, response.text[:500]
        return html.unescape(action.group(1)), {name: html.unescape(value) for name, value in fields.items()}

    def _bearer_allows(self, scopes: list[str]) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            return self.config().validate_token(header[7:], allowed_scopes=scopes)
        except Exception:  # noqa: BLE001 - any bad token is refused
            return False

    def _app(self) -> Flask:
        app = Flask("test-platform")

        @app.get("/start")
        def start():
            person = self.people[request.args["hint"]]
            login = _Login(_FlaskRequest(request), self.config())
            login.set_lti_message_hint(hint=request.args["hint"])
            return login.initiate_login(person.sub)

        @app.get("/auth")
        def auth():
            if request.args.get("redirect_uri") != self.tool_launch_url:
                return "redirect_uri is not the tool's registered launch URL", 400
            person = self.people.get(request.args.get("lti_message_hint", ""))
            if person is None or request.args.get("login_hint") != person.sub:
                return "unknown login", 400
            launch = _Launch(_FlaskRequest(request), self.config())
            launch.set_user_data(person.sub, [LEARNER_ROLE], full_name=person.name, email_address=person.email)
            launch.set_resource_link_claim(person.resource_link_id, title="Prevent training")
            launch.set_custom_parameters_claim(person.custom)
            launch.set_launch_context_claim("course-section-1", context_title="Safeguarding 2027")
            if person.locale:
                launch.set_extra_claims({"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":
                                         {"document_target": "window", "locale": person.locale}})
            if person.with_grades and person.own_line_item:
                item_id = f"{self.issuer}/lineitems/{next(self._ids)}"
                self.line_items[item_id] = {"id": item_id, "label": "Prevent training", "scoreMaximum": 100,
                                            "resourceLinkId": person.resource_link_id}
                launch.set_ags(lineitems_url=f"{self.issuer}/lineitems", lineitem_url=item_id,
                               allow_creating_lineitems=True)
            elif person.with_grades:
                launch.set_ags(lineitems_url=f"{self.issuer}/lineitems", allow_creating_lineitems=True)
            launch.set_extra_claims(person.overrides)
            launch.set_id_token_expiration(person.lifetime)
            return launch.lti_launch()

        @app.get("/jwks")
        def jwks():
            return jsonify(self.config().get_jwks())

        @app.post("/token")
        def token():
            self.token_requests += 1
            try:
                return jsonify(self.config().get_access_token(request.form.to_dict()))
            except Exception as error:  # noqa: BLE001 - the tool's assertion did not pass
                return jsonify({"error": "invalid_client", "error_description": str(error)}), 400

        @app.route("/lineitems", methods=["GET", "POST"])
        def line_items():
            if not self._bearer_allows(LINEITEM_SCOPES):
                return jsonify({"error": "unauthorised"}), 401
            if request.method == "POST":
                item = dict(request.get_json(force=True), id=f"{self.issuer}/lineitems/{next(self._ids)}")
                self.line_items[item["id"]] = item
                return jsonify(item), 201
            wanted = request.args.get("resource_id")
            return jsonify([item for item in self.line_items.values()
                            if wanted is None or item.get("resourceId") == wanted])

        @app.post("/lineitems/<int:number>/scores")
        def scores(number: int):
            if not self._bearer_allows([SCORE_SCOPE]):
                return jsonify({"error": "unauthorised"}), 401
            item_id = f"{self.issuer}/lineitems/{number}"
            if item_id not in self.line_items:
                return jsonify({"error": "no such line item"}), 404
            self.scores.append((item_id, request.get_json(force=True)))
            return "", 204

        return app
