"""Replying to a citizen on the channel they wrote on (I/O): WhatsApp through the WhatsApp
Business Cloud API, SMS through a Twilio-compatible Messages API, behind one ``send_reply``.

WhatsApp allows free text only inside the 24-hour customer-service window that the citizen's
last message opened; outside it only an approved template may be sent (``whatsapp_payload``
decides, pure). Only the configured base URLs are called (SUARA_WHATSAPP_GRAPH_URL,
SUARA_SMS_API_URL), redirects are never followed, every wait on the network is bounded
(``timeout_s``) and so is every answer read (64 KiB).

A failure is either ``outbound.Unavailable`` (network, time limit, HTTP 429 or 5xx: the caller
tries again later) or ``Rejected`` (any other 4xx, a redirect, a channel that is unknown or not
configured: trying again cannot help, the delivery is recorded as failed). Neither names the
recipient or the text, and neither does the log (the channel and the delivery key only): a
provider's error message can quote the number, so only its numeric error code is kept.

Neither API takes an idempotency key for sending a message. The caller records each delivery
once and claims it before sending; a process that dies after the provider accepted a message
and before the delivery was settled sends it a second time when the claim expires. That
window is accepted (a duplicate status message, never a lost one).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.client import HTTPException

from services.notification.outbound import Unavailable

log = logging.getLogger(__name__)

CHANNELS = ("whatsapp", "sms")
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the citizen's message
SMS_MAX = 1600  # Twilio's limit on a message body, in characters
WHATSAPP_TEXT_MAX = 4096  # the Cloud API's limit on a text message body
MAX_ANSWER = 65536
TIMEOUT_S = 10.0
# the locale each language's template is approved in (WhatsApp Manager); Indonesian by default
TEMPLATE_LANGUAGES = {"id": "id", "en": "en_US"}
ELLIPSIS = "..."  # GSM-7, unlike "…", which would make every SMS segment UCS-2 (70 characters)


class Rejected(Exception):
    """The provider refused the message, or the channel cannot send: permanent, not retried."""


@dataclass(frozen=True)
class Reply:
    text: str  # the message in the citizen's language, plain text
    template: str  # the approved WhatsApp template outside the window ("": the configured one)
    template_params: tuple[str, ...]  # the template's body parameters, in order
    language: str  # "id" or "en"


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Is WhatsApp's 24-hour customer-service window open? Unknown: no."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut at a word boundary when one is near the
    end, marked with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    space = max(head.rfind(c) for c in " \n\t")
    if space >= len(head) * 4 // 5:  # a boundary near the end: keep whole words
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def template_param(value: str) -> str:
    """A template body parameter as the Cloud API takes it: no newlines or tabs, no runs of
    spaces (it refuses those with error 132018)."""
    return " ".join(str(value).split()) or "-"


def whatsapp_payload(
    reply: Reply, to: str, last_inbound_at: datetime | None, now: datetime
) -> dict:
    """The Cloud API's message: the text inside the window, else the approved template."""
    message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    if in_window(last_inbound_at, now):
        return {
            **message,
            "type": "text",
            "text": {"preview_url": False, "body": cut(reply.text, WHATSAPP_TEXT_MAX)},
        }
    parameters = [{"type": "text", "text": template_param(p)} for p in reply.template_params]
    template: dict = {
        "name": reply.template,
        "language": {"code": template_language(reply.language)},
    }
    if parameters:
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {**message, "type": "template", "template": template}


def template_language(language: str) -> str:
    return TEMPLATE_LANGUAGES.get(language, TEMPLATE_LANGUAGES["id"])


def sms_form(reply: Reply, to: str, sms: dict) -> dict[str, str]:
    """The Messages API's form: a Messaging Service when one is configured, else the number."""
    form = {"To": to, "Body": cut(reply.text, SMS_MAX)}
    if sms.get("messaging_service_sid"):
        form["MessagingServiceSid"] = sms["messaging_service_sid"]
    else:
        form["From"] = sms["from"]
    return form


