"""Outbox entries: the events a write stages inside its own document (pure: no database).

``shared/outbox.py`` relays them (I/O); domain modules build them with this one, so they import
no driver, not even through ``shared``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from shared import events


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
