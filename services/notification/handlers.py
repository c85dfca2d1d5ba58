"""Notification's use cases: record what an event calls for, then send each delivery once.

A delivery is recorded under its deterministic id (so a redelivered event records nothing
new), claimed before it is sent (one process at a time; a claim of a process that died lapses
after store.SENDING_LEASE_S) and settled after, in the write that stages its
``notification.sent`` / ``notification.failed`` event. A citizen's message is tried at once,
inside the event's handling; a webhook is posted by a delivery job
(suara.notification.deliveries), so that a slow receiver never holds up the events. A failed
attempt is tried again after the retry schedule's next wait, through the broker's wait queues;
when the schedule runs out the job is dead-lettered and the delivery fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import escape
from marshmallow import Schema, ValidationError, fields, validate
from pymongo.database import Database

from services.notification import deliveries, messages, outbound, store, targets, webhooks
from shared import events, outbox, outbox_entries
from shared.events import Event, InvalidMessage
from shared.http import HttpError

log = logging.getLogger(__name__)

QUEUE = "suara.notification.deliveries"
OPEN = ("recorded", "sending")


@dataclass(frozen=True)
class Ports:
    """What the use cases may do on the broker: put a delivery job on the work queue (now or
    after a wait), dead-letter one with a reason, publish an outbox entry."""

    send_job: Callable[[str, bytes, float], None]
    dead_letter: Callable[[str, bytes, str], None]
    publish: Callable[[dict], None]


# ---------------------------------------------------------------- events


def on_event(db: Database, config: dict, ports: Ports, event: Event) -> int:
    """Record the event's deliveries; send the citizens' now, hand the webhooks to jobs.
    Returns how many were sent now."""
    planned = deliveries.plan(event)
    case = _note_case(db, event)
    hooks = _webhook_deliveries(db, event, case)
    store.record(db, planned + hooks)
    for delivery in hooks:
        ports.send_job(QUEUE, job_body(delivery["_id"], 0), 0)
    if not config.get("NOTIFICATION_API_KEY"):
        return 0  # no key to read addresses with: citizens' deliveries are recorded only
    sent = 0
    for delivery in planned:
        if _channel_for(delivery) is not None:
            sent += attempt(db, config, ports, delivery["_id"], 0)
    return sent


def _note_case(db: Database, event: Event) -> dict:
    data = event.data
    if event.type == "feedback.received":
        location = data.get("location") or {}
        return store.note_case(
            db,
            data["feedback_id"],
            kecamatan=location.get("kecamatan"),
            category=data.get("category"),
        )
    if "category" in data and event.type in ("feedback.categorized", "feedback.urgent"):
        return store.note_case(db, data["feedback_id"], category=data["category"])
    return store.case(db, data["feedback_id"])


def _webhook_deliveries(db: Database, event: Event, case: dict) -> list[dict]:
    if event.data.get("imported") or event.document is None:
        return []
    now = datetime.now(UTC)
    body = json.dumps(event.document, ensure_ascii=False, separators=(",", ":"))
    return [
        {
            "_id": webhooks.delivery_id(sub["_id"], event.id),
            "feedback_id": event.data["feedback_id"],
            "kind": event.type,
            "audience": "integrator",
            "recipient": sub["_id"],
            "channel": "webhook",
            "webhook_id": sub["_id"],
            "body": body,
            "status": "recorded",
            "attempts": 0,
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "created_at": now,
        }
        for sub in store.active_webhooks(db)
        if webhooks.matches(sub, event.type, case)
    ]


def _channel_for(delivery: dict) -> str | None:
    """How a delivery is sent: ``webhook``; ``citizen`` (their reply channel or e-mail, asked
    of intake at send time); None when no channel sends it yet (it stays recorded)."""
    if delivery.get("channel") == "webhook":
        return "webhook"
    if delivery["audience"] == "citizen" and messages.kind_of(delivery["kind"]) is not None:
        return "citizen"
    return None


# ---------------------------------------------------------------- delivery jobs


class Job(Schema):
    delivery_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    attempt = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))


def job_body(delivery_id: str, attempt_no: int) -> bytes:
    return json.dumps({"delivery_id": delivery_id, "attempt": attempt_no}).encode()


def decode_job(body: bytes) -> dict:
    try:
        return Job().load(events.json_object(body))
    except ValidationError as exc:
        raise InvalidMessage(f"delivery job: {exc.messages}") from None


def on_job(db: Database, config: dict, ports: Ports, job: dict) -> int:
    return attempt(db, config, ports, job["delivery_id"], job["attempt"])


def attempt(
    db: Database, config: dict, ports: Ports, delivery_id: str, attempt_no: int, now=None
) -> int:
    """Try a delivery once, if it is due; 1 when it was sent now."""
    now = now or datetime.now(UTC)
    delivery = store.get(db, delivery_id)
    if delivery is None or delivery["status"] not in OPEN:
        return 0  # settled already (a repeated job or event), or unknown
    tried = delivery.get("attempts", 0)
    if attempt_no < tried - 1:
        return 0  # a stale job: a later attempt has been scheduled since
    if attempt_no == tried - 1 and delivery["status"] == "recorded":
        # the job that scheduled this attempt came back (its process died after scheduling,
        # before the next job was sent): send the next job, once more
        attempt_no = tried
    not_before = delivery.get("not_before")
    if not_before is not None and not_before > now:
        wait = (not_before - now).total_seconds()
        ports.send_job(QUEUE, job_body(delivery_id, tried), wait)
        return 0
    claimed = store.claim(db, delivery_id, now)
    if claimed is None:
        current = store.get(db, delivery_id)
        if current is not None and current["status"] == "sending":
            # another process has it; look again when its claim lapses (it may have died)
            lapse = current["claimed_at"] + timedelta(seconds=store.SENDING_LEASE_S)
            ports.send_job(QUEUE, job_body(delivery_id, tried), (lapse - now).total_seconds() + 1)
        return 0
    try:
        return _send(db, config, ports, claimed, now)
    except (outbound.Unavailable, targets.AttemptFailed) as exc:
        _try_again_or_fail(db, config, ports, claimed, str(exc), now)
        return 0
    except targets.Refused as exc:
        _fail(db, config, ports, claimed, claimed.get("attempts", 0) + 1, str(exc), now)
        return 0
    except BaseException:
        store.release(db, delivery_id)
        raise


def _send(db: Database, config: dict, ports: Ports, delivery: dict, now: datetime) -> int:
    if delivery.get("channel") == "webhook":
        return _post_webhook(db, config, ports, delivery, now)
    return _tell_citizen(db, config, ports, delivery, now)


def _settled(db: Database, ports: Ports, delivery: dict, status: str, now, staged=(), **fields):
    if store.settle(db, delivery["_id"], status, now, staged, **fields) and staged:
        outbox.relay_or_defer(db.deliveries, delivery["_id"], ports.publish)


def _outcome_event(event_type: str, delivery: dict, channel: str, attempts: int, now, **extra):
    data = {
        "delivery_id": delivery["_id"],
        "feedback_id": delivery.get("feedback_id"),
        "channel": channel,
        "audience": delivery["audience"],
        "kind": delivery["kind"],
        "recipient_hash": extra.pop("recipient_hash", None),
        "webhook_id": delivery.get("webhook_id"),
        "attempts": attempts,
        "sent_at": events.now_iso() if event_type == "notification.sent" else None,
        **extra,
    }
    return outbox_entries.entry(
        "notification",
        event_type,
        data,
        subject=delivery.get("feedback_id") or delivery["_id"],
        correlation_id=delivery.get("correlation_id") or str(uuid.uuid4()),
    )


def _try_again_or_fail(db, config, ports, delivery: dict, error: str, now: datetime) -> None:
    attempts = delivery.get("attempts", 0) + 1
    if delivery.get("webhook_id"):
        _webhook_failing(db, config, ports, delivery["webhook_id"], now)
    wait = webhooks.retry_wait(attempts, config["WEBHOOK_RETRY_SCHEDULE"])
    if wait is None:
        _fail(db, config, ports, delivery, attempts, error, now)
        return
    log.warning(
        "delivery %s: attempt %d failed (%s); again in %.0fs",
        delivery["_id"],
        attempts,
        error[:200],
        wait,
    )
    if store.reschedule(db, delivery["_id"], attempts, now + timedelta(seconds=wait), error[:500]):
        ports.send_job(QUEUE, job_body(delivery["_id"], attempts), wait)


def _fail(db, config, ports, delivery: dict, attempts: int, error: str, now: datetime) -> None:
    log.error("delivery %s failed after %d attempt(s): %s", delivery["_id"], attempts, error[:300])
    reason = f"failed {attempts} time(s); last: {error}"[:1000]
    ports.dead_letter(QUEUE, job_body(delivery["_id"], attempts), reason)
    channel = delivery.get("channel") or delivery.get("via") or "email"
    staged = [
        _outcome_event(
            "notification.failed",
            delivery,
            channel if channel in events.NOTIFICATION_CHANNELS else "email",
            attempts,
            now,
            reason=reason,
            failed_at=events.now_iso(),
        )
    ]
    _settled(db, ports, delivery, "failed", now, staged, attempts=attempts, last_error=error[:500])


# ---------------------------------------------------------------- citizens


def _tell_citizen(db: Database, config: dict, ports: Ports, delivery: dict, now) -> int:
    kind = messages.kind_of(delivery["kind"])
    address = outbound.reply_address(
        config["INTAKE_URL"], config["NOTIFICATION_API_KEY"], delivery["feedback_id"]
    )
    email = (address or {}).get("email")
    if not email:
        left = "unsubscribed" if (address or {}).get("email_opted_out") else "no_address"
        _settled(db, ports, delivery, left, now, via="email")
        return 0
    mail = messages.citizen_mail(
        kind,
        address.get("language"),
        {
            "id": delivery["feedback_id"],
            "status": delivery.get("case_status"),
            "note": delivery.get("note"),
            "track": address.get("track_url") or "",
        },
    )
    outbound.send_mail(config["SMTP"], email, mail, delivery["_id"])
    # the address itself is not kept: a hash says to whom it went
    to = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    attempts = delivery.get("attempts", 0) + 1
    staged = [
        _outcome_event("notification.sent", delivery, "email", attempts, now, recipient_hash=to)
    ]
    _settled(db, ports, delivery, "sent", now, staged, via="email", to_hash=to, attempts=attempts)
    log.info("mailed %s (%s)", delivery["_id"], kind)
    return 1


# ---------------------------------------------------------------- webhooks


def _post_webhook(db: Database, config: dict, ports: Ports, delivery: dict, now) -> int:
    sub = store.webhook(db, delivery["webhook_id"])
    if sub is None or not sub.get("active"):
        _settled(db, ports, delivery, "cancelled", now, reason="subscription deleted or disabled")
        return 0
    body = delivery["body"]
    signed = webhooks.headers(delivery["_id"], body, webhooks.signing_secrets(sub, now), now)
    status = targets.post(
        sub["url"],
        body.encode(),
        signed,
        config["WEBHOOK_ALLOWED_HOSTS"],
        config["WEBHOOK_TIMEOUT_S"],
    )
    if not 200 <= status < 300:
        raise targets.AttemptFailed(f"the receiver answered {status}")
    store.webhook_succeeded(db, sub["_id"])
    attempts = delivery.get("attempts", 0) + 1
    staged = [_outcome_event("notification.sent", delivery, "webhook", attempts, now)]
    _settled(db, ports, delivery, "sent", now, staged, attempts=attempts, answered=status)
    return 1


def _webhook_failing(db: Database, config: dict, ports: Ports, webhook_id: str, now) -> None:
    sub = store.webhook_failing(db, webhook_id, now)
    if sub is None or not sub.get("active"):
        return
    after = config["WEBHOOK_DISABLE_AFTER_S"]
    if webhooks.should_disable(sub.get("failing_since"), now, after):
        reason = f"failing without a success since {sub['failing_since']:%Y-%m-%d %H:%M} UTC"
        if store.disable_webhook(db, webhook_id, reason, now):
            log.warning("webhook %s disabled: %s", webhook_id, reason)
            _tell_owner(config, sub, reason)


def _tell_owner(config: dict, sub: dict, reason: str) -> None:
    """Mail the subscription's owner that it was switched off (best effort: the state is in
    GET /api/v1/webhooks/{id} all the same)."""
    if not sub.get("owner_email"):
        return
    text = (
        f"Suara switched off your webhook {sub['_id']} ({sub['url']}): {reason}.\n"
        "Fix the endpoint, then subscribe again (POST /api/v1/webhooks).\n"
    )
    mail = messages.Mail(f"Suara webhook {sub['_id']} disabled", text, f"<p>{escape(text)}</p>")
    try:
        outbound.send_mail(config["SMTP"], sub["owner_email"], mail, f"{sub['_id']}.disabled")
    except outbound.Unavailable as exc:
        log.warning("could not tell the owner of %s: %s", sub["_id"], exc)


# ---------------------------------------------------------------- the subscription API


def subscribe(db: Database, config: dict, owner: str, body: dict, now=None) -> dict:
    """``POST /api/v1/webhooks``: the subscription with its secret (shown this once)."""
    now = now or datetime.now(UTC)
    wanted = webhooks.Subscription().load(body)
    try:
        targets.vet(wanted["url"], config["WEBHOOK_ALLOWED_HOSTS"])
    except (targets.Refused, targets.AttemptFailed) as exc:
        raise HttpError(400, "validation", "the url may not be used", {"url": [str(exc)]}) from None
    sub = {
        "_id": "wh_" + uuid.uuid4().hex[:20],
        "owner": owner,
        "url": wanted["url"],
        "event_types": wanted["event_types"],
        "filters": wanted["filters"],
        "description": wanted["description"],
        "owner_email": wanted["owner_email"],
        "secret": webhooks.new_secret(),
        "active": True,
        "failing_since": None,
        "created_at": now,
    }
    store.add_webhook(db, sub)
    return {**webhooks.public(sub), "secret": sub["secret"]}


def owned(db: Database, owner: str, webhook_id: str) -> dict:
    """The caller's subscription ``webhook_id``; another's is as unknown as a missing one."""
    sub = store.webhook(db, webhook_id[:64])
    if sub is None or sub["owner"] != owner:
        raise HttpError(404, "not_found", "no such webhook")
    return sub


def rotate(db: Database, sub: dict, now=None) -> dict:
    now = now or datetime.now(UTC)
    until = now + webhooks.ROTATION_OVERLAP
    rotated = store.rotate_webhook(db, sub["_id"], webhooks.new_secret(), until, now)
    if rotated is None:
        raise HttpError(409, "conflict", "the webhook changed meanwhile; try again")
    return {
        **webhooks.public(rotated),
        "secret": rotated["secret"],
        "previous_secret_valid_until": webhooks.iso(until),
    }


def public_delivery(delivery: dict) -> dict:
    """A delivery as the API shows it: never a body, an outbox or an address."""
    hidden = {"body", "outbox", "outbox_at"}
    return {k: v for k, v in delivery.items() if k not in hidden}
