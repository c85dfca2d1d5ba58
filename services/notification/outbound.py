"""Notification's doors to the outside (I/O): intake's reply addresses, and the SMTP relay."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

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


def work_list(intake_url: str, api_key: str, department_id: str, pages: int) -> tuple[list, bool]:
    """A department's open cases from intake's work list (GET /api/v1/cases), oldest due first,
    at most ``pages`` pages of 200; and whether there were more."""
    cases: list[dict] = []
    cursor = None
    for _ in range(pages):
        query = {"department_id": department_id, "limit": 200}
        if cursor:
            query["cursor"] = cursor
        url = f"{intake_url}/api/v1/cases?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, headers={"X-API-Key": api_key})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                page = json.loads(response.read(4 * 1024 * 1024))
        except urllib.error.HTTPError as exc:
            raise Unavailable(f"intake answered {exc.code} for the work list") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unavailable(f"intake: {exc}") from None
        cases.extend(page["cases"])
        cursor = page.get("next_cursor")
        if not cursor:
            return cases, False
    return cases, True


def message_id(delivery_id: str, sender: str) -> str:
    """The delivery's Message-ID, the same on every attempt (``<SU-....status.3.citizen@
    suara.pekalongankota.go.id>``, the sender's domain): a mail sent again after a crash is
    one a mail system recognises as a duplicate."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "suara.invalid"
    local = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]", "-", delivery_id.replace(":", "."))
    return f"<{local.strip('.')}@{domain}>"


def send_mail(smtp: dict, to: str, mail: Mail, delivery_id: str, unsubscribe: str = "") -> None:
    """One mail through the relay (STARTTLS and login when configured). Its Message-ID is
    derived from the delivery, so a mail sent again after a crash is recognisably the same.
    With an ``unsubscribe`` link, the headers that let a mail client offer it (RFC 2369) in
    one click (RFC 8058: the client POSTs ``List-Unsubscribe=One-Click`` to it)."""
    # headers are not folded or encoded below RFC 5322's hard limit: a long List-Unsubscribe
    # URL stays one readable <...> that mail clients act on
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"] = smtp["sender"]
    message["To"] = to
    message["Subject"] = mail.subject
    message["Message-ID"] = message_id(delivery_id, smtp["sender"])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply loops
    if unsubscribe.startswith(("https://", "http://")):
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    try:
        client = smtplib.SMTP(smtp["host"], smtp["port"], timeout=20)
    except (smtplib.SMTPException, OSError) as exc:
        raise Unavailable(f"SMTP {smtp['host']}:{smtp['port']}: {exc}") from None
    try:
        if smtp["starttls"]:  # the relay's certificate and name checked, as a mail client does
            client.starttls(context=ssl.create_default_context(cafile=smtp.get("ca_file") or None))
        if smtp["user"]:
            client.login(smtp["user"], smtp["password"])
        client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        client.close()
        raise Unavailable(f"SMTP {smtp['host']}:{smtp['port']}: {exc}") from None
    try:  # the relay has the mail: how it answers QUIT changes nothing
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
