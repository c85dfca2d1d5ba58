"""The transactional outbox, without multi-document transactions.

An event is staged inside the very document whose change it announces (field ``outbox``), in
the same single-document write, so a stored change always has its event. The writer publishes
right away (confirmed) and pulls the entry; a periodic sweep publishes what a crash left
behind. Consumers are idempotent, so the rare double publish is harmless.

So that the sweep's cost follows what is pending, not what is stored, each entry is also noted
in the small collection ``outbox_pending`` (``mark``) *before* the write that stages it, and
the note is removed once the entry is published. A note whose entry was never staged (a crash
between the two writes) or was published before its note was removed (a crash after) is
dropped by the sweep. Every read and write of a staged document is by ``_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.amqp.publish import UndeliverableMessage
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared import config

log = logging.getLogger(__name__)

Publish = Callable[[dict], None]
# failures of the broker or the database: relayed later by the sweep, not an error of the caller
RELAY_LATER = (OSError, OperationalError, AMQPError, UndeliverableMessage, PyMongoError)

# How often a service looks for events left staged. Read at import: nameko's @timer takes a
# fixed interval. On FerretDB each sweep reads the whole collection: raise it there.
SWEEP_INTERVAL_S = config.outbox_sweep_s()


PENDING = "outbox_pending"  # in each service's own database
ORPHAN_AFTER_S = 300.0  # a note without its staged entry is dropped after this


def ensure_indexes(collection: Collection) -> None:
    collection.database[PENDING].create_index([("collection", 1), ("at", 1)])


def _note_id(collection: Collection, doc_id, entry: dict) -> str:
    return f"{collection.name}:{doc_id}:{entry['id']}"


def mark(collection: Collection, doc_id, entries: Iterable[dict], now: datetime | None = None):
    """Note ``entries`` as pending, before the write that stages them in document ``doc_id``."""
    pending = collection.database[PENDING]
    for item in entries:
        note = {
            "_id": _note_id(collection, doc_id, item),
            "collection": collection.name,
            "doc_id": doc_id,
            "at": now or datetime.now(UTC),
        }
        try:
            pending.insert_one(note)
        except DuplicateKeyError:  # noted already (a retried write)
            pass


def _unmark(collection: Collection, doc_id, entries: Iterable[dict]) -> None:
    pending = collection.database[PENDING]
    for item in entries:
        pending.delete_one({"_id": _note_id(collection, doc_id, item)})


def relay(
    collection: Collection, doc_id, publish: Publish, staged: list[dict] | None = None
) -> int:
    """Publish a document's staged events (each confirmed), then drop them; returns the count.

    ``staged``: the entries the caller has just written, which saves reading them back.
    """
    if staged is None:
        doc = collection.find_one({"_id": doc_id}, {"outbox": 1})
        if doc is None:
            return 0
        staged = doc.get("outbox") or []
        if not staged:
            collection.update_one({"_id": doc_id, "outbox": []}, {"$unset": {"outbox_at": ""}})
            return 0
    for item in staged:
        publish(item)
    # One write in the common case: the outbox still holds exactly what was published.
    done = collection.update_one(
        {"_id": doc_id, "outbox": staged},
        {"$set": {"outbox": []}, "$unset": {"outbox_at": ""}},
    )
    if done.matched_count == 0:  # more was staged meanwhile: remove only what was sent
        collection.update_one({"_id": doc_id}, {"$pullAll": {"outbox": staged}})
        collection.update_one({"_id": doc_id, "outbox": []}, {"$unset": {"outbox_at": ""}})
    _unmark(collection, doc_id, staged)
    return len(staged)


def relay_or_defer(
    collection: Collection, doc_id, publish: Publish, staged: list[dict] | None = None
) -> None:
    """Relay now if the broker (and the database) take it; otherwise the sweep publishes it
    later. Anything else, a bug of ours, is raised: the events stay staged all the same."""
    try:
        relay(collection, doc_id, publish, staged)
    except RELAY_LATER as exc:  # the events stay staged: nothing is lost
        log.warning("events of %s left for the outbox sweep: %s", doc_id, exc)


def sweep(
    collection: Collection, publish: Publish, *, older_than_s: float = 5.0, limit: int = 500
) -> int:
    """Publish events left staged for longer than ``older_than_s`` (a crash, a broker outage).

    Reads only the pending notes and, by ``_id``, their documents. A document that cannot be
    relayed is logged and counted, and the others are relayed all the same."""
    now = datetime.now(UTC)
    pending = collection.database[PENDING]
    notes = list(
        pending.find(
            {"collection": collection.name, "at": {"$lt": now - timedelta(seconds=older_than_s)}}
        ).limit(limit)
    )
    by_doc: dict = {}
    for note in notes:
        by_doc.setdefault(note["doc_id"], []).append(note)
    sent = stuck = 0
    for doc_id, doc_notes in by_doc.items():
        try:
            sent += relay(collection, doc_id, publish)
        except Exception:
            stuck += 1
            log.exception("outbox sweep: %s/%s could not be relayed", collection.name, doc_id)
            continue
        orphan_before = now - timedelta(seconds=ORPHAN_AFTER_S)
        for note in doc_notes:  # entries no longer staged: published already, or never written
            if note["at"].replace(tzinfo=UTC) < orphan_before:
                pending.delete_one({"_id": note["_id"]})
    if sent or stuck:
        log.info(
            "outbox sweep of %s: %d event(s) published, %d document(s) stuck",
            collection.name,
            sent,
            stuck,
        )
    return sent
