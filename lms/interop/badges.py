"""Certificates as Open Badges 2.0, with hosted verification: a holder takes the badge (an SVG
with its assertion baked in) to another platform, which checks it here.

Nothing new is stored. The assertion is built from the certificate each time it is asked for;
its recipient is the holder's email address hashed with a salt derived from the certificate's
code and the server's secret, so the public assertion names nobody and the platform the holder
gives their address to can still check it is theirs. A revoked certificate's assertion answers
410 Gone with revoked: true, as the specification asks; so does one whose holder's details were
erased. Issuers are named in links by a signed token, not their number, so organisations
cannot be listed by walking ids.
"""
from __future__ import annotations

import hashlib
import hmac
from html import escape

from itsdangerous import BadSignature, URLSafeSerializer

from lms.catalogue import Course
from lms.certify import codes
from lms.models import Certificate, Organisation

CONTEXT = "https://w3id.org/openbadges/v2"
_ISSUER_SALT = "open-badges-issuer"
PLATFORM_ISSUER = "service"  # the issuer of a certificate no organisation issued


def issuer_key(secret: str, organisation_id: int | None) -> str:
    return URLSafeSerializer(secret, salt=_ISSUER_SALT).dumps(organisation_id or PLATFORM_ISSUER)


def issuer_from_key(secret: str, key: str) -> int | str | None:
    """The organisation id (or PLATFORM_ISSUER) a key names; None for a forged or malformed one."""
    try:
        found = URLSafeSerializer(secret, salt=_ISSUER_SALT).loads(key)
    except BadSignature:
        return None
    return found if found == PLATFORM_ISSUER or (isinstance(found, int) and not isinstance(found, bool)) else None


def _salt(secret: str, certificate: Certificate) -> str:
    return hmac.new(secret.encode(), f"badge-salt:{certificate.code}".encode(), hashlib.sha256).hexdigest()[:16]


def recipient(secret: str, certificate: Certificate, email: str) -> dict:
    salt = _salt(secret, certificate)
    identity = "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    return {"type": "email", "hashed": True, "salt": salt, "identity": identity}


def assertion_url(base: str, certificate: Certificate) -> str:
    return f"{base}/badges/assertions/{codes.display(certificate.code)}"


def badge_class_url(base: str, secret: str, organisation_id: int | None, course_id: str) -> str:
    return f"{base}/badges/classes/{issuer_key(secret, organisation_id)}/{course_id}"


def issuer_url(base: str, secret: str, organisation_id: int | None) -> str:
    return f"{base}/badges/issuers/{issuer_key(secret, organisation_id)}"


def assertion(base: str, secret: str, certificate: Certificate) -> dict:
    """The hosted assertion of a certificate held by an account (only an account has an email
    address to receive a badge at)."""
    completion = certificate.completion
    return {
        "@context": CONTEXT, "type": "Assertion", "id": assertion_url(base, certificate),
        "recipient": recipient(secret, certificate, completion.user.email),
        "badge": badge_class_url(base, secret, certificate.organisation_id, completion.course_id),
        "verification": {"type": "hosted"},
        "issuedOn": certificate.issued_at.isoformat(), "expires": completion.expires_at.isoformat(),
    }


def revoked(base: str, certificate: Certificate, reason: str) -> dict:
    """The body of a revoked assertion, as hosted verification asks (410 Gone with the id and
    revoked: true): it no longer says who it was made out to, or for what."""
    return {"@context": CONTEXT, "type": "Assertion", "id": assertion_url(base, certificate), "revoked": True,
            "revocationReason": reason}


def badge_class(base: str, secret: str, organisation_id: int | None, course: Course) -> dict:
    return {
        "@context": CONTEXT, "type": "BadgeClass", "id": badge_class_url(base, secret, organisation_id, course.id),
        "name": course.title(), "description": course.summary() or course.title(),
        "image": f"{base}/badges/images/{course.id}.svg",
        "criteria": {"narrative": f"Completed {course.title()}: passed its quiz (pass mark {course.pass_mark}%) "
                                  "or attended a session of it."},
        "issuer": issuer_url(base, secret, organisation_id),
    }


def issuer(base: str, secret: str, organisation: Organisation | None) -> dict:
    return {"@context": CONTEXT, "type": "Issuer", "id": issuer_url(base, secret, organisation.id if organisation else None),
            "name": organisation.name if organisation else "Prevent LMS", "url": f"{base}/"}


def image(course: Course) -> str:
    """The badge's picture: a ring with the course's title, drawn here so no file is needed."""
    words = course.title().split()
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) > 16 and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    text = "".join(f'<tspan x="100" dy="{0 if i == 0 else 20}">{escape(part)}</tspan>' for i, part in enumerate(lines[:4]))
    first = 100 - 10 * (min(len(lines), 4) - 1)
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200" role="img">'
            f'<title>{escape(course.title())}</title>'
            '<circle cx="100" cy="100" r="94" fill="#1d70b8"/><circle cx="100" cy="100" r="80" fill="#fff"/>'
            f'<text x="100" y="{first}" text-anchor="middle" font-family="sans-serif" font-size="15" '
            f'fill="#0b0c0c">{text}</text></svg>')


def baked(svg: str, url: str) -> str:
    """The SVG with the assertion's address baked in (Open Badges 2.0 baking for SVG)."""
    head, _, rest = svg.partition(">")
    return (f'{head} xmlns:openbadges="http://openbadges.org">'
            f'<openbadges:assertion verify="{escape(url)}"/>{rest}')
