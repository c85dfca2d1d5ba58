"""Intake's records as the events they announced (pure), for ``suara replay``: a service whose
projection was lost or must be rebuilt (reporting) gets them again, alone, on its own queues.

From a stored case: ``feedback.received`` (its text redacted as the event was, its location as
events carry it), each step of its history in order as ``feedback.status_changed`` or
``feedback.reassigned`` (history steps and transfers share the case's ``sequence``, from 1),
``feedback.rated``, ``feedback.overdue`` and, for a "me too" link a department reviewed,
``feedback.duplicate_reviewed``. Times are the stored ones, so a projection built
from the replay equals the one built live. Events of personal data erased stay erased: the
replay reads only what the case holds now.
"""

from __future__ import annotations

from services.intake import feedback, privacy
from shared import events
from shared.taxonomy import TAXONOMY


def _iso(value) -> str | None:
    return None if value is None else events.iso(value)


def _build(record: dict, event_type: str, data: dict) -> dict:
    return events.build(
        "intake",
        event_type,
        {"feedback_id": record["_id"], **data},
        subject=record["_id"],
        correlation_id=record.get("correlation_id") or record["_id"],
    )


def _actor(step: dict, following: dict | None) -> str:
    """Who made a move, as its event said: a move a transfer made is the system's."""
    if following and following.get("transfer") and following.get("at") == step.get("at"):
        return "system"
    by = step.get("by")
    if by in ("citizen", "system"):
        return by
    return "department"


def events_of(record: dict) -> list[dict]:
    """The events a stored case announced, in order."""
    location = record.get("location")
    contact = record.get("contact") or {}
    found = [
        _build(
            record,
            "feedback.received",
            {
                "channel": record["channel"],
                "source": record.get("source"),
                "text": privacy.redact(record["text"]),
                "language": contact.get("language") or record.get("language"),
                "category_hint": record.get("category_hint"),
                "location": privacy.event_location(location),
                "submitted_at": _iso(record["created_at"]),
                "imported": bool(record.get("imported")),
                "category": record.get("requested_category"),
            },
        )
    ]
    history = record.get("history") or []
    for seq, step in enumerate(history, start=1):
        at = _iso(step["at"])
        if step.get("transfer"):
            department = TAXONOMY.department_named(step["transfer"]["to"]).name
            found.append(
                _build(
                    record,
                    "feedback.reassigned",
                    {
                        "from_department_id": step["transfer"].get("from"),
                        "department_id": step["transfer"]["to"],
                        "department": department,
                        "reason": None,
                        "status": step["status"],
                        "sequence": seq,
                        "reassigned_at": at,
                    },
                )
            )
            continue
        public = step.get("note") if step.get("visibility") == "public" else None
        found.append(
            _build(
                record,
                "feedback.status_changed",
                {
                    "from": step.get("from") or "received",
                    "to": step["status"],
                    "department_id": record.get("department_id"),
                    "note": privacy.redact(public) if public else None,
                    "duplicate_of": step.get("duplicate_of"),
                    "sequence": seq,
                    "changed_at": at,
                    "actor": _actor(step, history[seq] if seq < len(history) else None),
                },
            )
        )
    rating = record.get("rating")
    if rating:
        found.append(
            _build(
                record,
                "feedback.rated",
                {
                    "score": rating["score"],
                    "comment": None,  # reporting keeps none
                    "department_id": record.get("department_id"),
                    "category": record.get("category"),
                    "rated_at": _iso(rating.get("at") or record["updated_at"]),
                },
            )
        )
    link = record.get("duplicate_link") or {}
    if link.get("state") in ("confirmed", "undone") and link.get("reviewed_at"):
        found.append(
            _build(
                record,
                "feedback.duplicate_reviewed",
                {
                    "similar_to": record["similar_to"],
                    "cluster_id": record.get("cluster_id") or record["similar_to"],
                    "decision": link["state"],
                    "department_id": record.get("department_id"),
                    "reviewed_at": _iso(link["reviewed_at"]),
                },
            )
        )
    if record.get("overdue_at") and record.get("due_at"):
        found.append(
            _build(
                record,
                "feedback.overdue",
                {**feedback.deadline_facts(record), "overdue_at": _iso(record["overdue_at"])},
            )
        )
    return found
