"""Intake's MongoDB collections: ``feedback`` (the records, personal data included)."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.intake import feedback
from shared import outbox

PRIVATE_FIELDS = {"contact": 0, "outbox": 0}


def ensure_indexes(db: Database) -> None:
    db.feedback.create_index("idempotency_key", unique=True, sparse=True)
    db.feedback.create_index("external_key", unique=True, sparse=True)
    db.feedback.create_index([("status", 1), ("created_at", 1)])
    outbox.ensure_indexes(db.feedback)


def insert(db: Database, record: dict) -> feedback.Submitted:
    """Insert a new record; an earlier record with the same idempotency key wins."""
    try:
        db.feedback.insert_one(record)
        return feedback.Submitted(record, True)
    except DuplicateKeyError:
        for key in ("idempotency_key", "external_key"):
            if record.get(key) is not None:
                existing = db.feedback.find_one({key: record[key]}, PRIVATE_FIELDS)
                if existing is not None:
                    return feedback.Submitted(existing, False)
        raise  # an _id collision (50 random bits): the caller's retry gets a new id


def get(db: Database, feedback_id: str) -> dict | None:
    return db.feedback.find_one({"_id": feedback_id}, PRIVATE_FIELDS)


def apply_categorization(db: Database, data: dict) -> bool:
    """Apply a categorization; False when it is a duplicate or older than the stored one."""
    query, update = feedback.categorization_update(data)
    return db.feedback.update_one(query, update).modified_count == 1
