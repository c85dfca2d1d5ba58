"""Intake's MongoDB collections: ``feedback`` (the cases, personal data included), ``worklist``
(the cases still being worked: the work list and the deadlines), ``media`` (the photos),
``replies`` (status questions and their senders), ``settings`` (the token secret intake made
for itself) and ``optouts`` (the e-mail addresses, by their hash, that asked for no more
mail)."""

from __future__ import annotations

import secrets
from datetime import datetime

from bson import Binary
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.intake import feedback, lifecycle, sla
from shared import chunks, outbox

PRIVATE_FIELDS = {"contact": 0, "reply_to": 0, "outbox": 0}


def ensure_indexes(db: Database) -> None:
    db.feedback.create_index("idempotency_key", unique=True, sparse=True)
    db.feedback.create_index("external_key", unique=True, sparse=True)
    # for MongoDB; FerretDB reads the (small) work list whole
    db.worklist.create_index([("open", 1), ("department_id", 1), ("order", 1)])
    db.worklist.create_index([("open", 1), ("wake_at", 1)])
    db.replies.create_index("asked")  # the questions about a case, found at its erasure only
    outbox.ensure_indexes(db.feedback)  # one outbox_pending for feedback and replies


def insert(db: Database, record: dict) -> feedback.Submitted:
    """Insert a new record; an earlier record with the same key wins.

    A keyed record's id derives from its key, so a repeat is found by ``_id``. Only if that id
    belongs to another key (feedback.IdTaken), or the key was stored under another id after
    such a collision, is the key looked up by its own (unique) field."""
    outbox.mark(db.feedback, record["_id"], record["outbox"])
    index_day(db, "requests", record["created_at"], record["_id"])
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


def pages(db: Database, batch: int = 500):
    """Every stored case, in ``_id`` order, a page at a time, without personal data but the
    language the citizen chose (for ``suara replay``: a scan, never on a request's path)."""
    after = ""
    while True:
        found = db.feedback.find({"_id": {"$gt": after}}, {"reply_to": 0, "outbox": 0})
        page = list(found.sort("_id", 1).limit(batch))
        if not page:
            return
        for case in page:
            case["contact"] = {"language": (case.get("contact") or {}).get("language")}
        yield page
        after = page[-1]["_id"]


def get_private(db: Database, feedback_id: str) -> dict | None:
    """The case with its contact: for the reply-address endpoint only."""
    return db.feedback.find_one({"_id": feedback_id}, {"outbox": 0})


def insert_question(db: Database, question: dict) -> tuple[dict, bool]:
    """Store a status question once per provider message; (the stored one, new?)."""
    outbox.mark(db.replies, question["_id"], question["outbox"])
    try:
        db.replies.insert_one(question)
        return question, True
    except DuplicateKeyError:
        return db.replies.find_one({"_id": question["_id"]}, {"outbox": 0}), False


def question(db: Database, question_id: str) -> dict | None:
    return db.replies.find_one({"_id": question_id}, {"outbox": 0})


def write(db: Database, change: tuple[dict, dict], staged: list[dict] = ()) -> bool:
    """Apply a guarded change (``feedback.guarded``) to the case as it was read, noting its
    staged events first (shared/outbox); False when the case changed meanwhile."""
    query, update = change
    if staged:
        outbox.mark(db.feedback, query["_id"], staged)
    if "history" in update.get("$push", {}):  # a public update (servicerequestupdates)
        index_day(db, "updates", update["$set"]["updated_at"], query["_id"])
    return db.feedback.update_one(query, update).modified_count == 1


def sync_worklist(db: Database, record: dict, policy: sla.Policy) -> None:
    """Bring the case's work-list entry up to the case's version (never back to an older
    one: a stale sync finds the newer entry and is ignored)."""
    if record.get("imported"):
        return  # history from an earlier system: a record, not work
    entry = feedback.worklist_entry(record, policy)
    try:
        db.worklist.replace_one(
            {"_id": entry["_id"], "version": {"$lt": entry["version"]}}, entry, upsert=True
        )
    except DuplicateKeyError:  # the entry is as new already, or newer
        pass


def list_cases(
    db: Database,
    *,
    department_id: str | None,
    status: str | None,
    overdue: bool | None,
    after: str | None,
    limit: int,
    include_me_too: bool = False,
) -> list[dict]:
    """Open cases, oldest due first, after the cursor ``after`` (an entry's ``order``); linked
    "me too" cases (``hidden``) only when asked for. The same query as before on the same
    (small) collection: ``hidden`` is one more condition on the entries it reads."""
    query: dict = {"open": True}
    if not include_me_too:
        query["hidden"] = {"$ne": True}  # entries written before issue 15 have no such field
    if department_id is not None:
        query["department_id"] = department_id
    if status is not None:
        query["status"] = status
    if overdue is not None:
        query["overdue"] = overdue
    if after is not None:
        query["order"] = {"$gt": after}
    return list(db.worklist.find(query).sort("order", 1).limit(limit))


# ---------------------------------------------------------------- "me too" (issue 15)
# The primary's set of me-too ids, changed by single-document writes by ``_id`` that are
# idempotent by their filter (a redelivery, or a second replica, matches nothing), and that
# raise the case's ``version``, so that a lifecycle change read before them is decided again
# (its ``feedback.status_changed`` then names every follower).


def join_primary(db: Database, primary_id: str, me_too_id: str) -> bool:
    """Add ``me_too_id`` to the primary's set (and count) unless it is there already or the
    primary is final; True when it is in the set now."""
    done = db.feedback.update_one(
        {
            "_id": primary_id,
            "status": {"$nin": sorted(lifecycle.FINAL)},
            "me_too": {"$ne": me_too_id},
        },
        {"$addToSet": {"me_too": me_too_id}, "$inc": {"me_too_count": 1, "version": 1}},
    )
    if done.modified_count == 1:
        return True
    found = db.feedback.find_one({"_id": primary_id}, {"me_too": 1})
    return found is not None and me_too_id in (found.get("me_too") or [])


