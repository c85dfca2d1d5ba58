"""From a triage decision to the stored assignment and its events (pure).

A feedback's assignment has a ``revision``: 1 for the automatic decision, +1 for each staff
correction; consumers apply only newer revisions, so order and repetition do not matter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.categorization.triage import Decision
from shared import outbox_entries
from shared.events import iso, now_iso
from shared.taxonomy import department_id

SERVICE = "categorization"


def categorized_entry(feedback_id: str, doc: dict, correlation_id: str) -> dict:
    """The outbox entry of ``feedback.categorized`` for a decision as stored."""
    return outbox_entries.entry(
        SERVICE,
        "feedback.categorized",
        {
            "feedback_id": feedback_id,
            "category": doc["category"],
            "department": doc["department"],
            "department_id": department_id(doc["department"]),
            "confidence": round(float(doc["confidence"]), 4),
            "priority": doc["priority"],
            "method": doc["method"],
            "model_version": doc.get("model_version"),
            "needs_review": doc["needs_review"],
            "language": doc.get("language"),
            "revision": doc["revision"],
            "categorized_at": iso(doc.get("updated_at")) if doc.get("updated_at") else now_iso(),
            "imported": bool(doc.get("imported")),
            **cluster_fields(feedback_id, doc.get("duplicates")),
        },
        subject=feedback_id,
        correlation_id=correlation_id,
    )


def cluster_fields(feedback_id: str, record: dict | None) -> dict:
    """``cluster_id`` and ``similar_to`` of ``feedback.categorized``: absent when no check ran
    (imported history, no location, the check off, decisions older than the check)."""
    if not record or not record.get("checked"):
        return {}
    return {
        "cluster_id": record.get("cluster_id") or feedback_id,
        "similar_to": record.get("similar_to"),
    }


def duplicate_entry(feedback_id: str, doc: dict, correlation_id: str) -> dict:
    """The outbox entry of ``feedback.duplicate_suspected`` for a decision that links."""
    record = doc["duplicates"]
    return outbox_entries.entry(
        SERVICE,
        "feedback.duplicate_suspected",
        {
            "feedback_id": feedback_id,
            "similar_to": record["similar_to"],
            "cluster_id": record["cluster_id"],
            "similarity": record["similarity"],
            "distance_m": record.get("distance_m"),
            "kelurahan": record.get("kelurahan_name"),
            "category": doc["category"],
            "department_id": department_id(doc["department"]),
            # when the decision was made: a replay tells the time the live event told
            "suspected_at": iso(doc["created_at"]) if doc.get("created_at") else now_iso(),
        },
        subject=feedback_id,
        correlation_id=correlation_id,
    )


def new_assignment(
    feedback_id: str,
    text: str,
    decision: Decision,
    *,
    correlation_id: str | None,
    category_hint: str | None = None,
    now: datetime | None = None,
    imported: bool = False,
    duplicates: dict | None = None,
) -> dict:
    """The ``decisions`` document for a new feedback, its events staged inside it.

    ``duplicates``: the "me too" check (services/categorization/duplicates.py: ``check``),
    stored with the decision so that it is made once; a link stages
    ``feedback.duplicate_suspected`` beside ``feedback.categorized``."""
    now = now or datetime.now(UTC)
    correlation_id = correlation_id or feedback_id
    doc = {
        "_id": feedback_id,
        "text": text,
        "category": decision.category,
        "department": decision.department,
        "confidence": decision.confidence,
        "alternatives": decision.alternatives,
        "priority": decision.priority,
        "urgency_reasons": decision.urgency_reasons,
        "language": decision.language,
        "method": decision.method,
        "model_version": decision.model_version,
        "needs_review": decision.needs_review,
        "category_hint": category_hint,
        "imported": imported,
        "duplicates": duplicates,
        "revision": 1,
        "correlation_id": correlation_id,
        "created_at": now,
        "updated_at": now,
    }
    entries = [categorized_entry(feedback_id, doc, correlation_id)]
    if decision.priority == "urgent" and not imported:  # history alerts no one
        entries.append(
            outbox_entries.entry(
                SERVICE,
                "feedback.urgent",
                {
                    "feedback_id": feedback_id,
                    "category": decision.category,
                    "department": decision.department,
                    "department_id": department_id(decision.department),
                    "reasons": decision.urgency_reasons,
                    "flagged_at": now_iso(),
                },
                subject=feedback_id,
                correlation_id=correlation_id,
            )
        )
    if duplicates and duplicates.get("similar_to"):
        entries.append(duplicate_entry(feedback_id, doc, correlation_id))
    doc.update(outbox_entries.staged(entries, now))
    return doc


def as_given(decision: Decision, category: str, department: str) -> Decision:
    """The decision for history that arrived with its category (``suara import``): that
    category, as a person chose it; language and urgency as triage found them."""
    return replace(
        decision,
        category=category,
        department=department,
        confidence=1.0,
        needs_review=False,
        method="manual",
    )


def correction(
    current: dict, category: str, department: str, *, client: str, now: datetime | None = None
) -> dict:
    """The update that records a staff correction and stages ``feedback.categorized``."""
    now = now or datetime.now(UTC)
    corrected = {
        "category": category,
        "department": department,
        "confidence": 1.0,
        "method": "manual",
        "needs_review": False,
        "revision": current["revision"] + 1,
        "corrected_by": client,
        "updated_at": now,
    }
    entry = categorized_entry(current["_id"], {**current, **corrected}, current["correlation_id"])
    return {"$set": {**corrected, "outbox_at": now}, "$push": {"outbox": entry}}


def review_item(doc: dict) -> dict:
    return {
        "feedback_id": doc["_id"],
        "text": doc["text"],
        "category": doc["category"],
        "department": doc["department"],
        "department_id": department_id(doc["department"]),
        "confidence": round(float(doc["confidence"]), 4),
        "alternatives": doc.get("alternatives", []),
        "priority": doc["priority"],
        "model_version": doc.get("model_version"),
        "received_at": doc["created_at"],
    }


def classify_answer(decision: Decision) -> dict:
    return {
        "category": decision.category,
        "confidence": round(float(decision.confidence), 4),
        "department": decision.department,
        "department_id": department_id(decision.department),
        "priority": decision.priority,
        "language": decision.language,
        "alternatives": decision.alternatives[:3],
        "model_version": decision.model_version,
    }
