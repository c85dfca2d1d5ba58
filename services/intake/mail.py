"""Mail the city's mail server forwards to Suara (pure): a report from its subject and plain
text (HTML made text), its image attachments as photos; auto-replies and bounces are not
reports. A message is known by its ``Message-ID``: the same mail forwarded twice is one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from services.intake.channels import Inbound

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_ATTACHMENTS = 3


class NotAReport(ValueError):
    """An auto-reply, a bounce or a mail without a sender: dropped, with the reason."""


@dataclass(frozen=True)
class Mail:
    message: Inbound
    attachments: tuple[bytes, ...]


def read(raw: bytes) -> Mail:
    """A forwarded mail as a citizen's message; NotAReport for auto-replies and bounces."""
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(parsed, EmailMessage):
        raise NotAReport("not a mail")
    reason = _automatic(parsed)
    if reason:
        raise NotAReport(reason)
    name, address = parseaddr(str(parsed.get("From", "")))
    if not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", address or ""):
        raise NotAReport("no sender address")
    message_id = str(parsed.get("Message-ID", "")).strip().strip("<>")
    if not message_id:  # no Message-ID: the content itself keys it
        message_id = "sha256-" + hashlib.sha256(raw).hexdigest()[:40]
    subject = " ".join(str(parsed.get("Subject", "")).split())
    body = _text(parsed)
    text = "\n\n".join(part for part in (subject, body) if part).strip()
    attachments = tuple(
        part.get_content()
        for part in parsed.iter_attachments()
        if part.get_content_type() in IMAGE_TYPES
    )[:MAX_ATTACHMENTS]
    return Mail(
        Inbound("email", message_id[:250], address.lower()[:254], text[:5000], name or None),
        attachments,
    )


def _automatic(mail: EmailMessage) -> str | None:
    """Why a mail is automatic (RFC 3834 and common practice), or None."""
    auto = str(mail.get("Auto-Submitted", "no")).strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    if mail.get("X-Autoreply") or mail.get("X-Autorespond"):
        return "an auto-reply"
    if str(mail.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "Precedence: " + str(mail.get("Precedence"))
    if mail.get_content_type() == "multipart/report":
        return "a delivery report (bounce)"
    sender = parseaddr(str(mail.get("From", "")))[1].lower()
    if sender.startswith(("mailer-daemon@", "postmaster@")) or str(
        mail.get("Return-Path", "x")
    ).strip() in ("<>", ""):
        return "a bounce"
    return None


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return _strip_quoted(content)


def _strip_quoted(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    kept = [line for line in lines if not line.startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    return re.sub(r"\n\s*\n\s*", "\n\n", text).strip()
