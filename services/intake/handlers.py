"""Intake's use cases: take a submission from any channel, store it once, announce it.

Each takes the database and the publisher as arguments: the adapters the service injects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pymongo.database import Database

from services.intake import feedback, lifecycle, store
from shared import outbox
from shared.http import Caller

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

    def record(feedback_id: str | None = None) -> dict:
        return feedback.new_record(
            submission,
            channel="http",
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint if idempotency_key else None,
            correlation_id=feedback.valid_correlation_id(correlation_id),
            feedback_id=feedback_id,
        )

    result = _insert(db, record)
    if result.created:
        outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
    elif result.record.get("request_fingerprint") != fingerprint:
        raise IdempotencyConflict(idempotency_key)
    return result


def _insert(db: Database, record: Callable[..., dict]) -> feedback.Submitted:
    """Store the record ``record()`` builds under its derived id, or under a random one if
    that id belongs to another key."""
    try:
        return store.insert(db, record())
    except feedback.IdTaken:
        return store.insert(db, record(feedback.new_id()))


def submit_command(db: Database, publish: Callable[[dict], None], command: dict) -> bool:
    """Store a ``feedback.submit`` command once per (source, external_id); False if a repeat."""

    def record(feedback_id: str | None = None) -> dict:
        return feedback.new_record(
            command,
            channel="amqp",
            source=command["source"],
            external_id=command["external_id"],
            feedback_id=feedback_id,
        )

    result = _insert(db, record)
    if result.created:
        outbox.relay_or_defer(db.feedback, result.record["_id"], publish, result.record["outbox"])
        return True
    log.info("duplicate submission %s/%s ignored", command["source"], command["external_id"])
    return False


class NotFound(Exception):
    """No case with this id."""


class NotYours(Exception):
    """A department may move only the cases assigned to it."""


class ChangedMeanwhile(Exception):
    """The case moved between our read and our write: the caller may try again."""


def change_status(
    db: Database,
    publish: Callable[[dict], None],
    feedback_id: str,
    move: lifecycle.Move,
    caller: Caller,
) -> dict:
    """A department (or an admin) moves a case; ``feedback.status_changed`` is announced.
    Raises NotFound, NotYours, lifecycle.MoveInvalid / MoveRefused or ChangedMeanwhile."""
    record = store.get(db, feedback_id)
    if record is None:
        raise NotFound(feedback_id)
    if not caller.admin and record.get("department_id") != caller.department_id:
        raise NotYours(feedback_id)
    lifecycle.check(record["status"], move, "staff", feedback_id)
    if move.duplicate_of and store.get(db, move.duplicate_of) is None:
        raise lifecycle.MoveInvalid({"duplicate_of": ["no case with this id"]})
    query, update, staged = feedback.status_change(record, move, caller.name)
    if not store.change_status(db, query, update, staged):
        raise ChangedMeanwhile(feedback_id)
    outbox.relay_or_defer(db.feedback, feedback_id, publish, [staged])
    return store.get(db, feedback_id)
