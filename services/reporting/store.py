"""Reporting's MongoDB collections: ``feedback`` (its projection, one document per feedback)
and ``counters`` (the summary's counts in ``COUNTER_SHARDS`` documents, a feedback's always in
the same one, kept exact by ``reconcile``)."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.reporting import projections

COUNTER_SHARDS = 32
# One handler counts a feedback at a time (``reconcile``): it holds the feedback's lease this
# long at most, far longer than its four writes take (each is bounded by pymongo's 30 s socket
# timeout); a crashed handler's lease expires, and the redelivered event finishes its work.
LEASE_S = 15.0
LEASE_WAIT_S = 5.0  # another event of the feedback waits this long, then is retried
LEASE_POLL_S = 0.01
# An applied change's id left in the counters by a crash is dropped after this.
APPLIED_KEPT_S = 600


def counter_shard(feedback_id: str) -> str:
    digest = hashlib.sha256(feedback_id.encode()).digest()
    return f"shard-{int.from_bytes(digest[:4], 'big') % COUNTER_SHARDS:02d}"


def ensure_indexes(db: Database) -> None:
    # every event's read and write is by _id, the summary reads the counters, and the recount
    # scans: no secondary index to keep up on each write
    _create_counters(db)  # before the first event: no update of the counters needs an upsert


def apply(db: Database, change: tuple[dict, dict]) -> bool:
    """Apply one projection update; False when it changed nothing (repeat or stale)."""
    query, update = change
    # Two events of one feedback may race to create its document: the loser's upsert fails
    # on the unique _id, and is tried again against the document that now exists. A second
    # failure means the filter rejects it: a stale or repeated revision.
    changed = False
    for _ in range(2):
        try:
            result = db.feedback.update_one(query, update, upsert=True)
            changed = bool(result.modified_count or result.upserted_id)
            break
        except DuplicateKeyError:
            continue
    reconcile(db, query["_id"])  # after a repeat too: a crash may have left it half done
    return changed


class CountsBusy(TimeoutError):
    """Another handler is counting this feedback; the event is retried later (transient)."""


def reconcile(db: Database, feedback_id: str) -> None:
    """Move into the counters what this feedback's contribution changed, exactly once.

    One handler at a time counts a feedback: it holds the feedback's lease (``counting``) for
    at most ``LEASE_S``; another one waits up to ``LEASE_WAIT_S``, then its event is retried.

    1. In the feedback's own document, in one write guarded by a version (read again when
       another handler moved it): take the lease, record what the feedback now contributes,
       and stage the difference as a change with an id (``pending_counts``).
    2. Apply each staged change to its counters document unless its id is there already,
       recording the id in the same write.
    3. Drop the changes from the feedback and give the lease back, in one write; then drop
       their ids from the counters, which so stay as small as the changes in flight.
    A crash between writes is finished by the redelivered event, once the lease has expired:
    a change still staged is applied again only if its id is not in the counters. An id left
    behind by a crash after step 3 is dropped by ``forget_applied``. Every write is by
    ``_id``."""
    waited_until = time.monotonic() + LEASE_WAIT_S
    token = uuid.uuid4().hex
    while True:
        doc = db.feedback.find_one({"_id": feedback_id})
        if doc is None:
            return
        lease = doc.get("counting") or {}
        if lease.get("until", 0) > time.time():
            if time.monotonic() > waited_until:
                raise CountsBusy(f"the counts of {feedback_id} are being counted elsewhere")
            time.sleep(LEASE_POLL_S)
            continue
        pending = list(doc.get("pending_counts") or [])
        now = projections.contribution(doc)
        # as lists of strings: stored field names cannot have dots, nor arrays nest (FerretDB)
        delta = projections.count_delta({k: 1 for k in doc.get("counted") or []}, now)
        if not delta and not pending:
            return  # counted already: a repeated event costs one read
        version = doc.get("counted_version")
        guard = {"$exists": False} if version is None else version
        update = {
            "$set": {
                "counting": {"by": token, "until": time.time() + LEASE_S},
                "counted_version": (version or 0) + 1,
            }
        }
        if delta:
            change = {"id": uuid.uuid4().hex, "inc": [f"{k}:{n}" for k, n in delta.items()]}
            update["$set"]["counted"] = sorted(now)
            update["$push"] = {"pending_counts": change}
            pending.append(change)
        taken = db.feedback.update_one({"_id": feedback_id, "counted_version": guard}, update)
        if taken.modified_count == 0:
            continue  # another handler moved it meanwhile: read again
        break
    shard = counter_shard(feedback_id)
    try:
        for change in pending:
            _apply_change(db, shard, change)
        done = db.feedback.update_one(
            {"_id": feedback_id, "counting.by": token},
            {"$pullAll": {"pending_counts": pending}, "$unset": {"counting": ""}},
        )
    except BaseException:
        # give the lease back at once, so that the retried event need not wait for it
        db.feedback.update_one(
            {"_id": feedback_id, "counting.by": token}, {"$unset": {"counting": ""}}
        )
        raise
    if done.modified_count:  # else our lease expired and another handler finishes these
        db.counters.update_one(
            {"_id": shard}, {"$unset": {f"applied.{change['id']}": "" for change in pending}}
        )


def _apply_change(db: Database, shard: str, change: dict) -> None:
    """Add one staged change to its counters document, unless it was added already."""
    inc = {k: int(n) for k, _, n in (item.rpartition(":") for item in change["inc"])}
    for _ in range(2):
        done = db.counters.update_one(
            {"_id": shard, f"applied.{change['id']}": {"$exists": False}},
            {"$inc": inc, "$set": {f"applied.{change['id']}": datetime.now(UTC)}},
        )
        if done.matched_count or db.counters.find_one({"_id": shard}, {"_id": 1}):
            return  # added now, or already
        _create_counters(db)  # gone (a new or emptied database): create them, then add


def _create_counters(db: Database) -> None:
    for n in range(COUNTER_SHARDS):
        try:
            db.counters.insert_one({"_id": f"shard-{n:02d}", "total": 0, "applied": {}})
        except DuplicateKeyError:
            pass


def forget_applied(db: Database, older_than_s: float = APPLIED_KEPT_S) -> int:
    """Drop the ids of changes applied longer ago than ``older_than_s``: those a handler that
    crashed after counting them left behind. Returns how many were dropped."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    dropped = 0
    for n in range(COUNTER_SHARDS):
        shard = f"shard-{n:02d}"
        doc = db.counters.find_one({"_id": shard}, {"applied": 1}) or {}
        old = [
            change_id
            for change_id, at in (doc.get("applied") or {}).items()
            if at.replace(tzinfo=at.tzinfo or UTC) < cutoff
        ]
        if old:
            db.counters.update_one({"_id": shard}, {"$unset": {f"applied.{c}": "" for c in old}})
            dropped += len(old)
    return dropped


