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
    """Insert a new record; an earlier record with the same key wins.

    A keyed record's id derives from its key, so a repeat is found by ``_id``. Only if that id
    belongs to another key (feedback.IdTaken), or the key was stored under another id after
    such a collision, is the key looked up by its own (unique) field."""
    outbox.mark(db.feedback, record["_id"], record["outbox"])
    try:
        db.feedback.insert_one(record)
        return feedback.Submitted(record, True)
    except DuplicateKeyError:
        key = feedback.key_field(record)
        if key is None:
            raise  # a random id taken (50 bits): the caller's retry gets a new one
        existing = db.feedback.find_one({"_id": record["_id"]}, PRIVATE_FIELDS)
        if existing is not None and existing.get(key) == record[key]:
            return feedback.Submitted(existing, False)
        existing = db.feedback.find_one({key: record[key]}, PRIVATE_FIELDS)  # rare: see above
        if existing is not None:
            return feedback.Submitted(existing, False)
        raise feedback.IdTaken(record["_id"]) from None


def get(db: Database, feedback_id: str) -> dict | None:
    return db.feedback.find_one({"_id": feedback_id}, PRIVATE_FIELDS)


def apply_categorization(db: Database, data: dict) -> bool:
    """Apply a categorization; False when it is a duplicate or older than the stored one."""
    for query, update in feedback.categorization_updates(data):
        if db.feedback.update_one(query, update).modified_count == 1:
            return True
    return False


def change_status(db: Database, query: dict, update: dict, staged: dict) -> bool:
    """Apply a move to the case as it was read; False when it changed meanwhile."""
    outbox.mark(db.feedback, query["_id"], [staged])
    return db.feedback.update_one(query, update).modified_count == 1
