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

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import escape
from marshmallow import Schema, ValidationError, fields, validate
from pymongo.database import Database

from services.notification import (
    deliveries,
    messages,
    outbound,
    recipients,
    replies,
    store,
    targets,
    webhooks,
)
from shared import events, outbox, outbox_entries, quiet
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


def on_event(db: Database, config: dict, ports: Ports, event: Event, now=None) -> int:
    """Record the event's deliveries; send the citizens' and departments' now (a citizen's
    that is not urgent waits out the quiet hours), hand the webhooks to jobs. Returns how
    many were sent now."""
    now = now or datetime.now(UTC)
    planned = deliveries.plan(event, now)
    for delivery in planned:
        _mind_quiet_hours(config, delivery, now)
    case = _note_case(db, event)
    hooks = _webhook_deliveries(db, event, case)
    store.record(db, planned + hooks)
    for delivery in hooks:
        ports.send_job(QUEUE, job_body(delivery["_id"], 0), 0)
    sent = 0
    for delivery in planned:
        if _channel_for(config, delivery) is not None:
            sent += attempt(db, config, ports, delivery["_id"], 0, now)
    return sent


def _mind_quiet_hours(config: dict, delivery: dict, now: datetime) -> None:
    if delivery["audience"] != "citizen" or not quiet.held(
        delivery["kind"], delivery.get("priority")
    ):
        return
    allowed = quiet.next_allowed(now, config.get("QUIET_HOURS"), config.get("TIMEZONE"))
    if allowed > now:
        delivery["not_before"] = allowed
        delivery["held_for"] = "quiet_hours"


def on_alert(db: Database, config: dict, ports: Ports, event: Event, now=None) -> int:
    """``alert.spike_detected`` (reporting): the department's mail and its on-call number, as
    for an urgent case, once per alert (the deliveries' ids name it; about no one case, so no
    webhook: integrators bind their own queues to reporting.events). Returns how many were
    sent now."""
    now = now or datetime.now(UTC)
    planned = deliveries.plan(event, now)
    store.record(db, planned)
    return sum(
        attempt(db, config, ports, d["_id"], 0, now)
        for d in planned
        if _channel_for(config, d) is not None
    )


def on_erased(db: Database, event: Event, now=None) -> int:
    """``feedback.erased``: forget what the log kept of the case's citizen (the hash of their
    address, the notes quoted to them) and send them nothing more. A delivery being sent at
    this moment finishes (intake answers no address from now on, so nothing later goes)."""
    return store.forget_recipients(db, event.data["feedback_id"], now or datetime.now(UTC))


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


def _channel_for(config: dict, delivery: dict) -> str | None:
    """Who sends a delivery: ``webhook`` (a job); ``citizen`` (their reply channel or e-mail,
    asked of intake at send time: needs SUARA_NOTIFICATION_API_KEY); ``department``; None when
    nobody does (it stays recorded)."""
    if delivery.get("channel") == "webhook":
        return "webhook"
    if delivery["audience"] == "citizen":
        if messages.kind_of(delivery["kind"]) and config.get("NOTIFICATION_API_KEY"):
            return "citizen"
        return None
    if delivery["audience"] == "department" and messages.department_kind(delivery["kind"]):
        return "department"
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


def on_job(db: Database, config: dict, ports: Ports, job: dict, now=None) -> int:
    return attempt(db, config, ports, job["delivery_id"], job["attempt"], now)


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
    except (targets.Refused, replies.Rejected) as exc:
        _fail(db, config, ports, claimed, claimed.get("attempts", 0) + 1, str(exc), now)
        return 0
    except BaseException:
        if not claimed.get("handed_over"):
            store.release(db, delivery_id)  # nothing went out: the retried event sends it
        # else the relay or receiver has it and recording that failed: the claim lapses
        # (store.SENDING_LEASE_S) and it is sent again then, the window the README states
        raise


def _send(db: Database, config: dict, ports: Ports, delivery: dict, now: datetime) -> int:
    by = _channel_for(config, delivery)
    if by == "webhook":
        return _post_webhook(db, config, ports, delivery, now)
    if by == "citizen":
        return _tell_citizen(db, config, ports, delivery, now)
    if by == "department":
        return _tell_department(db, config, ports, delivery, now)
    store.release(db, delivery["_id"])
    return 0


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
    """A citizen's message, on their reply channel or by e-mail. A status answer goes to
    whoever asked (the question's reply address), everything else to whoever filed the case."""
    asked = delivery["recipient"] not in ("citizen", "", None)
    reply_id = delivery["recipient"] if asked else delivery["feedback_id"]
    reply = outbound.reply_address(config["INTAKE_URL"], config["NOTIFICATION_API_KEY"], reply_id)
    route = recipients.citizen_route(reply, config["PROVIDERS"])
    if route.channel is None:
        _settled(db, ports, delivery, route.reason, now)
        return 0
    values = {
        "id": delivery["feedback_id"],
        "status": delivery.get("case_status"),
        "note": delivery.get("note"),
        "track": reply.get("track_url") or "",
        "category": delivery.get("category"),
        "department": delivery.get("department"),
        "unsubscribe": reply.get("unsubscribe_url") or "",
        "followed": delivery.get("followed_id"),  # "me too": the case this one repeats
    }
    language = reply.get("language")
    if route.channel == "email":
        mail = messages.citizen_mail(delivery["kind"], language, values)
        outbound.send_mail(
            config["SMTP"], route.to, mail, delivery["_id"], unsubscribe=values["unsubscribe"]
        )
        sent_id = None
    else:
        said = replies.Reply(
            text=messages.reply_text(delivery["kind"], language, values),
            template="",
            template_params=messages.reply_template_params(delivery["kind"], language, values),
            language=messages.language_of(language),
        )
        sent_id = replies.send_reply(
            config["PROVIDERS"],
            route.channel,
            route.to,
            said,
            last_inbound_at=recipients.parse_time(reply.get("last_inbound_at")),
            now=now,
            key=delivery["_id"],
        )
    _sent(db, ports, delivery, route, now, provider_message_id=sent_id)
    log.info("told the citizen %s by %s", delivery["_id"], route.channel)
    return 1


