"""Reporting's MongoDB collections: ``feedback`` (its projection, one document per feedback),
``counters`` (the summary's counts in ``COUNTER_SHARDS`` documents, a feedback's always in
the same one), ``cells`` (one small document per day and cell, see projections.cell) and
``cell_index`` (which cells each month has), all kept exact by ``reconcile``."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.reporting import projections, reports, surge_store

COUNTER_SHARDS = 32
# A day's cells are listed in their month's index, spread over this many documents by
# category: a report of one category reads one per month (docs/adr/0007-report-cells.md)
INDEX_SHARDS = 8
ID_CHUNK = 500  # ids per {_id: {$in: [...]}} read
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
    surge_store.ensure_indexes(db)  # the surges' outbox notes


def apply(db: Database, change: tuple[dict, dict] | list[tuple[dict, dict]]) -> dict | None:
    """Apply an event's projection update(s), then count the feedback; the feedback's
    document as the last update left it (None when that one changed nothing: stale)."""
    changes = change if isinstance(change, list) else [change]
    doc = None
    for one in changes:
        doc = _project(db, one)
    # after a repeat too: a crash may have left it half done
    reconcile(db, changes[0][0]["_id"], doc)
    return doc


def _project(db: Database, change: tuple[dict, dict]) -> dict | None:
    """The document after the update; None when the filter rejects it (stale or repeated)."""
    query, update = change
    # Two events of one feedback may race to create its document: the loser's upsert fails
    # on the unique _id, and is tried again against the document that now exists. A second
    # failure means the filter rejects it: a stale or repeated revision.
    for _ in range(2):
        try:
            return db.feedback.find_one_and_update(
                query, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            continue
    return None


class CountsBusy(TimeoutError):
    """Another handler is counting this feedback; the event is retried later (transient)."""


def reconcile(db: Database, feedback_id: str, doc: dict | None = None) -> None:
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
        # the document as the caller's own write returned it, then as read again
        doc = doc if doc is not None else db.feedback.find_one({"_id": feedback_id})
        if doc is None:
            return
        lease = doc.get("counting") or {}
        if lease.get("until", 0) > time.time():
            if time.monotonic() > waited_until:
                raise CountsBusy(f"the counts of {feedback_id} are being counted elsewhere")
            time.sleep(LEASE_POLL_S)
            doc = None
            continue
        pending = list(doc.get("pending_counts") or [])
        now = projections.contribution(doc)
        # as lists of strings: stored field names cannot have dots, nor arrays nest (FerretDB)
        delta = projections.count_delta(projections.decode_counted(doc.get("counted") or []), now)
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
            update["$set"]["counted"] = projections.encode_counted(now)
            update["$push"] = {"pending_counts": change}
            pending.append(change)
        taken = db.feedback.update_one({"_id": feedback_id, "counted_version": guard}, update)
        if taken.modified_count == 0:
            doc = None
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
        for change in pending:
            for collection, doc_id, _ in _targets(shard, change):
                db[collection].update_one(
                    {"_id": doc_id}, {"$unset": {f"applied.{change['id']}": ""}}
                )


def cell_id(day: str, cell: str) -> str:
    """A cell's document: ``d:2026-12-02|roads~dinas-pupr~...`` (projections.cell)."""
    return f"d:{day}|{cell}"


def index_shard(category: str | None) -> int:
    """The index document of a month that lists the cells of ``category`` (None: "-")."""
    digest = hashlib.sha256((category or "-").encode()).digest()
    return int.from_bytes(digest[:4], "big") % INDEX_SHARDS


def index_id(cell_doc_id: str) -> str:
    """``2026-12#3``: the month's index document that lists this cell's document."""
    day, _, cell = cell_doc_id[2:].partition("|")
    category = projections.parse_cell(cell).get("category")
    return f"{day[:7]}#{index_shard(category)}"


