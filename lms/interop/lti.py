"""LTI 1.3: this service as a tool that an organisation's learning platform (Moodle, Totara,
Canvas...) launches, with single sign-on, and that sends results back through Assignment and
Grade Services. pylti1p3 does the protocol; this module keeps its records in the database.

A launch, in order:
1. The platform sends the browser to /lti/login. The platform must be registered (issuer and
   client ID) by an admin of the organisation it belongs to. A nonce is kept in
   lti_launch_values, not in the session cookie, which browsers hold back from the
   platform's cross-site form post; a state cookie (pylti1p3's) ties the launch to the browser.
2. The platform posts a signed id token to /lti/launch. pylti1p3 checks the state, the
   signature against the platform's published keys, the issuer and audience (a registration),
   the expiry, the deployment and the message. Then the nonce is used up, so the same token
   can never be posted twice.
3. The platform's user is found, or given an account here, by the platform's stable "sub" for
   them (never by email address, which a platform could assert for anyone); they join the
   platform's organisation as a learner, and are signed in on the course.

A completion of a course that a platform launched writes an LtiScore in the same transaction;
the queue sends it to the platform (the tool's key signs the token request), and retries while
the platform does not take it. A learner's page never waits on a platform.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from flask_babel import lazy_gettext as _l
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deployment import Deployment
from pylti1p3.grade import Grade
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.lineitem import LineItem
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms import jobs
from lms.audit import services as audit
from lms.catalogue import Course
from lms.db import utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.models import LtiAccount, LtiGradeLink, LtiLaunchValue, LtiPlatform, LtiScore, LtiToolKey, User
from lms.people import passwords
from lms.people import services as people
from lms.people.scope import Scope

log = logging.getLogger(__name__)

PLATFORM_ADDED = "lti_platform_added"
PLATFORM_REMOVED = "lti_platform_removed"

# Long enough for a slow platform page between login and launch; a nonce unused by then is dead.
LOGIN_LIFETIME_SECONDS = 600
# A platform that does not answer in this long is treated as down: the launch is refused, or
# the score waits for the next try.
PLATFORM_TIMEOUT_SECONDS = 10
SCORE_BATCH = 100
# The address an account gets when its platform sends none, or one already in use here. The
# .invalid domain can never receive mail (RFC 2606), and mail to it is not attempted.
NO_ADDRESS_DOMAIN = "lti.invalid"

CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
RESOURCE_LINK_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
PRESENTATION_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
TARGET_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


class LaunchRefused(Exception):
    """A login or launch that did not pass the checks. Nothing was recorded."""


class ScoresUnsent(RuntimeError):
    """A platform did not take the scores; they wait for the next try."""


class _PatientSession(requests.Session):
    """Every request to a platform with a time limit (pylti1p3 sets none)."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", PLATFORM_TIMEOUT_SECONDS)
        return super().request(method, url, **kwargs)


# --- the tool's key --------------------------------------------------------------------------

def tool_keys(db: Session) -> list[LtiToolKey]:
    """This service's signing keys, made on first need. Two made at once by two workers are
    both published, so either one's signature verifies; the oldest signs."""
    keys = list(db.scalars(select(LtiToolKey).order_by(LtiToolKey.id)))
    if keys:
        return keys
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    key = LtiToolKey(kid=Registration.get_jwk(public_pem)["kid"], private_pem=private_pem, public_pem=public_pem)
    db.add(key)
    db.commit()
    return [key]


def _jwks_of(keys: list[LtiToolKey]) -> dict:
    return {"keys": [dict(Registration.get_jwk(key.public_pem)) for key in keys]}


def jwks(db: Session) -> dict:
    """The public keys, made first if there are none yet."""
    return _jwks_of(tool_keys(db))


def published_keys(db: Session) -> dict:
    """The public keys there are, reading only (none before the first is made)."""
    return _jwks_of(list(db.scalars(select(LtiToolKey).order_by(LtiToolKey.id))))


def _registration(platform: LtiPlatform, key: LtiToolKey | None = None) -> Registration:
    registration = (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
                    .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
                    .set_key_set_url(platform.key_set_url))
    if key is not None:
        registration.set_tool_private_key(key.private_pem).set_tool_public_key(key.public_pem)
    return registration


# --- what pylti1p3 reads and keeps -----------------------------------------------------------

