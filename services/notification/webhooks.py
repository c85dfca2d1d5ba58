"""Integrator webhooks, the decisions (pure): what a subscription may be, which events it gets,
which addresses it may reach, how a delivery is signed, when it is tried again, and when an
endpoint that keeps failing is switched off.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): the body is the
CloudEvent (structured JSON) as Suara published it; ``webhook-id`` is the delivery's id (the
same on every attempt, the receiver's idempotency key), ``webhook-timestamp`` the attempt's
Unix time, and ``webhook-signature`` one ``v1,<base64 HMAC-SHA256>`` per valid secret,
space-separated (during a rotation the old secret signs too, for 24 hours).
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from standardwebhooks import Webhook

from shared import events
from shared.wilayah import WILAYAH

# what integrators may subscribe to: the public lifecycle of a case (notification's own
# events are not offered: a delivery announcing deliveries would feed itself)
EVENT_TYPES = (
    "feedback.received",
    "feedback.categorized",
    "feedback.urgent",
    "feedback.status_changed",
    "feedback.reassigned",
    "feedback.rated",
    "feedback.overdue",
)
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret still signs this long after a rotation
SECRET_PREFIX = "whsec_"
MAX_URL = 2000


class Filters(Schema):
    class Meta:
        unknown = EXCLUDE

    category = fields.String(validate=validate.OneOf(events.CATEGORY_IDS))
    kecamatan = fields.String(validate=validate.OneOf(WILAYAH.kecamatan))


class Subscription(Schema):
    """``POST /api/v1/webhooks``: what an integrator asks for."""

    class Meta:
        unknown = EXCLUDE

    url = fields.String(required=True, validate=validate.Length(min=8, max=MAX_URL))
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )
    filters = fields.Nested(Filters, load_default=dict)
    description = fields.String(load_default=None, validate=validate.Length(max=200))
    # told when the endpoint is switched off after failing for days (the integrator's
    # technical contact, not a citizen's)
    owner_email = fields.Email(load_default=None)

    @validates_schema
    def _check(self, data, **kwargs):
        if len(set(data.get("event_types", []))) != len(data.get("event_types", [])):
            raise ValidationError("listed more than once", "event_types")
        try:
            target(data["url"])
        except ValueError as exc:
            raise ValidationError(str(exc), "url") from None


def target(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a webhook URL, or ValueError: http(s), a host, no
    credentials or fragment."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("has no host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials (the signature authenticates Suara)")
    if parts.fragment:
        raise ValueError("must not have a fragment")
    if any(c.isspace() for c in url):
        raise ValueError("must not contain spaces")
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def refused_address(address: str) -> str | None:
    """Why a webhook may not be sent to ``address`` (an IP), or None when it is public.

    Anything not globally routable is refused: loopback, private (RFC 1918, unique local),
    link-local (169.254.0.0/16, where cloud metadata lives), carrier-grade NAT, multicast,
    reserved, unspecified; an IPv4 address mapped into IPv6 or wrapped by 6to4 is judged as
    itself, a Teredo address refused."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return f"{ip} is a Teredo tunnel address"
        # an IPv4 address mapped into IPv6, or wrapped by 6to4 (2002::/16), is judged as itself
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    for label, bad in (
        ("loopback", ip.is_loopback),
        ("link-local (cloud metadata)", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    ):
        if bad:
            return f"{ip} is {label}"
    return None


def allow_listed(host: str, port: int, allowed: frozenset[str]) -> bool:
    return f"{host.strip('[]').lower()}:{port}" in allowed


def retry_wait(failed_attempts: int, schedule: tuple[float, ...]) -> float | None:
    """The wait before the next attempt after ``failed_attempts`` failures, or None: give up."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    return schedule[failed_attempts - 1]


def should_disable(failing_since: datetime | None, now: datetime, after_s: float) -> bool:
    """An endpoint failing without a success for ``after_s`` (5 days) is switched off."""
    return failing_since is not None and (now - failing_since).total_seconds() >= after_s


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(subscription: dict, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one within 24 h of a
    rotation."""
    keys = [subscription["secret"]]
    old, until = subscription.get("previous_secret"), subscription.get("previous_until")
    if old and until is not None and now < until:
        keys.append(old)
    return keys


def headers(delivery_id: str, body: str, keys: list[str], now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (``now`` in any zone: the library signs
    the time as if it were UTC, so it gets it in UTC)."""
    now = now.astimezone(UTC)
    signatures = " ".join(Webhook(k).sign(delivery_id, now, body) for k in keys)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": events.CONTENT_TYPE,
        "user-agent": "Suara-Webhooks/1",
    }


def matches(subscription: dict, event_type: str, case: dict) -> bool:
    """Does an event about ``case`` (what notification knows of it: category, kecamatan) go to
    this subscription? A filter on a field the case does not have yet does not match (a
    category filter never matches ``feedback.received``: no category is known then)."""
    if not subscription.get("active") or event_type not in subscription["event_types"]:
        return False
    return all(case.get(name) == value for name, value in subscription["filters"].items())


def delivery_id(subscription_id: str, event_id: str) -> str:
    return f"{subscription_id}.{event_id}"


def public(subscription: dict) -> dict:
    """A subscription as its owner sees it (never a secret)."""
    return {
        "id": subscription["_id"],
        "url": subscription["url"],
        "event_types": subscription["event_types"],
        "filters": subscription["filters"],
        "description": subscription.get("description"),
        "owner": subscription["owner"],
        "active": subscription["active"],
        "disabled_reason": subscription.get("disabled_reason"),
        "failing_since": iso(subscription.get("failing_since")),
        "created_at": iso(subscription["created_at"]),
        "rotated_at": iso(subscription.get("rotated_at")),
    }


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds").replace("+00:00", "Z")
