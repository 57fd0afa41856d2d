"""Sending email. SMTP comes from settings; without a server the message is printed,
so password resets and invites work in development."""
from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage

from flask import current_app


def send_email(to: str, subject: str, body: str) -> None:
    config = current_app.config
    if to.lower().endswith(".invalid"):
        # An account with no address of its own (a platform launched it without one): the
        # .invalid domain can never receive mail (RFC 2606), so nothing is sent.
        return
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)

    outbox = config.get("MAIL_OUTBOX")
    if outbox is not None:  # tests read what would have been sent
        outbox.append(message)
        return
    if not config["MAIL_SERVER"]:
        print(f"\n----- email (no LMS_SMTP_HOST set, so printed here) -----\n{message}\n-----", file=sys.stderr, flush=True)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
