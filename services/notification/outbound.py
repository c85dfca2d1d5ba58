"""Notification's doors to the outside (I/O): intake's reply addresses, and the SMTP relay."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid

from services.notification.messages import Mail


class Unavailable(Exception):
    """Intake or the relay did not answer: the event is retried later (transient)."""


def reply_address(intake_url: str, api_key: str, reply_id: str) -> dict | None:
    """Where a citizen's reply goes (intake's GET /api/v1/replies/{id}), or None."""
    url = f"{intake_url}/api/v1/replies/{urllib.parse.quote(reply_id)}"
    request = urllib.request.Request(url, headers={"X-API-Key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read(65536))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise Unavailable(f"intake answered {exc.code} for {reply_id}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unavailable(f"intake: {exc}") from None


def send_mail(smtp: dict, to: str, mail: Mail, delivery_id: str) -> None:
    """One mail through the relay (STARTTLS and login when configured). Its Message-ID is
    derived from the delivery, so a mail sent again after a crash is recognisably the same."""
    message = EmailMessage()
    message["From"] = smtp["sender"]
    message["To"] = to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=delivery_id.replace(":", "."), domain="suara")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply loops
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    try:
        with smtplib.SMTP(smtp["host"], smtp["port"], timeout=20) as client:
            if smtp["starttls"]:
                client.starttls()
            if smtp["user"]:
                client.login(smtp["user"], smtp["password"])
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise Unavailable(f"SMTP {smtp['host']}:{smtp['port']}: {exc}") from None