def find_platform(db: Session, issuer: str | None, client_id: str | None) -> LtiPlatform | None:
    """The registration for an issuer and client ID. A login may leave the client ID out; then
    the issuer must have only one registration here."""
    if not issuer:
        return None
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        return db.scalars(query.where(LtiPlatform.client_id == client_id)).first()
    found = list(db.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


class _RegisteredPlatforms(ToolConfAbstract):
    """The registrations, as pylti1p3 asks for them: several times a launch, from one query."""

    def __init__(self, db: Session):
        super().__init__()
        self._db = db
        self._found: dict[tuple[str | None, str | None], LtiPlatform | None] = {}

    def platform(self, iss: str | None, client_id: str | None) -> LtiPlatform | None:
        if (iss, client_id) not in self._found:
            self._found[iss, client_id] = find_platform(self._db, iss, client_id)
        return self._found[iss, client_id]

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = self.platform(iss, client_id)
        return _registration(platform) if platform else None

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = self.platform(iss, client_id)
        if platform is None or deployment_id not in (platform.deployment_ids or []):
            return None
        return Deployment().set_deployment_id(deployment_id)


class _DatabaseStorage(LaunchDataStorage):
    """pylti1p3's values (nonces, and which state went with which token) in lti_launch_values."""

    def __init__(self, db: Session):
        super().__init__()
        self._db = db

    def get_session_cookie_name(self):
        return None  # keyed by the random values themselves, never by a cookie the post may lack

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str):
        row = self._db.get(LtiLaunchValue, self._prepare_key(key))
        return row.value["value"] if row is not None and row.expires_at > utcnow() else None

    def set_value(self, key: str, value, exp: int | None = None) -> None:
        self._db.merge(LtiLaunchValue(key=self._prepare_key(key), value={"value": value},
                                      expires_at=utcnow() + timedelta(seconds=exp or LOGIN_LIFETIME_SECONDS)))

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def use_up(self, key: str) -> bool:
        """Delete a value; True for the one caller that deleted it."""
        result = self._db.execute(delete(LtiLaunchValue).where(LtiLaunchValue.key == self._prepare_key(key),
                                                               LtiLaunchValue.expires_at > utcnow()))
        return result.rowcount == 1


class _Launch(FlaskMessageLaunch):
    def save_launch_data(self):
        # The launch is acted on at once; its claims (names, addresses) are not kept for later.
        return self


# --- login and launch ------------------------------------------------------------------------

def begin_login(db: Session, launch_url: str):
    """The response to a platform's login initiation: to its authorisation page, with a nonce
    kept here (the caller commits) and a state cookie. Raises LaunchRefused for an unknown
    platform or a request without the parameters a login needs."""
    db.execute(delete(LtiLaunchValue).where(LtiLaunchValue.expires_at <= utcnow()))
    storage = _DatabaseStorage(db)
    login = FlaskOIDCLogin(FlaskRequest(), _RegisteredPlatforms(db), launch_data_storage=storage)
    login.set_launch_data_storage(storage).set_launch_data_lifetime(LOGIN_LIFETIME_SECONDS)
    try:
        return login.redirect(launch_url)
    except Exception as error:  # pylti1p3 raises plain exceptions, asserts and OIDCException alike
        log.info("LTI login refused: %s", error)
        raise LaunchRefused(str(error)) from error


@dataclass(frozen=True)
class CheckedLaunch:
    """An id token that passed every check; its nonce is not yet used up."""

    platform_id: int
    subject: str
    nonce: str
    claims: dict


def check_launch(db: Session) -> CheckedLaunch:
    """Check the posted id token, reading only (the platform's keys are fetched meanwhile, so
    no write lock is held). Raises LaunchRefused when any check fails."""
    registered = _RegisteredPlatforms(db)
    message = _Launch(FlaskRequest(), registered, launch_data_storage=_DatabaseStorage(db),
                      requests_session=_PatientSession())
    # An id token with no expiry or issue time is refused, not taken as never expiring.
    message.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
    try:
        claims = message.get_launch_data()
    except Exception as error:  # every failed check; pylti1p3 raises several kinds
        log.info("LTI launch refused: %s", error)
        raise LaunchRefused(str(error)) from error
    if not message.is_resource_launch():
        raise LaunchRefused("Only resource link launches open a course.")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise LaunchRefused("The launch names no user.")
    platform = registered.platform(message.get_iss(), message.get_client_id())
    return CheckedLaunch(platform_id=platform.id, subject=subject, nonce=claims["nonce"], claims=claims)