def send_reply(
    providers: dict,
    channel: str,
    to: str,
    reply: Reply,
    *,
    last_inbound_at: datetime | None,
    now: datetime,
    key: str,
    timeout_s: float = TIMEOUT_S,
) -> str:
    """Send ``reply`` to ``to`` on ``channel`` ("whatsapp" or "sms"); the provider's message id.

    ``providers`` is the config's PROVIDERS (``{"whatsapp": {...} | None, "sms": {...} |
    None}``); ``key`` names the delivery in the log. Unavailable: try again later; Rejected:
    do not."""
    if channel not in CHANNELS:
        raise Rejected(f"no replies on channel {channel!r}")
    settings = providers.get(channel)
    if not settings:
        raise Rejected(f"{channel} replies are not configured")
    if not to:
        raise Rejected(f"{channel}: no recipient")
    try:
        if channel == "whatsapp":
            if not reply.template:
                reply = replace(reply, template=settings["template"])
            message_id = _whatsapp(
                settings, whatsapp_payload(reply, to, last_inbound_at, now), timeout_s
            )
        else:
            message_id = _sms(settings, sms_form(reply, to, settings), timeout_s)
    except (Unavailable, Rejected) as exc:
        log.warning("%s reply %s not sent: %s", channel, key, exc)
        raise
    log.info("%s reply %s sent", channel, key)
    return message_id


def _whatsapp(whatsapp: dict, payload: dict, timeout_s: float) -> str:
    phone = urllib.parse.quote(whatsapp["phone_number_id"], safe="")
    answer = _post(
        f"{whatsapp['graph_url']}/{phone}/messages",
        json.dumps(payload).encode(),
        {"Authorization": f"Bearer {whatsapp['token']}", "Content-Type": "application/json"},
        "whatsapp",
        timeout_s,
    )
    try:
        return str(answer["messages"][0]["id"])
    except (KeyError, IndexError, TypeError):
        raise Unavailable("whatsapp: the answer has no message id") from None


def _sms(sms: dict, form: dict[str, str], timeout_s: float) -> str:
    account = urllib.parse.quote(sms["account_sid"], safe="")
    login = base64.b64encode(f"{sms['account_sid']}:{sms['auth_token']}".encode()).decode()
    answer = _post(
        f"{sms['url']}/2010-04-01/Accounts/{account}/Messages.json",
        urllib.parse.urlencode(form).encode(),
        {"Authorization": f"Basic {login}", "Content-Type": "application/x-www-form-urlencoded"},
        "sms",
        timeout_s,
    )
    if not isinstance(answer, dict) or not answer.get("sid"):
        raise Unavailable("sms: the answer has no sid")
    return str(answer["sid"])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise Rejected(f"the provider answered {code} (a redirect): not followed")


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict, channel: str, timeout_s: float):
    """POST and the JSON answer; each network wait within ``timeout_s``, and the whole read of
    the answer too."""
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            data = _read(response, deadline)
    except urllib.error.HTTPError as exc:
        code = exc.code
        detail = _error_code(exc)
        exc.close()
        if code == 429 or code >= 500 or code < 400:
            raise Unavailable(f"{channel}: the provider answered {code}{detail}") from None
        raise Rejected(f"{channel}: the provider answered {code}{detail}") from None
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        raise Unavailable(f"{channel}: {type(exc).__name__}: {_reason(exc)}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise Unavailable(f"{channel}: the answer is not JSON") from None


def _read(response, deadline: float) -> bytes:
    chunks, size = [], 0
    while size <= MAX_ANSWER:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took longer than the time limit")
        chunk = response.read(min(8192, MAX_ANSWER + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_ANSWER:
        raise ValueError(f"the answer is larger than {MAX_ANSWER} bytes")
    return b"".join(chunks)


def _error_code(exc: urllib.error.HTTPError) -> str:
    """The provider's numeric error code (never its message: it can quote the number)."""
    try:
        answer = json.loads(exc.read(MAX_ANSWER))
    except (OSError, ValueError, HTTPException):
        return ""
    if not isinstance(answer, dict):
        return ""
    error = answer.get("error") if isinstance(answer.get("error"), dict) else answer
    code = error.get("code")
    return f" (error {code})" if isinstance(code, int) else ""


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", exc)
    return str(reason)[:200]
