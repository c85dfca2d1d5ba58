"""Intake's logic: a feedback's record, its lifecycle, what the public may see of it.

Pure functions, except the use cases at the bottom, which take the store and the publisher
as arguments (so tests can hand in the real adapters or simple fakes).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.intake import lifecycle, privacy
from shared import outbox_entries
from shared.taxonomy import department_id

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_id() -> str:
    """A tracking id a citizen can read out on the phone: SU- and 10 characters (50 bits)."""
    return "SU-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def keyed_id(*key: str) -> str:
    """The tracking id of a keyed submission (an Idempotency-Key, a source's external id): the
    same for every retry, so a repeat is found by ``_id`` alone, never by a secondary lookup."""
    digest = hashlib.sha256("\x1f".join(("suara-feedback", *key)).encode()).digest()
    bits = int.from_bytes(digest[:8], "big") >> 14  # 50 bits, as new_id has
    return "SU-" + "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(10)))


def submission_id(source: str | None, external_id: str | None, idempotency_key: str | None) -> str:
    """The id for a new submission: derived from its key if it has one, random otherwise."""
    if source is not None and external_id is not None:
        return keyed_id("amqp", source, external_id)
    if idempotency_key is not None:
        return keyed_id("http", idempotency_key)
    return new_id()


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def valid_correlation_id(value: str | None) -> str | None:
    """A caller's correlation id if it is a sane token, else None (a new one is made)."""
    return value if value and _CORRELATION_ID.fullmatch(value) else None


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def new_record(
    submission: dict,
    *,
    channel: str,
    source: str | None = None,
    external_id: str | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
    feedback_id: str | None = None,
) -> dict:
    """The stored feedback, with its ``feedback.received`` event staged in the same document.

    Its id is derived from its key, if it has one (``submission_id``), unless given."""
    now = now or datetime.now(UTC)
    submitted = submission.get("submitted_at") or now  # imported history keeps its own time
    feedback_id = feedback_id or submission_id(source, external_id, idempotency_key)
    correlation_id = correlation_id or str(uuid.uuid4())
    contact = submission.get("contact") or {}
    location = submission.get("location")
    received = outbox_entries.entry(
        "intake",
        "feedback.received",
        {
            "feedback_id": feedback_id,
            "channel": channel,
            "source": source,
            "text": privacy.redact(submission["text"]),
            "language": contact.get("language"),
            "category_hint": submission.get("category_hint"),
            "location": privacy.event_location(location),
            "submitted_at": _iso(submitted),
            "imported": bool(submission.get("imported")),
            "category": submission.get("category"),
        },
        subject=feedback_id,
        correlation_id=correlation_id,
    )
    record = {
        "_id": feedback_id,
        "text": submission["text"],
        "location": location,
        "contact": contact or None,
        "category_hint": submission.get("category_hint"),
        "channel": channel,
        "source": source,
        "status": "received",
        "category": None,
        "department": None,
        "department_id": None,
        "priority": None,
        "categorization_revision": 0,
        "correlation_id": correlation_id,
        "created_at": submitted,
        "imported": bool(submission.get("imported")),
        "updated_at": now,
        **outbox_entries.staged([received], now),
    }
    if source is not None and external_id is not None:
        record["external_key"] = f"{source}/{external_id}"
        record["external_id"] = external_id
    if idempotency_key is not None:
        record["idempotency_key"] = idempotency_key
        record["request_fingerprint"] = request_fingerprint
    return record


def receipt(record: dict) -> dict:
    """The answer to a submission (also replayed for a repeated Idempotency-Key)."""
    return {
        "id": record["_id"],
        "status": "received",
        "submitted_at": _iso(record["created_at"]),
        "links": {"self": f"/api/v1/feedback/{record['_id']}"},
    }


def public_view(record: dict) -> dict:
    """What anyone holding the tracking id may see: never the contact."""
    return {
        "id": record["_id"],
        "status": record["status"],
        "category": record.get("category"),
        "department": record.get("department"),
        "department_id": record.get("department_id"),
        "priority": record.get("priority"),
        "channel": record["channel"],
        "submitted_at": _iso(record["created_at"]),
        "updated_at": _iso(record["updated_at"]),
        "history": history_view(record),
    }


def categorization_updates(data: dict, now: datetime | None = None) -> list[tuple[dict, dict]]:
    """The (filter, update) pairs that apply a ``feedback.categorized`` event, newer revisions
    only; the store applies the first that matches. A case in the system's own states takes
    the status the categorization implies; one a department is working keeps its state."""
    revision = data.get("revision", 1)
    fields = {
        "category": data["category"],
        "department": data["department"],
        # events of before department ids: the id of the department of that name
        "department_id": data.get("department_id") or department_id(data["department"]),
        "priority": data["priority"],
        "categorization_revision": revision,
        "updated_at": now or datetime.now(UTC),
    }
    newer = {"_id": data["feedback_id"], "categorization_revision": {"$lt": revision}}
    status = lifecycle.after_categorization("received", bool(data.get("needs_review")))
    return [
        (
            {**newer, "status": {"$in": list(lifecycle.SYSTEM)}},
            {"$set": {"status": status, **fields}},
        ),
        ({**newer, "status": {"$nin": list(lifecycle.SYSTEM)}}, {"$set": fields}),
    ]


def status_change(
    record: dict, move: lifecycle.Move, by: str, now: datetime | None = None
) -> tuple[dict, dict, dict]:
    """(filter, update, staged event) moving a case: the update applies only to the case as it
    was read (its state and sequence), records the move in its history and stages
    ``feedback.status_changed`` (the note only when public, and redacted)."""
    now = now or datetime.now(UTC)
    seq = record.get("status_seq", 0) + 1
    note = (move.note or "").strip() or None
    public_note = privacy.redact(note) if note and move.visibility == "public" else None
    event = outbox_entries.entry(
        "intake",
        "feedback.status_changed",
        {
            "feedback_id": record["_id"],
            "from": record["status"],
            "to": move.status,
            "department_id": record.get("department_id"),
            "note": public_note,
            "duplicate_of": move.duplicate_of,
            "sequence": seq,
            "changed_at": _iso(now),
        },
        subject=record["_id"],
        correlation_id=record.get("correlation_id") or record["_id"],
    )
    step = {"status": move.status, "from": record["status"], "at": now, "by": by}
    if note:
        step.update(note=note, visibility=move.visibility)
    if move.duplicate_of:
        step["duplicate_of"] = move.duplicate_of
    changes = {"status": move.status, "status_seq": seq, "updated_at": now, "outbox_at": now}
    if move.status == "resolved":
        changes["resolved_at"] = now
    if move.duplicate_of:
        changes["duplicate_of"] = move.duplicate_of
    seen = record.get("status_seq")
    query = {
        "_id": record["_id"],
        "status": record["status"],
        "status_seq": {"$exists": False} if seen is None else seen,
    }
    return query, {"$set": changes, "$push": {"history": step, "outbox": event}}, event


def history_view(record: dict, internal: bool = False) -> list[dict]:
    """A case's history as the API shows it: public notes to anyone, internal ones to staff."""
    steps = [{**h, "at": _iso(h["at"])} for h in record.get("history") or []]
    return steps if internal else lifecycle.public_history(steps)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def key_field(record: dict) -> str | None:
    """The field that makes ``record`` idempotent, if any."""
    for field in ("external_key", "idempotency_key"):
        if record.get(field) is not None:
            return field
    return None


class IdTaken(Exception):
    """The derived id belongs to another key (a 50-bit collision): store it under a new id."""


@dataclass(frozen=True)
class Submitted:
    record: dict
    created: bool  # False: an earlier identical submission was found
