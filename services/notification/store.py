"""Notification's MongoDB collection: ``deliveries`` (the delivery log)."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


def ensure_indexes(db: Database) -> None:
    db.deliveries.create_index([("feedback_id", 1), ("created_at", 1)])


def record(db: Database, deliveries: list[dict]) -> int:
    """Insert deliveries not recorded yet; returns how many were new."""
    if not deliveries:
        return 0
    try:
        return len(db.deliveries.insert_many(deliveries, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(deliveries) - len(errors)


def for_feedback(db: Database, feedback_id: str) -> list[dict]:
    return list(db.deliveries.find({"feedback_id": feedback_id}).sort("created_at", 1))
