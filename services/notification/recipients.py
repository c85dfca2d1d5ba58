"""Who hears a message, and on which channel (pure).

A citizen is answered where they wrote: on WhatsApp or SMS when they wrote there and that
channel replies (its provider is configured), else by e-mail when intake gives an address
(the contact's, or a mail's sender), else not at all. A department hears by e-mail at its
configured address (SUARA_DEPARTMENT_EMAILS) and, for an urgent case, on its on-call number
(SUARA_DEPARTMENT_ONCALL). Addresses are never kept: a delivery records a hash of the one it
went to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from shared.taxonomy import TAXONOMY

PHONE_CHANNELS = ("whatsapp", "sms")


@dataclass(frozen=True)
class Route:
    channel: str | None  # email | whatsapp | sms; None: nobody can be told
    to: str | None = None
    reason: str | None = None  # why nobody: no_address | unsubscribed | not_configured


def citizen_route(reply: dict | None, providers: dict) -> Route:
    """Where a citizen's message goes, from intake's reply address (GET /api/v1/replies/{id},
    None when intake knows none)."""
    if not reply:
        return Route(None, reason="no_address")
    channel, address = reply.get("channel"), reply.get("address")
    if channel in PHONE_CHANNELS and address and providers.get(channel):
        return Route(channel, address)
    email = reply.get("email") or (address if channel == "email" else None)
    if email:
        return Route("email", email)
    if reply.get("email_opted_out"):
        return Route(None, reason="unsubscribed")
    return Route(None, reason="no_address")


def department_id(ref: str | None) -> str:
    """A department's id from the id or name a delivery names it by ("triage" when none)."""
    return TAXONOMY.department_named(ref).id if ref else "triage"


def department_route(ref: str | None, emails: dict[str, str]) -> Route:
    address = emails.get(department_id(ref))
    return Route("email", address) if address else Route(None, reason="not_configured")


def oncall_route(ref: str | None, oncall: dict[str, tuple[str, str]], providers: dict) -> Route:
    target = oncall.get(department_id(ref))
    if target is None or not providers.get(target[0]):
        return Route(None, reason="not_configured")
    return Route(target[0], target[1])


def recipient_hash(address: str) -> str:
    """Whom a message went to, without the address: 16 hex digits of its SHA-256."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]


def parse_time(value: str | None) -> datetime | None:
    """An ISO time from intake (``last_inbound_at``), None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
