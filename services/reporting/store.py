"""Reporting's MongoDB collection: ``feedback`` (its projection)."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.reporting import projections


def ensure_indexes(db: Database) -> None:
    db.feedback.create_index([("received", 1), ("category", 1)])
    db.feedback.create_index([("received", 1), ("status", 1)])


def apply(db: Database, change: tuple[dict, dict]) -> bool:
    """Apply one projection update; False when it changed nothing (repeat or stale)."""
    query, update = change
    # Two events of one feedback may race to create its document: the loser's upsert fails
    # on the unique _id, and is tried again against the document that now exists. A second
    # failure means the filter rejects it: a stale or repeated revision.
    for _ in range(2):
        try:
            result = db.feedback.update_one(query, update, upsert=True)
            return bool(result.modified_count or result.upserted_id)
        except DuplicateKeyError:
            continue
    return False


def _count_by(db: Database, field: str) -> list[dict]:
    return list(
        db.feedback.aggregate(
            [{"$match": {"received": True}}, {"$group": {"_id": f"${field}", "count": {"$sum": 1}}}]
        )
    )


def summary(db: Database) -> dict:
    return projections.summary(
        total=db.feedback.count_documents({"received": True}),
        by_category=_count_by(db, "category"),
        by_status=_count_by(db, "status"),
        by_priority=_count_by(db, "priority"),
    )