def _targets(shard: str, change: dict) -> list[tuple[str, str, dict[str, int]]]:
    """Where a staged change goes: (collection, document id, increments), the all-time
    counters' shard first, then each cell's document."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for item in change["inc"]:
        key, _, n = item.rpartition(":")
        bucket, sep, path = key.partition("|")
        if sep and bucket.startswith(projections.CLUSTER_BUCKET):  # c:<cluster>|members
            target, field = ("clusters", bucket[len(projections.CLUSTER_BUCKET) :]), path
        elif sep:  # d:2026-12-02|cells.<cell>.<metric>
            _, cell, metric = path.split(".")
            target, field = ("cells", cell_id(bucket[2:], cell)), metric
        else:
            target, field = ("counters", shard), key
        grouped.setdefault(target, {})[field] = int(n)
    return [
        (c, i, inc) for (c, i), inc in sorted(grouped.items(), key=lambda t: t[0][0] != "counters")
    ]


def _apply_change(db: Database, shard: str, change: dict) -> None:
    """Add one staged change to each document it touches, unless it was added there already
    (the change's id, recorded in the same write, says so)."""
    for collection, doc_id, inc in _targets(shard, change):
        if collection == "counters":
            _add_to_counters(db, shard, change["id"], inc)
        elif collection == "clusters":
            _add_to_cluster(db, doc_id, change["id"], inc)
        else:
            _add_to_cell(db, doc_id, change["id"], inc)


def _add_to_counters(db: Database, shard: str, change_id: str, inc: dict[str, int]) -> None:
    guard = {"_id": shard, f"applied.{change_id}": {"$exists": False}}
    update = {"$inc": inc, "$set": {f"applied.{change_id}": datetime.now(UTC)}}
    if db.counters.update_one(guard, update).matched_count:
        return
    if db.counters.find_one({"_id": shard}, {"_id": 1}) is None:
        _create_counters(db)  # gone (a new or emptied database): create them, then add
    # it exists: not matched means added already, unless it was created since the first try
    db.counters.update_one(guard, update)


def _add_to_cell(db: Database, doc_id: str, change_id: str, inc: dict[str, int]) -> None:
    """Add a change to a cell's document. A cell is listed in its month's index before its
    document is first written, so that every cell with a document is listed (a crash between
    the two leaves a listed cell without a document, which reads as empty). Two first changes
    racing: the loser's insert fails on the unique _id and it is applied to the winner's."""
    guard = {"_id": doc_id, f"applied.{change_id}": {"$exists": False}}
    update = {"$inc": inc, "$set": {f"applied.{change_id}": datetime.now(UTC)}}
    if db.cells.update_one(guard, update).matched_count:
        return  # the usual case: the cell is there
    if db.cells.find_one({"_id": doc_id}, {"_id": 1}) is None:
        _list_cell(db, doc_id)
        try:
            db.cells.update_one(guard, update, upsert=True)
            return
        except DuplicateKeyError:  # created meanwhile by another feedback's handler
            pass
    # it exists: not matched means added already, unless another feedback's first change
    # created it since the first try (the race that lost a case after a rebuild)
    db.cells.update_one(guard, update)


def _add_to_cluster(db: Database, cluster_id: str, change_id: str, inc: dict[str, int]) -> None:
    """Add a change to a cluster's document (``note_cluster`` wrote and listed it before the
    link was projected, so it is there; if not, as after a dropped collection, it is made)."""
    guard = {"_id": cluster_id, f"applied.{change_id}": {"$exists": False}}
    update = {"$inc": inc, "$set": {f"applied.{change_id}": datetime.now(UTC)}}
    if db.clusters.update_one(guard, update).matched_count:
        return
    if db.clusters.find_one({"_id": cluster_id}, {"_id": 1}) is None:
        try:
            db.clusters.update_one(guard, update, upsert=True)
            return
        except DuplicateKeyError:  # created meanwhile by another link's note
            pass
    db.clusters.update_one(guard, update)  # not matched means added already (see _add_to_cell)


def _list_cell(db: Database, doc_id: str) -> None:
    try:
        db.cell_index.update_one(
            {"_id": index_id(doc_id)}, {"$addToSet": {"cells": doc_id}}, upsert=True
        )
    except DuplicateKeyError:  # two first listings of a month racing: the loser's, again
        db.cell_index.update_one({"_id": index_id(doc_id)}, {"$addToSet": {"cells": doc_id}})


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


def period_cells(
    db: Database, start: date, end: date, category: str | None = None, keep=None
) -> dict[date, dict[str, dict[str, int]]]:
    """The cells of each day from ``start`` to ``end`` ({day: {cell: metrics}}), those of one
    ``category`` only when given, and of those only the cells whose key ``keep`` accepts: the
    months' index documents, then the cells' own documents, each read by ``_id`` (in lists of
    ``ID_CHUNK``). The cost follows the period's cells, whatever else is stored."""
    shards = [index_shard(category)] if category else range(INDEX_SHARDS)
    lo, hi = f"d:{start.isoformat()}|", f"d:{end.isoformat()}|"
    wanted = []
    months = reports.months(start, end)
    for doc in _by_ids(db.cell_index, [f"{m}#{k}" for m in months for k in shards]):
        for doc_id in doc.get("cells") or []:
            if lo <= doc_id[: len(lo)] <= hi and (keep is None or keep(doc_id.partition("|")[2])):
                wanted.append(doc_id)
    found: dict[date, dict[str, dict[str, int]]] = {}
    for doc in _by_ids(db.cells, sorted(set(wanted)), {"applied": 0}):
        day_iso, _, cell = doc.pop("_id")[2:].partition("|")
        found.setdefault(date.fromisoformat(day_iso), {})[cell] = doc
    return found


def _by_ids(collection, ids: list[str], fields: dict | None = None):
    for i in range(0, len(ids), ID_CHUNK):
        yield from collection.find({"_id": {"$in": ids[i : i + ID_CHUNK]}}, fields)


def recount_cells(db: Database, days: list[date]) -> dict[date, dict[str, dict[str, int]]]:
    """The cells of ``days`` counted again from the projection: a scan, for the recount
    command and the tests only (``reports.nonzero`` of the live ones should equal it)."""
    wanted = {f"d:{d.isoformat()}": d for d in days}
    cells: dict[date, dict[str, dict[str, int]]] = {d: {} for d in days}
    for doc in db.feedback.find({"received": True}):
        for key, n in projections.contribution(doc).items():
            bucket, sep, path = key.partition("|")
            if not sep or bucket not in wanted:
                continue
            _, cell, metric = path.split(".")
            into = cells[wanted[bucket]].setdefault(cell, {})
            into[metric] = into.get(metric, 0) + n
    return cells


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
            if "|" not in key:  # a day's cell: the reports' own recount checks those
                counts[key] = counts.get(key, 0) + n
    shard: dict = {"total": counts.get("total", 0)}
    for key, n in counts.items():
        group, _, value = key.partition(".")
        if value:
            shard.setdefault(group, {})[value] = n
    return projections.summary_from_counters([shard])


def scan_cases(db: Database, query: dict, fields: dict, batch_size: int = 500):
    """The projection's documents that ``query`` (``exports.scan_filter``) matches, in ``_id``
    order, only ``fields``: a lazy cursor (close it when done). The open-data exports read a
    page so, by ``_id`` range: a scan by nature, with no secondary index to keep up on the
    hot path; the batch bounds what is held at once."""
    return db.feedback.find(query, fields, sort=[("_id", 1)], batch_size=batch_size)


# ---------------------------------------------------------------- the dashboard
# the overdue table (``overdue``: one small document per open overdue case, by _id; the rules
# in overdue.py) and the secret that signs staff sessions (``settings``)
_PROJECTION_FIELDS = {
    f: 1
    for f in (
        "text",
        "status",
        "case_status",
        "status_seq",
        "category",
        "department_id",
        "assigned_department_id",
        "kecamatan",
        "kelurahan",
    )
}


def projection_of(db: Database, feedback_id: str) -> dict | None:
    """The fields of a feedback's projection that the overdue table shows or decides by."""
    return db.feedback.find_one({"_id": feedback_id}, _PROJECTION_FIELDS)


def put_overdue(db: Database, row: dict) -> None:
    for _ in range(2):  # two upserts racing: the loser replaces the winner's, the same row
        try:
            db.overdue.replace_one({"_id": row["_id"]}, row, upsert=True)
            return
        except DuplicateKeyError:
            continue


def drop_overdue(db: Database, feedback_id: str) -> None:
    db.overdue.delete_one({"_id": feedback_id})


def overdue_rows(db: Database, limit: int) -> list[tuple[dict, dict | None]]:
    """Each overdue row with its feedback's projection (read by _id)."""
    rows = list(db.overdue.find({}).limit(limit))
    return [(row, projection_of(db, row["_id"])) for row in rows]


def session_secrets(db: Database, configured: tuple[str, ...]) -> tuple[str, ...]:
    """SUARA_SECRET_KEYS, or else the secret reporting made on its first sign-in (every
    replica reads the same one)."""
    import secrets  # only here: the rest of the store needs none

    if configured:
        return configured
    found = db.settings.find_one({"_id": "dashboard-session-secret"})
    if found is None:
        try:
            db.settings.insert_one(
                {"_id": "dashboard-session-secret", "value": secrets.token_urlsafe(48)}
            )
        except DuplicateKeyError:  # another replica made it first
            pass
        found = db.settings.find_one({"_id": "dashboard-session-secret"})
    return (found["value"],)


# ---------------------------------------------------------------- the forum report's samples
# ``forum_samples``: per month of submission and category (``forum.sample_id``) the entries of
# at most ``forum.SAMPLE_CAP`` cases (a bottom-k sample), so the report reads a bounded number
_SAMPLED_FIELDS = {f: 1 for f in (*_PROJECTION_FIELDS, "submitted_at", "received", "channel")}
_SAMPLED_FIELDS.update({f: 1 for f in ("department", "language", "priority", "overdue")})


# per sample, the highest entry of its lowest SAMPLE_CAP when it was last seen full: entries
# only ever leave a full sample from the top, so an entry at or above it never gets in
_sample_bars: dict[str, str] = {}


def sample_case(db: Database, data: dict, submitted_at: str | None = None) -> bool:
    """Offer a categorized case (``feedback.categorized``'s data; ``submitted_at`` from its
    projection, read when not given) to its month's sample; True when it is in the sample now.
    Once the sample is full, most cases are turned away without a write (``_sample_bars``)."""
    from services.reporting import forum

    fid = data["feedback_id"]
    if submitted_at is None:
        submitted_at = (db.feedback.find_one({"_id": fid}, {"submitted_at": 1}) or {}).get(
            "submitted_at"
        )
    day = projections.city_day(submitted_at) or projections.city_day(data.get("categorized_at"))
    if day is None:
        return False
    key = forum.sample_id(forum.month_of(day), data["category"])
    entry = forum.sample_entry(fid)
    bar = _sample_bars.get(f"{db.name}/{key}")
    if bar is not None and entry > bar:
        return False
    for attempt in range(2):  # two first offers racing: the loser's upsert fails, then matches
        try:
            sample = db.forum_samples.find_one_and_update(
                {"_id": key},
                {"$addToSet": {"entries": entry}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            break
        except DuplicateKeyError:
            if attempt:
                raise
    keep, drop = forum.kept(sample.get("entries") or [], forum.SAMPLE_CAP)
    if drop:  # racing writers each drop what is above the cap in their view: the union holds
        db.forum_samples.update_one({"_id": key}, {"$pullAll": {"entries": drop}})
    if len(keep) >= forum.SAMPLE_CAP:
        _sample_bars[f"{db.name}/{key}"] = keep[-1]
    return entry in keep


def sampled_ids(db: Database, keys: list[str]) -> dict[str, list[str]]:
    """The sampled case ids of the named samples (a few small documents, by ``_id``)."""
    from services.reporting import forum

    found = {}
    for doc in _by_ids(db.forum_samples, keys):
        keep, _ = forum.kept(doc.get("entries") or [], forum.SAMPLE_CAP)
        found[doc["_id"]] = [forum.entry_id(e) for e in keep]
    return found


def sampled_case(db: Database, feedback_id: str) -> dict | None:
    """A sampled case's projection: what its cell is made of, its text and submission."""
    return db.feedback.find_one({"_id": feedback_id}, _SAMPLED_FIELDS)


# ---------------------------------------------------------------- "me too" clusters
# ``clusters``: one document per cluster (its size counted by ``reconcile``, its place and
# times by ``note_cluster``); ``cluster_index``: per month and category the clusters that got a
# me-too report then (services/reporting/clusters.py)


def submitted_at(db: Database, feedback_id: str) -> str | None:
    """A case's submission time from its projection (by _id), None when not received yet."""
    return (db.feedback.find_one({"_id": feedback_id}, {"submitted_at": 1}) or {}).get(
        "submitted_at"
    )


def note_cluster(db: Database, note) -> None:
    """Write what one me-too link (``clusters.Note``) adds to its cluster's document: listed in
    its month's and category's index first (so every cluster with a document is listed), then
    its times by ``$min``/``$max``, then its place and category if this link is the earliest
    (a guard on ``origin``, so the earliest wins whatever the order). Each write is by _id and
    commutes with the others: a repeat or a race changes nothing."""
    found = db.clusters.find_one({"_id": note.cluster_id}, {"listed": 1, "origin": 1}) or {}
    if note.listing not in (found.get("listed") or []):
        _upsert(
            db.cluster_index, {"_id": note.listing}, {"$addToSet": {"clusters": note.cluster_id}}
        )
    _upsert(
        db.clusters,
        {"_id": note.cluster_id},
        {
            "$min": {"first_seen": note.first_seen},
            "$max": {"last_seen": note.seen},
            "$addToSet": {"listed": note.listing},
        },
    )
    if found.get("origin") is None or note.origin < found["origin"]:
        db.clusters.update_one(
            {"_id": note.cluster_id, "origin": {"$not": {"$lte": note.origin}}},
            {"$set": {"origin": note.origin, **note.place}},
        )


def _upsert(collection, query: dict, update: dict) -> None:
    try:
        collection.update_one(query, update, upsert=True)
    except DuplicateKeyError:  # two first writes racing: the loser's, again, as an update
        collection.update_one(query, update)


def cluster_docs(db: Database, index_ids: list[str]) -> list[dict]:
    """The clusters the named index documents list, each read by _id (in lists of
    ``ID_CHUNK``): what the period's months and categories hold, whatever else is stored."""
    wanted = set()
    for doc in _by_ids(db.cluster_index, index_ids):
        wanted.update(doc.get("clusters") or [])
    return list(_by_ids(db.clusters, sorted(wanted), {"applied": 0, "listed": 0}))
