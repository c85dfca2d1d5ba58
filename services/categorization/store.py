"""Categorization's MongoDB collections: ``decisions`` (one per feedback), ``corrections``,
``review_queue`` (the decisions waiting for staff: small, so listing it never scans the
decisions) and ``places`` (the open cases of each place, for "me too": services/categorization/
duplicates.py).

``places`` holds one document per place key (``_id``: ``geo:<size>:<row>:<col>`` or
``kel:<name>``) whose ``cases`` map each open case's slot (its id) to what a check needs: its
submitted time, cluster, signature and coordinates. It is read by ``_id`` only (``$in`` over
the <= 10 keys around a point) and written by ``_id`` with ``$set``/``$unset`` of one case's
field, atomic per document. A map and not an array: FerretDB v1, the development stand-in,
ignores ``$pull`` with a condition, ``$push`` with ``$slice`` and ``{"cases.id": {"$ne": x}}``
on arrays of documents, while ``$set``/``$unset`` of ``cases.<slot>`` behave the same on it
and on MongoDB 7, and are idempotent. Entries older than the window and the oldest beyond
``duplicates.CAP_PER_PLACE`` are dropped whenever a case is written to a document."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.categorization import duplicates, modelstore
from shared import outbox


def ensure_indexes(db: Database) -> None:
    db.review_queue.create_index("created_at")
    outbox.ensure_indexes(db.decisions)
    modelstore.ensure_indexes(db)


def get(db: Database, feedback_id: str) -> dict | None:
    return db.decisions.find_one({"_id": feedback_id}, {"outbox": 0})


def pages(db: Database, batch: int = 500):
    """Every decision, in ``_id`` order, a page at a time (for ``suara replay``: a scan)."""
    after = ""
    while True:
        page = list(
            db.decisions.find({"_id": {"$gt": after}}, {"outbox": 0, "text": 0})
            .sort("_id", 1)
            .limit(batch)
        )
        if not page:
            return
        yield page
        after = page[-1]["_id"]


def insert(db: Database, decision: dict) -> bool:
    """Store the first decision for a feedback; False if one exists (a repeated event)."""
    if decision.get("needs_review"):  # queued first: a crash before the decision leaves an
        _queue_for_review(db, decision)  # item that listing drops, never a lost review
    outbox.mark(db.decisions, decision["_id"], decision["outbox"])
    try:
        db.decisions.insert_one(decision)
        return True
    except DuplicateKeyError:
        return False


def _queue_for_review(db: Database, decision: dict) -> None:
    try:
        db.review_queue.insert_one({"_id": decision["_id"], "created_at": decision["created_at"]})
    except DuplicateKeyError:
        pass


def review_queue_size(db: Database) -> int:
    """How many decisions wait for review (the queue holds those only, and a few reviewed ones
    whose removal a crash skipped: the listing drops them)."""
    return db.review_queue.estimated_document_count()


def review_queue(db: Database, limit: int = 100) -> list[dict]:
    """The decisions waiting for review, oldest first: the queue, then each decision by _id.
    Items whose decision no longer needs review (corrected, or never stored) are dropped."""
    items = []
    for item in db.review_queue.find().sort("created_at", 1).limit(limit):
        doc = db.decisions.find_one({"_id": item["_id"]}, {"outbox": 0, "outbox_at": 0})
        if doc is not None and doc.get("needs_review"):
            items.append(doc)
        elif doc is not None:  # reviewed: the removal after the correction did not happen
            db.review_queue.delete_one({"_id": item["_id"]})
    return items


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
        if not doc.get("needs_review"):
            db.review_queue.delete_one({"_id": feedback_id})
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


def update_duplicates(db: Database, feedback_id: str, fields: dict) -> None:
    """Set fields of a decision's ``duplicates`` record (by ``_id``)."""
    db.decisions.update_one(
        {"_id": feedback_id}, {"$set": {f"duplicates.{k}": v for k, v in fields.items()}}
    )


def move_case(db: Database, feedback_id: str, is_open: bool, sequence: int) -> dict | None:
    """Record that a case is open or no longer, unless a later status change was recorded
    already; the decision, or None (no decision with a check, or an older change)."""
    # no projection: FerretDB v1 does not implement it in findAndModify
    doc = db.decisions.find_one_and_update(
        {
            "_id": feedback_id,
            "duplicates.checked": True,
            "duplicates.status_sequence": {"$lte": sequence},
        },
        {"$set": {"duplicates.open": is_open, "duplicates.status_sequence": sequence}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is not None:
        doc.pop("outbox", None)
    return doc


def duplicates_of(db: Database, feedback_ids: list[str]) -> list[dict]:
    """The ``duplicates`` records of some decisions, by ``_id`` (``$in``)."""
    if not feedback_ids:
        return []
    return list(db.decisions.find({"_id": {"$in": feedback_ids}}, {"duplicates": 1}))


def places(db: Database, keys: list[str]) -> list[dict]:
    """The place documents of ``keys`` (at most ~10: duplicates.nearby_keys), by ``_id``."""
    if not keys:
        return []
    return list(db.places.find({"_id": {"$in": list(dict.fromkeys(keys))}}))


def file_case(
    db: Database, keys: list[str], entry: dict, evict: dict[str, list[str]], now: datetime
) -> None:
    """Write an open case to its place documents (idempotent: its slot is set again), and
    drop ``evict[key]``'s slots from each (older than the window, or beyond the cap)."""
    slot = duplicates.slot(entry["id"])
    for key in keys:
        update: dict = {"$set": {f"cases.{slot}": entry, "updated_at": now}}
        dropped = [s for s in evict.get(key, []) if s != slot]
        if dropped:
            update["$unset"] = {f"cases.{s}": "" for s in dropped}
        db.places.update_one({"_id": key}, update, upsert=True)


def unfile_cases(db: Database, keys: list[str], slots: list[str]) -> None:
    """Drop cases from place documents (idempotent)."""
    if keys and slots:
        db.places.update_many(
            {"_id": {"$in": list(dict.fromkeys(keys))}},
            {"$unset": {f"cases.{s}": "" for s in slots}},
        )
