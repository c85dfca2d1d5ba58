"""Notification's MongoDB collections: ``deliveries`` (the delivery log, each delivery's state
and the events its outcome stages), ``by_feedback`` (each feedback's delivery ids, so its log
is read by ``_id`` alone), ``webhooks`` (integrators' subscriptions), ``by_webhook`` (each
subscription's delivery ids per day, in chunks) and ``cases`` (what webhook filters need to
know of a case: its category and kecamatan)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import chunks, outbox, outbox_entries

DUPLICATE_KEY = 11000


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db.deliveries)
    db.webhooks.create_index([("owner", 1)])  # a few per integrator: listing theirs


def _index(db: Database, deliveries: list[dict]) -> None:
    """List the deliveries under their feedback, before they are stored: a crash between the
    two leaves an id that listing skips, never a delivery that listing misses."""
    by_feedback: dict[str, list[str]] = {}
    for d in deliveries:
        if d.get("feedback_id"):  # a digest is about no one case
            by_feedback.setdefault(d["feedback_id"], []).append(d["_id"])
    for feedback_id, ids in by_feedback.items():
        update = {"$addToSet": {"ids": {"$each": ids}}}
        try:
            db.by_feedback.update_one({"_id": feedback_id}, update, upsert=True)
        except DuplicateKeyError:  # two first deliveries raced to create it: it exists now
            db.by_feedback.update_one({"_id": feedback_id}, update)


def _index_webhooks(db: Database, deliveries: list[dict]) -> None:
    for d in deliveries:
        if d.get("webhook_id"):
            chunks.append(db.by_webhook, f"{d['webhook_id']}:{d['created_at']:%Y-%m-%d}", d["_id"])


def record(db: Database, deliveries: list[dict]) -> int:
    """Insert deliveries not recorded yet; returns how many were new."""
    if not deliveries:
        return 0
    _index(db, deliveries)
    _index_webhooks(db, deliveries)
    try:
        return len(db.deliveries.insert_many(deliveries, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(deliveries) - len(errors)


def for_feedback(db: Database, feedback_id: str) -> list[dict]:
    """A feedback's deliveries, oldest first: its index, then each delivery by ``_id``."""
    index = db.by_feedback.find_one({"_id": feedback_id}) or {}
    found = (db.deliveries.find_one({"_id": i}) for i in index.get("ids", []))
    return sorted((d for d in found if d is not None), key=lambda d: (d["created_at"], d["_id"]))


def forget_recipients(db: Database, feedback_id: str, now: datetime) -> int:
    """The citizen's data was erased in intake: every delivery of the case loses the hash of
    whom it went to and the note it quoted; a citizen's delivery not sent yet is cancelled.
    By ``_id``, through the case's index. Returns how many deliveries changed."""
    # first the mark a message in flight looks for after it settles (``forget_if_erased``)
    db.cases.update_one({"_id": feedback_id}, {"$set": {"erased": True}}, upsert=True)
    index = db.by_feedback.find_one({"_id": feedback_id}) or {}
    changed = 0
    for delivery_id in index.get("ids", []):
        done = db.deliveries.update_one(
            {"_id": delivery_id}, {"$unset": {"to_hash": "", "note": ""}}
        )
        cancelled = db.deliveries.update_one(
            {"_id": delivery_id, "audience": "citizen", "status": "recorded"},
            {"$set": {"status": "erased", "settled_at": now}},
        )
        changed += int(done.modified_count or cancelled.modified_count)
    return changed


def forget_if_erased(db: Database, delivery: dict) -> None:
    """After a message settled: had its case been erased meanwhile (the erasure's pass over the
    deliveries may have come before this settle), forget whom it went to now."""
    if delivery.get("feedback_id") and case(db, delivery["feedback_id"]).get("erased"):
        db.deliveries.update_one({"_id": delivery["_id"]}, {"$unset": {"to_hash": "", "note": ""}})


def get(db: Database, delivery_id: str) -> dict | None:
    return db.deliveries.find_one({"_id": delivery_id})


def for_webhook(db: Database, webhook_id: str, day: str) -> list[dict]:
    """A subscription's deliveries created on ``day`` (YYYY-MM-DD, UTC), newest first."""
    ids = chunks.read(db.by_webhook, f"{webhook_id}:{day}")
    found = (db.deliveries.find_one({"_id": i}, {"body": 0}) for i in dict.fromkeys(ids))
    return sorted((d for d in found if d is not None), key=lambda d: d["created_at"], reverse=True)


# A delivery claimed this long ago by a process that died is claimed again: longer than one
# attempt can take (SMTP 20 s, a webhook's time limit, a provider's 10 s).
SENDING_LEASE_S = 45


def claim(db: Database, delivery_id: str, now: datetime) -> dict | None:
    """Take a recorded delivery to send it (one process at a time); None when it is sent
    already, or being sent elsewhere."""
    stale = now - timedelta(seconds=SENDING_LEASE_S)
    return db.deliveries.find_one_and_update(
        {
            "_id": delivery_id,
            "$or": [{"status": "recorded"}, {"status": "sending", "claimed_at": {"$lt": stale}}],
        },
        {"$set": {"status": "sending", "claimed_at": now}},
        return_document=ReturnDocument.AFTER,
    )