def open_database(mongo_uri: str, name: str):
    """(client, database) for tools that run outside the service (the recount command)."""
    from shared.mongo import connect

    client = connect(mongo_uri)
    return client, client[name]


def count_notification(db: Database, event_id: str, outcome: str, channel: str) -> bool:
    """Count one ``notification.sent``/``failed`` event once (its id guards the increment;
    kept ``APPLIED_KEPT_S``, like the counters' change ids). False for a repeat."""
    key = f"{outcome}.{channel}"
    for _ in range(2):
        done = db.notification_counts.update_one(
            {"_id": "all", f"applied.{event_id}": {"$exists": False}},
            {"$inc": {key: 1}, "$set": {f"applied.{event_id}": datetime.now(UTC)}},
        )
        if done.matched_count:
            return True
        if db.notification_counts.find_one({"_id": "all"}, {"_id": 1}):
            return False  # counted already
        try:
            db.notification_counts.insert_one({"_id": "all", "applied": {}})
        except DuplicateKeyError:
            pass
    return False


def forget_applied_notifications(db: Database, older_than_s: float = APPLIED_KEPT_S) -> int:
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    doc = db.notification_counts.find_one({"_id": "all"}, {"applied": 1}) or {}
    old = [e for e, at in (doc.get("applied") or {}).items() if at < cutoff]
    if old:
        db.notification_counts.update_one(
            {"_id": "all"}, {"$unset": {f"applied.{e}": "" for e in old}}
        )
    return len(old)


def summary(db: Database) -> dict:
    """From the counters: ``COUNTER_SHARDS`` small documents, whatever is stored."""
    return projections.summary_from_counters(list(db.counters.find({}, {"applied": 0})))


def notification_counts(db: Database) -> dict:
    """The messages sent and failed, by channel (one small document)."""
    counts = db.notification_counts.find_one({"_id": "all"}, {"applied": 0}) or {}
    return {o: dict(sorted((counts.get(o) or {}).items())) for o in ("sent", "failed")}


def recount(db: Database) -> dict:
    """The summary counted again from the projection: a scan, for the recount command only.
    Each feedback counts as the counters count it (``projections.contribution``)."""
    counts: dict[str, int] = {}
    for doc in db.feedback.find({"received": True}):
        for key, n in projections.contribution(doc).items():
            counts[key] = counts.get(key, 0) + n
    shard: dict = {"total": counts.get("total", 0)}
    for key, n in counts.items():
        group, _, value = key.partition(".")
        if value:
            shard.setdefault(group, {})[value] = n
    return projections.summary_from_counters([shard])
