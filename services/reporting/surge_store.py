"""Reporting's collections for surge alerts (services/reporting/surges.py), every read and
write by ``_id``:

- ``surge_cases``: what is known of a case for surges (its kelurahan and time from
  ``feedback.received``, when it names one of the city's; its first category and department
  from ``feedback.categorized``), one per case;
- ``surge_buckets``: one per (kelurahan, category, UTC hour), the entries of its cases
  (``$addToSet``: a case is in it once however often its events come);
- ``surge_baselines``: one per (kelurahan, category): its hourly counts of the last 28 days
  (``$max`` of each bucket's size: idempotent, order-free, exact under concurrent writers)
  and the number of its latest surge (``surge_seq``);
- ``surges``: one per surge, ``_id`` ``<kelurahan>|<category>|<number>``: inserting it is
  the guard that lets exactly one writer open a surge, and the insert stages the alert in the
  same document (the outbox, ``shared/outbox.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import outbox

CASES, BUCKETS, BASELINES, SURGES = "surge_cases", "surge_buckets", "surge_baselines", "surges"

_indexed: set[str] = set()


def ensure_indexes(db: Database) -> None:
    """The outbox's pending notes (every other read is by ``_id``); once per process."""
    if db.name not in _indexed:
        outbox.ensure_indexes(db[SURGES])
        _indexed.add(db.name)


def note_received(db: Database, feedback_id: str, known: dict) -> dict:
    """Record a case's place and time; the case as it is now."""
    return _upsert(db, {"_id": feedback_id}, {"$set": known})


def note_categorized(db: Database, feedback_id: str, known: dict) -> dict:
    """Record a case's first category (a later one leaves it); the case as it is now."""
    doc = _upsert(db, {"_id": feedback_id, "category": None}, {"$set": known})
    return doc if doc is not None else db[CASES].find_one({"_id": feedback_id}) or {}


def _upsert(db: Database, query: dict, update: dict) -> dict | None:
    # two events of a case may race to create it: the loser's upsert fails on the unique _id
    # and is tried again against the document that now exists; failing again, the filter
    # rejects it (a category is there already): None
    for _ in range(2):
        try:
            return db[CASES].find_one_and_update(
                query, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            continue
    return None


def add_to_bucket(db: Database, bucket_key: str, fields: dict, item: str) -> dict:
    """Put a case's entry in its bucket (once); the bucket after the write."""
    update = {"$addToSet": {"cases": item}, "$set": fields}
    for _ in range(2):
        try:
            return db[BUCKETS].find_one_and_update(
                {"_id": bucket_key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # created meanwhile by another case's handler
            continue
    raise RuntimeError(f"bucket {bucket_key} could not be written")


def buckets(db: Database, keys: list[str]) -> list[dict]:
    found = (db[BUCKETS].find_one({"_id": key}) for key in keys)
    return [doc for doc in found if doc is not None]


def raise_baseline(db: Database, pair_key: str, fields: dict, hour: str, count: int) -> dict:
    """Raise a pair's count of ``hour`` to ``count`` (never lower it); the document after."""
    update = {
        "$max": {f"hours.{hour}": count},
        "$set": fields,
        "$setOnInsert": {"salt": uuid.uuid4().hex},  # surges.alert_id
    }
    for _ in range(2):
        try:
            return db[BASELINES].find_one_and_update(
                {"_id": pair_key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            continue
    raise RuntimeError(f"baseline {pair_key} could not be written")


def baseline(db: Database, pair_key: str) -> dict:
    return db[BASELINES].find_one({"_id": pair_key}) or {"_id": pair_key, "hours": {}}


def drop_hours(db: Database, pair_key: str, hours: list[str]) -> None:
    """Drop hourly counts that have left the baseline (they no longer matter)."""
    if hours:
        db[BASELINES].update_one({"_id": pair_key}, {"$unset": {f"hours.{h}": "" for h in hours}})


def note_surge_number(db: Database, pair_key: str, number: int) -> None:
    db[BASELINES].update_one({"_id": pair_key}, {"$max": {"surge_seq": number}})


def surge(db: Database, surge_key: str) -> dict | None:
    return db[SURGES].find_one({"_id": surge_key})


def open_surge(db: Database, record: dict, staged: list[dict]) -> bool:
    """Insert a new surge's record with its alert staged; False when another writer opened
    this surge first (one alert per surge). Racing writers stage the same event (its id is
    the surge's, surges.new_surge), so they note it pending once; only a writer that notes it
    after the winner has relayed it leaves a note behind, which the sweep drops later."""
    if surge(db, record["_id"]) is not None:
        return False  # opened a moment ago
    outbox.mark(db[SURGES], record["_id"], staged)
    try:
        db[SURGES].insert_one(record)
    except DuplicateKeyError:
        return False
    return True


def extend_surge(db: Database, surge_key: str, above_until: datetime, count: int) -> None:
    db[SURGES].update_one({"_id": surge_key}, {"$max": {"above_until": above_until, "peak": count}})


def relay(db: Database, surge_key: str, publish: Callable[[dict], None], staged: list[dict]):
    """Publish a surge's alert now, or leave it to the sweep if the broker cannot take it."""
    outbox.relay_or_defer(db[SURGES], surge_key, publish, staged)


def sweep(db: Database, publish: Callable[[dict], None]) -> int:
    ensure_indexes(db)
    return outbox.sweep(db[SURGES], publish)
