"""The transactional outbox, without multi-document transactions.

An event is staged inside the very document whose change it announces (field ``outbox``), in
the same single-document write, so a stored change always has its event. The writer publishes
right away (confirmed) and pulls the entry; a periodic sweep publishes what a crash left
behind. Consumers are idempotent, so the rare double publish is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection

from shared import config, events

log = logging.getLogger(__name__)

Publish = Callable[[dict], None]

# How often a service looks for events left staged. Read at import: nameko's @timer takes a
# fixed interval. On FerretDB each sweep reads the whole collection: raise it there.
SWEEP_INTERVAL_S = config.outbox_sweep_s()


def entry(service: str, event_type: str, data: dict, *, subject: str, correlation_id: str) -> dict:
    """An outbox entry: a contract-checked CloudEvent and where it goes."""
    contract = events.spec(service, event_type)
    event = events.build(service, event_type, data, subject=subject, correlation_id=correlation_id)
    return {
        "id": event["id"],
        "exchange": contract.exchange,
        "routing_key": contract.type,
        "event": event,
    }


def staged(entries: Iterable[dict], now: datetime | None = None) -> dict:
    """Fields to ``$set`` (or include in an insert) that stage ``entries``."""
    return {"outbox": list(entries), "outbox_at": now or datetime.now(UTC)}


def push(entries: Iterable[dict], now: datetime | None = None) -> dict:
    """An update that appends ``entries`` to a document's outbox."""
    return {
        "$push": {"outbox": {"$each": list(entries)}},
        "$set": {"outbox_at": now or datetime.now(UTC)},
    }


def ensure_indexes(collection: Collection) -> None:
    collection.create_index("outbox_at", sparse=True)


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
    return len(staged)


def relay_or_defer(
    collection: Collection, doc_id, publish: Publish, staged: list[dict] | None = None
) -> None:
    """Relay now if the broker takes it; otherwise the sweep publishes it later."""
    try:
        relay(collection, doc_id, publish, staged)
    except Exception as exc:  # the events stay staged: nothing is lost
        log.warning("events of %s left for the outbox sweep: %s", doc_id, exc)


def sweep(
    collection: Collection, publish: Publish, *, older_than_s: float = 5.0, limit: int = 500
) -> int:
    """Publish events left staged for longer than ``older_than_s`` (a crash, a broker outage)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    ids = [
        d["_id"] for d in collection.find({"outbox_at": {"$lt": cutoff}}, {"_id": 1}).limit(limit)
    ]
    sent = 0
    for doc_id in ids:
        sent += relay(collection, doc_id, publish)
    if sent:
        log.info("outbox sweep of %s published %d event(s)", collection.name, sent)
    return sent