def leave_primary(db: Database, primary_id: str, me_too_id: str) -> bool:
    """Take ``me_too_id`` out of the primary's set (and count); False when it was not in it."""
    done = db.feedback.update_one(
        {"_id": primary_id, "me_too": me_too_id},
        {"$pull": {"me_too": me_too_id}, "$inc": {"me_too_count": -1, "version": 1}},
    )
    return done.modified_count == 1


def due(db: Database, now: datetime, limit: int = 200) -> list[str]:
    """Ids of open cases whose deadline (due time, reopen window) has come."""
    found = db.worklist.find({"open": True, "wake_at": {"$lte": now}}, {"_id": 1})
    return [d["_id"] for d in found.sort("wake_at", 1).limit(limit)]


def purge_worklist(db: Database, before: datetime) -> int:
    """Drop closed cases' entries (tombstones) older than ``before``."""
    return db.worklist.delete_many({"open": False, "closed_at": {"$lt": before}}).deleted_count


# ---------------------------------------------------------------- the day index
# ``by_day`` lists, for each day (UTC), the cases submitted that day ("requests") and the cases
# that moved that day ("updates"), in chunks (shared/chunks.py), so that Open311's lists read
# the days they ask for by ``_id``, never the whole collection. An id is listed *before* the
# write that makes it true (a crash leaves an id a reader skips, never a case it misses).


def index_day(db: Database, kind: str, when: datetime, feedback_id: str) -> None:
    chunks.append(db.by_day, f"{kind}:{when.strftime('%Y-%m-%d')}", feedback_id)


def day_ids(db: Database, kind: str, day: str) -> list[str]:
    """The ids listed under ``day`` (YYYY-MM-DD), in the order they were listed."""
    return chunks.read(db.by_day, f"{kind}:{day}")


# ---------------------------------------------------------------- photos
# ``media``: each photo (re-encoded, at most a few MB) in one document, read by ``_id``. Not
# GridFS: its chunks are found by a query on ``files_id``, which the stand-in answers by
# reading every chunk stored.


def save_photo(db: Database, media_id: str, feedback_id: str, photo, now: datetime) -> None:
    """Keep a photo (services/intake/photos.Photo); a repeat of the same id is ignored."""
    try:
        db.media.insert_one(
            {
                "_id": media_id,
                "feedback_id": feedback_id,
                "content_type": photo.content_type,
                "width": photo.width,
                "height": photo.height,
                "size": len(photo.data),
                "data": Binary(photo.data),
                "created_at": now,
            }
        )
    except DuplicateKeyError:  # the same submission again (a double click, a retry)
        pass


def move_photos(db: Database, media_ids: list[str], feedback_id: str) -> None:
    for media_id in media_ids:
        db.media.update_one({"_id": media_id}, {"$set": {"feedback_id": feedback_id}})


def photo(db: Database, media_id: str) -> dict | None:
    return db.media.find_one({"_id": media_id})


def delete_photos(db: Database, media_ids: list[str]) -> int:
    """Delete photos by ``_id`` (one at a time: never a query the stand-in answers by reading
    every photo); a photo deleted already is skipped."""
    return sum(db.media.delete_one({"_id": m}).deleted_count for m in media_ids)


# ---------------------------------------------------------------- erasure of status questions
# A case's tracking id is known mostly to its citizen, so a question about an erased case most
# likely came from them: its sender is erased too (the question, without it, stays).


def erase_questions(db: Database, feedback_id: str, at: datetime) -> int:
    """Erase the sender of every status question about ``feedback_id`` not erased yet. Reads
    by ``asked`` (indexed on MongoDB; the stand-in reads the collection): an erasure is rare."""
    done = db.replies.update_many(
        {"asked": feedback_id, "erased_at": {"$exists": False}},
        {"$set": {"reply_to.address": None, "erased_at": at}},
    )
    return done.modified_count


# ---------------------------------------------------------------- e-mail opt-outs
# ``optouts``: ``{_id: the address's hash (tokens.address_hash), at}``, read by ``_id`` each
# time a reply address is asked for, so an opt-out holds from the next mail on.


def record_optout(db: Database, address_hash: str, at: datetime) -> None:
    """Note that this address wants no more mail; a repeat keeps the first time."""
    try:
        db.optouts.insert_one({"_id": address_hash, "at": at})
    except DuplicateKeyError:  # unsubscribed already (a second click, the one-click POST)
        pass


def opted_out(db: Database, address_hash: str) -> bool:
    return db.optouts.find_one({"_id": address_hash}, {"_id": 1}) is not None


_made_secrets: dict[str, tuple[str, ...]] = {}


def secret_keys(db: Database, configured: tuple[str, ...]) -> tuple[str, ...]:
    """The secrets that sign citizen and unsubscribe tokens: SUARA_SECRET_KEYS, or else the
    one intake made on its first start (every replica reads the same one)."""
    if configured:
        return configured
    made = _made_secrets.get(db.name)
    if made is not None:
        return made
    found = db.settings.find_one({"_id": "citizen-token-secret"})
    if found is None:
        try:
            db.settings.insert_one(
                {"_id": "citizen-token-secret", "value": secrets.token_urlsafe(48)}
            )
        except DuplicateKeyError:  # another replica made it first
            pass
        found = db.settings.find_one({"_id": "citizen-token-secret"})
    _made_secrets[db.name] = (found["value"],)  # made once, never changed: read once
    return _made_secrets[db.name]