def _sent(db, ports, delivery: dict, route: recipients.Route, now, **fields) -> None:
    delivery["handed_over"] = True
    # the address itself is not kept: a hash says to whom it went
    to = recipients.recipient_hash(route.to)
    attempts = delivery.get("attempts", 0) + 1
    staged = [
        _outcome_event(
            "notification.sent", delivery, route.channel, attempts, now, recipient_hash=to
        )
    ]
    fields = {k: v for k, v in fields.items() if v is not None}
    _settled(
        db,
        ports,
        delivery,
        "sent",
        now,
        staged,
        via=route.channel,
        to_hash=to,
        attempts=attempts,
        **fields,
    )
    store.forget_if_erased(db, delivery)


# ---------------------------------------------------------------- departments


def _department_values(config: dict, delivery: dict) -> dict:
    """What a department's message says (messages.department_mail): ids, categories, states
    and times; a digest reads the department's open cases from intake."""
    if delivery["kind"] == "digest":
        return _digest_values(config, delivery)
    if messages.department_kind(delivery["kind"]) == "spike":  # a surge: about a place
        return {**{k: delivery.get(k) for k in deliveries.SPIKE_VALUES}, "id": delivery["alert_id"]}
    return {
        "id": delivery["feedback_id"],
        "category": delivery.get("category"),
        "priority": delivery.get("priority"),
        "reasons": delivery.get("reasons"),
        "from_department_id": delivery.get("from_department_id"),
        "due_at": delivery.get("due_at"),
        "score": delivery.get("score"),
        "case_status": delivery.get("case_status"),
    }


def _tell_department(db: Database, config: dict, ports: Ports, delivery: dict, now) -> int:
    """A department's mail (SUARA_DEPARTMENT_EMAILS), or for an urgent case its on-call
    number (SUARA_DEPARTMENT_ONCALL). Staff mails say what the case is, never who sent it."""
    if delivery.get("oncall"):
        route = recipients.oncall_route(
            delivery["recipient"], config["ONCALL"], config["PROVIDERS"]
        )
    else:
        route = recipients.department_route(delivery["recipient"], config["DEPARTMENT_EMAILS"])
    if route.channel is None:
        _settled(db, ports, delivery, route.reason, now)
        return 0
    values = _department_values(config, delivery)
    if delivery["kind"] == "digest" and not values["cases"]:
        _settled(db, ports, delivery, "nothing_open", now)  # no mail to say there is nothing
        return 0
    mail = messages.department_mail(delivery["kind"], "id", values, config["TIMEZONE"])
    if route.channel == "email":
        outbound.send_mail(config["SMTP"], route.to, mail, delivery["_id"])
        sent_id = None
    else:
        said = replies.Reply(
            text=mail.subject,
            template="",
            template_params=(
                delivery["feedback_id"] or delivery.get("alert_id") or delivery["_id"],
                mail.subject[: messages.PARAM_LIMIT],
            ),
            language="id",
        )
        sent_id = replies.send_reply(
            config["PROVIDERS"],
            route.channel,
            route.to,
            said,
            last_inbound_at=None,
            now=now,
            key=delivery["_id"],
        )
    _sent(db, ports, delivery, route, now, provider_message_id=sent_id)
    log.info(
        "told %s of %s by %s",
        recipients.department_id(delivery["recipient"]),
        delivery["_id"],
        route.channel,
    )
    return 1


# ---------------------------------------------------------------- the daily digest

DIGEST_PAGES = 10  # at most 2,000 open cases read into one department's digest


def digests_due(db: Database, config: dict, ports: Ports, now=None) -> int:
    """Once a day, from SUARA_DIGEST_AT city time, each department with an address gets its
    open and overdue cases. The delivery's id names the department and the day, so every
    replica's timer records it once and one of them sends it. Returns how many were sent."""
    now = now or datetime.now(UTC)
    if not config.get("NOTIFICATION_API_KEY") or not config["DEPARTMENT_EMAILS"]:
        return 0
    local = now.astimezone(ZoneInfo(config["TIMEZONE"]))
    if (local.hour, local.minute) < tuple(config["DIGEST_AT"]):
        return 0
    day = local.date().isoformat()
    sent = 0
    for department_id in sorted(config["DEPARTMENT_EMAILS"]):
        delivery_id = f"digest:{department_id}:{day}"
        if store.get(db, delivery_id) is not None:
            continue
        store.record(
            db,
            [
                {
                    "_id": delivery_id,
                    "feedback_id": None,
                    "kind": "digest",
                    "audience": "department",
                    "recipient": department_id,
                    "status": "recorded",
                    "attempts": 0,
                    "day": day,
                    "created_at": now,
                }
            ],
        )
        sent += attempt(db, config, ports, delivery_id, 0, now)
    return sent


def _digest_values(config: dict, delivery: dict) -> dict:
    cases, _more = outbound.work_list(
        config["INTAKE_URL"], config["NOTIFICATION_API_KEY"], delivery["recipient"], DIGEST_PAGES
    )
    return {
        "department": delivery["recipient"],
        "date": delivery["day"],
        "open": None,  # counted from the cases read (at most DIGEST_PAGES pages)
        "cases": cases,
        "cases_url": "",
    }


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
    delivery["handed_over"] = True
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
