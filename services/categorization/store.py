"""Categorization's MongoDB collections: ``decisions`` (one per feedback) and ``corrections``."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.categorization import modelstore
from shared import outbox


def ensure_indexes(db: Database) -> None:
    db.decisions.create_index([("needs_review", 1), ("created_at", 1)])
    outbox.ensure_indexes(db.decisions)
    modelstore.ensure_indexes(db)


def get(db: Database, feedback_id: str) -> dict | None:
    return db.decisions.find_one({"_id": feedback_id}, {"outbox": 0})


def insert(db: Database, decision: dict) -> bool:
    """Store the first decision for a feedback; False if one exists (a repeated event)."""
    outbox.mark(db.decisions, decision["_id"], decision["outbox"])
    try:
        db.decisions.insert_one(decision)
        return True
    except DuplicateKeyError:
        return False


def review_queue(db: Database, limit: int = 100) -> list[dict]:
    return list(
        db.decisions.find(
            {"needs_review": True},
            {"outbox": 0, "outbox_at": 0},
        )
        .sort("created_at", 1)
        .limit(limit)
    )


def correct(db: Database, feedback_id: str, update: dict, expected_revision: int) -> dict | None:
    """Apply a staff correction if nobody changed the decision meanwhile; the new document."""
    outbox.mark(db.decisions, feedback_id, [update["$push"]["outbox"]])
    # no projection: FerretDB v1 does not implement it in findAndModify
    doc = db.decisions.find_one_and_update(
        {"_id": feedback_id, "revision": expected_revision},
        update,
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None:
        doc.pop("outbox", None)
    return doc


def add_correction(
    db: Database, feedback_id: str, text: str, category: str, previous: str, client: str
) -> None:
    db.corrections.update_one(
        {"_id": f"{feedback_id}:{category}"},
        {
            "$set": {"text": text, "category": category, "previous": previous, "by": client},
            "$setOnInsert": {"feedback_id": feedback_id, "created_at": datetime.now(UTC)},
        },
        upsert=True,
    )