@dataclass(frozen=True)
class Launched:
    user: User
    organisation_id: int
    course_id: str | None
    language: str | None


def admit(db: Session, checked: CheckedLaunch, courses: dict[str, Course], languages: set[str]) -> Launched:
    """Use up the launch's nonce and give its person their account, in one transaction that the
    caller commits. Of two posts of one token, only one gets past the nonce."""
    if not _DatabaseStorage(db).use_up(f"nonce-{checked.nonce}"):
        raise LaunchRefused("This launch has been used already.")
    platform = db.get(LtiPlatform, checked.platform_id)
    if platform is None:  # removed since the check
        raise LaunchRefused("The platform is no longer registered.")
    claims = checked.claims
    account = _account_for(db, platform, checked.subject, claims, languages)
    course_id = _course_asked_for(claims, courses)
    language = _language_asked_for(claims, courses.get(course_id) if course_id else None, languages)
    if course_id is not None and isinstance(claims.get(AGS_CLAIM), dict):
        _keep_grade_link(db, account, course_id, claims)
    db.flush()
    return Launched(user=account.user, organisation_id=platform.organisation_id, course_id=course_id,
                    language=language)


def _text(value, limit: int) -> str:
    """A claim's text, as a one-line field here keeps it (no control characters, which
    PostgreSQL refuses), or "" for a claim that is not text."""
    return people.one_line(value)[:limit] if isinstance(value, str) else ""


def _display_name(claims: dict) -> str:
    name = _text(claims.get("name"), 200) or _text(
        f"{_text(claims.get('given_name'), 100)} {_text(claims.get('family_name'), 100)}", 200)
    return name or _text(claims.get("preferred_username"), 200)


def _address_for(db: Session, platform: LtiPlatform, subject: str, claims: dict) -> str:
    """The platform's address for the person when it sends one that no account here has;
    otherwise one that can never receive mail."""
    given = claims.get("email")
    if isinstance(given, str) and given:
        try:
            address = people.normalise_email(given)
        except InvalidInput:
            address = None
        if address and people.find_user_by_email(db, address) is None:
            return address
    digest = hashlib.sha256(f"{platform.id}:{subject}".encode()).hexdigest()[:24]
    return f"platform-{platform.id}-{digest}@{NO_ADDRESS_DOMAIN}"


def _account_for(db: Session, platform: LtiPlatform, subject: str, claims: dict, languages: set[str]) -> LtiAccount:
    account = db.scalars(select(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                                  LtiAccount.subject == subject)).first()
    name = _display_name(claims)
    if account is None:
        # Nobody knows this password: the account signs in through its platform, or sets a
        # password by the usual reset when it has a real address.
        # (Not people.create_user: the address made here is one no mail can reach, on purpose.)
        user = User(email=_address_for(db, platform, subject, claims), name=name or str(_l("Learner")),
                    password_hash=passwords.hash_password(secrets.token_urlsafe(32)),
                    preferred_language=_language_asked_for(claims, None, languages))
        account = LtiAccount(platform_id=platform.id, subject=subject, user=user)
        db.add(account)
    elif name and name != account.user.name:
        account.user.name = name  # the platform keeps its people's names; its latest word stands
    account.user.last_seen_at = utcnow()
    # The platform's people belong to its organisation; one an admin removed comes back as a
    # learner, as the platform still sends them here.
    people.join_organisation(db, account.user, platform.organisation)
    return account


def _course_asked_for(claims: dict, courses: dict[str, Course]) -> str | None:
    """The course in the custom parameter course=..., or the target link's ?course= or
    /courses/<id>; None when the launch names no course offered here."""
    custom = claims.get(CUSTOM_CLAIM) if isinstance(claims.get(CUSTOM_CLAIM), dict) else {}
    candidates = [custom.get("course")]
    target = claims.get(TARGET_CLAIM)
    if isinstance(target, str):
        parts = urlsplit(target)
        candidates += parse_qs(parts.query).get("course", [])
        segments = [segment for segment in parts.path.split("/") if segment]
        if len(segments) >= 2 and segments[-2] == "courses":
            candidates.append(segments[-1])
    return next((c for c in candidates if isinstance(c, str) and c in courses), None)


