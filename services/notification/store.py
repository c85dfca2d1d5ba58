"""Notification's MongoDB collections: ``deliveries`` (the delivery log) and
``by_feedback`` (each feedback's delivery ids, so its log is read by ``_id`` alone)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

DUPLICATE_KEY = 11000


def ensure_indexes(db: Database) -> None:
    pass  # every read and write is by _id


def _index(db: Database, deliveries: list[dict]) -> None:
    """List the deliveries under their feedback, before they are stored: a crash between the
    two leaves an id that listing skips, never a delivery that listing misses."""
    by_feedback: dict[str, list[str]] = {}
    for d in deliveries:
        by_feedback.setdefault(d["feedback_id"], []).append(d["_id"])
    for feedback_id, ids in by_feedback.items():
        update = {"$addToSet": {"ids": {"$each": ids}}}
        try:
            db.by_feedback.update_one({"_id": feedback_id}, update, upsert=True)
        except DuplicateKeyError:  # two first deliveries raced to create it: it exists now
            db.by_feedback.update_one({"_id": feedback_id}, update)


def record(db: Database, deliveries: list[dict]) -> int:
    """Insert deliveries not recorded yet; returns how many were new."""
    if not deliveries:
        return 0
    _index(db, deliveries)
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


SENDING_LEASE_S = 120  # a delivery claimed this long ago by a process that died is claimed again


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


def settle(db: Database, delivery_id: str, status: str, now: datetime, **fields) -> None:
    """Record how a claimed delivery ended: sent, or left (no address on this channel)."""
    db.deliveries.update_one(
        {"_id": delivery_id, "status": "sending"},
        {"$set": {"status": status, "settled_at": now, **fields}},
    )


def release(db: Database, delivery_id: str) -> None:
    """Give a claimed delivery back (the relay failed): the retried event claims it again."""
    db.deliveries.update_one(
        {"_id": delivery_id, "status": "sending"}, {"$set": {"status": "recorded"}}
    )