def settle(
    db: Database, delivery_id: str, status: str, now: datetime, staged: tuple = (), **fields
) -> bool:
    """Record how a claimed delivery ended (sent, failed, or left: no address, opted out),
    staging its events (``staged``: outbox entries) in the same write; False when it was not
    this process's to settle any more."""
    update: dict = {"$set": {"status": status, "settled_at": now, **fields}}
    if staged:
        outbox.mark(db.deliveries, delivery_id, staged, now)
        push = outbox_entries.push(staged, now)
        update["$push"] = push["$push"]
        update["$set"].update(push["$set"])
    done = db.deliveries.update_one({"_id": delivery_id, "status": "sending"}, update)
    return done.modified_count == 1


def reschedule(
    db: Database, delivery_id: str, attempts: int, not_before: datetime, error: str | None
) -> bool:
    """Give a claimed delivery back to be tried again at ``not_before``."""
    done = db.deliveries.update_one(
        {"_id": delivery_id, "status": "sending"},
        {
            "$set": {
                "status": "recorded",
                "attempts": attempts,
                "not_before": not_before,
                "last_error": error,
            }
        },
    )
    return done.modified_count == 1


def hold(db: Database, delivery_id: str, not_before: datetime) -> None:
    """Hold a recorded delivery until ``not_before`` (quiet hours)."""
    db.deliveries.update_one(
        {"_id": delivery_id, "status": "recorded"}, {"$set": {"not_before": not_before}}
    )


def release(db: Database, delivery_id: str) -> None:
    """Give a claimed delivery back (the relay failed): the retried event claims it again."""
    db.deliveries.update_one(
        {"_id": delivery_id, "status": "sending"}, {"$set": {"status": "recorded"}}
    )


# ---------------------------------------------------------------- cases (for webhook filters)


def note_case(db: Database, feedback_id: str, **known) -> dict:
    """Remember what is known of a case (category, kecamatan); its record after the write."""
    known = {k: v for k, v in known.items() if v is not None}
    if not known:
        return db.cases.find_one({"_id": feedback_id}) or {"_id": feedback_id}
    return db.cases.find_one_and_update(
        {"_id": feedback_id},
        {"$set": known},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )


def case(db: Database, feedback_id: str) -> dict:
    return db.cases.find_one({"_id": feedback_id}) or {"_id": feedback_id}


# ---------------------------------------------------------------- webhook subscriptions


def add_webhook(db: Database, subscription: dict) -> None:
    db.webhooks.insert_one(subscription)


def webhook(db: Database, webhook_id: str) -> dict | None:
    return db.webhooks.find_one({"_id": webhook_id})


def webhooks_of(db: Database, owner: str | None) -> list[dict]:
    """An owner's subscriptions (None: everyone's), oldest first."""
    found = db.webhooks.find({} if owner is None else {"owner": owner})
    return sorted(found, key=lambda w: w["created_at"])


def active_webhooks(db: Database) -> list[dict]:
    """Every active subscription. There are a few (one or two per integrator), whatever the
    number of cases: the whole small collection is read, and matched in code."""
    return list(db.webhooks.find({"active": True}))


def delete_webhook(db: Database, webhook_id: str) -> bool:
    return db.webhooks.delete_one({"_id": webhook_id}).deleted_count == 1


def rotate_webhook(db: Database, webhook_id: str, secret: str, until: datetime, now) -> dict | None:
    """A new secret; the old one keeps signing until ``until``."""
    current = db.webhooks.find_one({"_id": webhook_id})
    if current is None:
        return None
    return db.webhooks.find_one_and_update(
        {"_id": webhook_id, "secret": current["secret"]},
        {
            "$set": {
                "secret": secret,
                "previous_secret": current["secret"],
                "previous_until": until,
                "rotated_at": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )


def webhook_failing(db: Database, webhook_id: str, now: datetime) -> dict | None:
    """Note a failed attempt: the endpoint has been failing since the first failure after
    its last success. Its record after the write."""
    db.webhooks.update_one(
        {"_id": webhook_id, "failing_since": None}, {"$set": {"failing_since": now}}
    )
    return db.webhooks.find_one({"_id": webhook_id})


def webhook_succeeded(db: Database, webhook_id: str) -> None:
    db.webhooks.update_one(
        {"_id": webhook_id, "failing_since": {"$ne": None}}, {"$set": {"failing_since": None}}
    )


def disable_webhook(db: Database, webhook_id: str, reason: str, now: datetime) -> bool:
    """Switch a subscription off; True for the one call that did it (its owner is told once)."""
    done = db.webhooks.update_one(
        {"_id": webhook_id, "active": True},
        {"$set": {"active": False, "disabled_reason": reason, "disabled_at": now}},
    )
    return done.modified_count == 1