def _language_asked_for(claims: dict, course: Course | None, languages: set[str]) -> str | None:
    custom = claims.get(CUSTOM_CLAIM) if isinstance(claims.get(CUSTOM_CLAIM), dict) else {}
    presentation = claims.get(PRESENTATION_CLAIM) if isinstance(claims.get(PRESENTATION_CLAIM), dict) else {}
    offered = set(course.languages) if course is not None else languages
    for asked in (custom.get("lang"), presentation.get("locale")):
        if isinstance(asked, str) and asked:
            for candidate in (asked, asked.replace("-", "_").split("_")[0].lower()):
                if candidate in offered:
                    return candidate
    return None


def _keep_grade_link(db: Session, account: LtiAccount, course_id: str, claims: dict) -> None:
    resource = claims.get(RESOURCE_LINK_CLAIM) if isinstance(claims.get(RESOURCE_LINK_CLAIM), dict) else {}
    link = db.scalars(select(LtiGradeLink).where(LtiGradeLink.account_id == account.id,
                                                 LtiGradeLink.course_id == course_id)).first()
    if link is None:
        link = LtiGradeLink(account_id=account.id, course_id=course_id)
        db.add(link)
    link.resource_link_id = _text(resource.get("id"), 255)
    link.endpoint = claims[AGS_CLAIM]
    link.updated_at = utcnow()


# --- results back to the platform -------------------------------------------------------------

