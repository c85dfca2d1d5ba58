"""Messages from the providers citizens write through (pure): the WhatsApp Business Cloud API
webhook and a Twilio-compatible SMS webhook. Each is checked by its provider's signature and
read into ``Inbound`` messages; a message that asks for a case's status (``STATUS SU-...`` or
``CEK SU-...``) is a question, not a new report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared import untrusted

_STATUS = re.compile(r"^\s*(?:STATUS|CEK|STATUS:|CEK:)\s*(SU-[0-9A-Z]{10})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Inbound:
    channel: str  # whatsapp | sms | email
    message_id: str  # the provider's id: a repeat is the same message
    sender: str  # the citizen's address on that channel (personal data: stays in intake)
    text: str
    name: str | None = None  # the sender's display name, when the provider gives one
    media_ids: tuple[str, ...] = field(default_factory=tuple)  # the provider's photo ids

    @property
    def asks_status_of(self) -> str | None:
        """The case a status question asks about, if this is one."""
        match = _STATUS.match(self.text)
        return match.group(1).upper() if match else None


class SignatureInvalid(Exception):
    """The provider's signature is missing or wrong: nothing is stored (HTTP 401)."""


class PayloadInvalid(ValueError):
    """A signed payload we cannot read (HTTP 400)."""


# ---------------------------------------------------------------- WhatsApp


def whatsapp_handshake(args: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta verifies the webhook, else None (403)."""
    supplied = args.get("hub.verify_token", "")
    if (
        verify_token
        and args.get("hub.mode") == "subscribe"
        and hmac.compare_digest(supplied.encode(), verify_token.encode())
    ):
        challenge = args.get("hub.challenge", "")
        return challenge if re.fullmatch(r"[A-Za-z0-9_-]{1,200}", challenge) else None
    return None


def check_whatsapp_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``."""
    if not app_secret or not header or not header.startswith("sha256="):
        raise SignatureInvalid("X-Hub-Signature-256 is missing")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header[7:].strip().lower().encode(), expected.encode()):
        raise SignatureInvalid("X-Hub-Signature-256 does not match")


def whatsapp_messages(body: bytes) -> list[Inbound]:
    """The citizens' messages in a webhook delivery (text and image; delivery receipts and
    other kinds are not reports and are left out)."""
    try:
        doc = untrusted.json_object(body)
    except untrusted.UntrustedInput as exc:
        raise PayloadInvalid(f"body {exc.message}") from None
    if doc.get("object") != "whatsapp_business_account" or not isinstance(doc.get("entry"), list):
        raise PayloadInvalid("not a WhatsApp Business Account webhook")
    found = []
    for entry in doc["entry"]:
        for change in _list(entry, "changes"):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            names = {
                c.get("wa_id"): (c.get("profile") or {}).get("name")
                for c in _list(value, "contacts")
                if isinstance(c, dict)
            }
            for message in _list(value, "messages"):
                inbound = _whatsapp_message(message, names)
                if inbound is not None:
                    found.append(inbound)
    return found


def _list(doc, key: str) -> list:
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, list) else []


def _whatsapp_message(message, names: dict) -> Inbound | None:
    if not isinstance(message, dict):
        return None
    message_id, sender, kind = message.get("id"), message.get("from"), message.get("type")
    if not isinstance(message_id, str) or not isinstance(sender, str) or not message_id:
        raise PayloadInvalid("a message without id or from")
    if kind == "text":
        text = (message.get("text") or {}).get("body")
        media: tuple[str, ...] = ()
    elif kind == "image":
        image = message.get("image") or {}
        text, media = image.get("caption") or "", (str(image.get("id") or ""),)
        media = tuple(m for m in media if re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", m))
    else:
        return None  # audio, stickers, reactions, locations: not handled as reports yet
    if not isinstance(text, str):
        raise PayloadInvalid(f"message {message_id}: no text")
    name = names.get(sender)
    return Inbound(
        "whatsapp",
        message_id[:200],
        sender[:30],
        text[:5000],
        name[:200] if isinstance(name, str) else None,
        media,
    )


# ---------------------------------------------------------------- SMS (Twilio-compatible)


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 of HMAC-SHA1, keyed by the auth token, of the
    full URL followed by each POST parameter's name and value, sorted by name."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def check_twilio_signature(
    url: str, params: Mapping[str, str], header: str | None, auth_token: str
) -> None:
    if not auth_token or not header:
        raise SignatureInvalid("X-Twilio-Signature is missing")
    expected = twilio_signature(url, params, auth_token)
    if not hmac.compare_digest(header.strip().encode(), expected.encode()):
        raise SignatureInvalid("X-Twilio-Signature does not match")


def sms_message(params: Mapping[str, str]) -> Inbound:
    message_id, sender, body = params.get("MessageSid"), params.get("From"), params.get("Body")
    if not message_id or not re.fullmatch(r"[A-Za-z0-9]{10,64}", message_id):
        raise PayloadInvalid("MessageSid is missing or not an id")
    if not sender or not re.fullmatch(r"\+?[0-9]{6,20}", sender):
        raise PayloadInvalid("From is missing or not a phone number")
    if body is None:
        raise PayloadInvalid("Body is missing")
    return Inbound("sms", message_id, sender, body[:5000])


def as_submission(message: Inbound) -> dict:
    """The feedback submission a message makes: its text, and the sender as the contact the
    reply goes to (never in an event)."""
    address = "email" if message.channel == "email" else "phone"
    contact = {address: message.sender, "name": message.name, "language": "id"}
    return {
        "text": message.text.strip() or "(foto tanpa keterangan)",
        "contact": {k: v for k, v in contact.items() if v},
        "reply_to": {"channel": message.channel, "address": message.sender},
    }


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
