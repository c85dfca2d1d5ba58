"""Intake's use cases: take a submission from any channel, store it once, announce it.

Each takes the database and the publisher as arguments: the adapters the service injects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pymongo.database import Database

from services.intake import feedback, store
from shared import outbox

log = logging.getLogger(__name__)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


def submit_http(
    db: Database,
    publish: Callable[[dict], None],
    body: dict,
    submission: dict,
    *,
    idempotency_key: str | None,
    correlation_id: str | None,
) -> feedback.Submitted:
    """Store a web submission once per Idempotency-Key; a repeat gets the first record back."""
    fingerprint = feedback.fingerprint(body)
    record = feedback.new_record(
        submission,
        channel="http",
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key else None,
        correlation_id=feedback.valid_correlation_id(correlation_id),
    )
    result = store.insert(db, record)
    if result.created:
        outbox.relay_or_defer(db.feedback, record["_id"], publish, record["outbox"])
    elif result.record.get("request_fingerprint") != fingerprint:
        raise IdempotencyConflict(idempotency_key)
    return result


def submit_command(db: Database, publish: Callable[[dict], None], command: dict) -> bool:
    """Store a ``feedback.submit`` command once per (source, external_id); False if a repeat."""
    record = feedback.new_record(
        command, channel="amqp", source=command["source"], external_id=command["external_id"]
    )
    if store.insert(db, record).created:
        outbox.relay_or_defer(db.feedback, record["_id"], publish, record["outbox"])
        return True
    log.info("duplicate submission %s/%s ignored", command["source"], command["external_id"])
    return False