def course_completed(db: Session, *, user_id: int, course: Course, percent: int, when: datetime) -> None:
    """A learner passed a course: a score for each platform that launched it for them, sent
    once the transaction commits."""
    links = db.scalars(select(LtiGradeLink).join(LtiAccount).where(LtiAccount.user_id == user_id,
                                                                   LtiGradeLink.course_id == course.id))
    for link in links:
        scopes = link.endpoint.get("scope") or []
        if SCORE_SCOPE not in scopes:
            continue
        db.add(LtiScore(grade_link_id=link.id, payload={
            "scoreGiven": percent, "scoreMaximum": 100, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded", "timestamp": when.isoformat()}))
        jobs.enqueue_after_commit(db, send_waiting)


@dataclass(frozen=True)
class _Outgoing:
    """A score and where it goes, as plain values: no transaction stays open while it is sent."""

    score_id: int
    registration: Registration
    endpoint: dict
    subject: str
    course_id: str
    course_title: str
    payload: dict


def _put(outgoing: _Outgoing, session: requests.Session) -> None:
    from pylti1p3.service_connector import ServiceConnector

    service = AssignmentsGradesService(ServiceConnector(outgoing.registration, requests_session=session),
                                       outgoing.endpoint)
    payload = outgoing.payload
    grade = (Grade().set_score_given(payload["scoreGiven"]).set_score_maximum(payload["scoreMaximum"])
             .set_activity_progress(payload["activityProgress"]).set_grading_progress(payload["gradingProgress"])
             .set_timestamp(payload["timestamp"]).set_user_id(outgoing.subject))
    line_item = None
    if not outgoing.endpoint.get("lineitem"):
        # The link has no line item of its own: the course's, found by its resource id or made.
        line_item = service.find_or_create_lineitem(
            LineItem().set_label(outgoing.course_title).set_score_maximum(100)
            .set_resource_id(outgoing.course_id).set_tag(outgoing.course_id), find_by="resource_id")
    service.put_grade(grade, line_item)


def _title(catalogue, course_id: str) -> str:
    course = catalogue.get(course_id)
    return course.title("en") if course is not None else course_id


def send_waiting_now(db: Session) -> int:
    """Send every score that waits, oldest first; how many were sent. Raises ScoresUnsent (after
    noting why on each) when a platform did not take some; the others are sent all the same."""
    key = tool_keys(db)[0]
    catalogue = current_app.extensions["lms.catalogue"]
    sent, failed, last_id = 0, 0, 0
    session = _PatientSession()
    while True:
        batch = db.scalars(select(LtiScore).where(LtiScore.sent_at.is_(None), LtiScore.id > last_id)
                           .order_by(LtiScore.id).limit(SCORE_BATCH)
                           .options(joinedload(LtiScore.grade_link).joinedload(LtiGradeLink.account)
                                    .joinedload(LtiAccount.platform)))
        waiting = [
            _Outgoing(score_id=score.id, registration=_registration(score.grade_link.account.platform, key),
                      endpoint=dict(score.grade_link.endpoint), subject=score.grade_link.account.subject,
                      course_id=score.grade_link.course_id, course_title=_title(catalogue, score.grade_link.course_id),
                      payload=dict(score.payload))
            for score in batch]
        # The platform fetches this service's keys while it is asked; on SQLite an open
        # transaction here would hold the write lock that the key page may need.
        db.commit()
        if not waiting:
            break
        for outgoing in waiting:
            last_id = outgoing.score_id
            try:
                _put(outgoing, session)
            except Exception as error:  # a platform's refusal, time-out or odd answer alike
                problem = str(error)[:500]
            else:
                problem = None
            score = db.get(LtiScore, outgoing.score_id)
            if score is not None:  # not dropped meanwhile with its platform or person
                if problem is None:
                    score.sent_at, score.last_error = utcnow(), None
                    sent += 1
                else:
                    score.attempts += 1
                    score.last_error = problem
                    failed += 1
            db.commit()
    if failed:
        raise ScoresUnsent(f"{failed} score(s) not taken by their platform")
    return sent


def send_waiting() -> None:
    """The queued task: send the scores that wait (the queue retries while a platform is down)."""
    from lms import db as database

    send_waiting_now(database.get_session())


# --- registering platforms -------------------------------------------------------------------

@dataclass(frozen=True)
class PlatformDetails:
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str


def _url(value: str, field: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(value) > 1000 or any(c.isspace() for c in value):
        raise InvalidInput(_l("Enter a web address starting with https://"), field)
    return value


def _deployments(raw: list[str]) -> list[str]:
    found = list(dict.fromkeys(people.one_line(item) for item in raw if people.one_line(item)))
    if not found:
        raise InvalidInput(_l("Enter at least one deployment ID"), "deployment_ids")
    if len(found) > 50 or any(len(item) > 255 for item in found):
        raise InvalidInput(_l("Enter up to 50 deployment IDs, each 255 characters or fewer"), "deployment_ids")
    return found


def register_platform(db: Session, scope: Scope, details: PlatformDetails, *, actor: User) -> LtiPlatform:
    if not scope.can_manage:
        raise OutOfScope()
    name = people.one_line(details.name)
    if not name or len(name) > 200:
        raise InvalidInput(_l("Enter a name for the platform, 200 characters or fewer"), "name")
    issuer = _url(details.issuer, "issuer")
    client_id = people.one_line(details.client_id)
    if not client_id or len(client_id) > 255:
        raise InvalidInput(_l("Enter the client ID the platform gave, 255 characters or fewer"), "client_id")
    platform = LtiPlatform(
        organisation_id=scope.organisation_id, name=name, issuer=issuer, client_id=client_id,
        deployment_ids=_deployments(details.deployment_ids),
        auth_login_url=_url(details.auth_login_url, "auth_login_url"),
        auth_token_url=_url(details.auth_token_url, "auth_token_url"), key_set_url=_url(details.key_set_url, "key_set_url"))
    if find_platform(db, issuer, client_id) is not None:
        raise InvalidInput(_l("A platform with this issuer and client ID is registered already"), "client_id")
    db.add(platform)
    try:
        db.flush()
    except IntegrityError:  # registered by someone else a moment ago
        db.rollback()
        raise InvalidInput(_l("A platform with this issuer and client ID is registered already"), "client_id") from None
    audit.record(db, scope.organisation_id, actor, PLATFORM_ADDED, platform=name)
    return platform


def platforms_of(db: Session, scope: Scope) -> list[LtiPlatform]:
    if not scope.can_manage:
        raise OutOfScope()
    return list(db.scalars(select(LtiPlatform).where(LtiPlatform.organisation_id == scope.organisation_id)
                           .order_by(LtiPlatform.name, LtiPlatform.id)))


def remove_platform(db: Session, scope: Scope, platform_id: int, *, actor: User) -> None:
    """The platform can launch no more, and scores waiting for it are dropped. Its people keep
    their accounts and records here."""
    platform = db.get(LtiPlatform, platform_id)
    if platform is None or platform.organisation_id != scope.organisation_id or not scope.can_manage:
        raise OutOfScope()
    db.delete(platform)
    audit.record(db, scope.organisation_id, actor, PLATFORM_REMOVED, platform=platform.name)
