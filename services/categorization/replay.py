"""Categorization's decisions as the events they announced (pure), for ``suara replay``.

A decision of revision N gives ``feedback.categorized`` at revision 1 with the time it was first
made (so the time to categorize is rebuilt as it was measured) and, when corrected since, at
revision N with the time of its last correction; an urgent one, ``feedback.urgent``; one that
repeats an open case and was not undone since, ``feedback.duplicate_suspected`` (an undone link
is told by intake's replay of ``feedback.duplicate_reviewed``). Consumers apply only newer
revisions and count each link once, so the replay settles where the live events did.
"""

from __future__ import annotations

from services.categorization import assignment
from shared import events


def events_of(decision: dict) -> list[dict]:
    found = []
    revisions = [1] if decision.get("revision", 1) <= 1 else [1, decision["revision"]]
    for revision in revisions:
        at = decision["created_at"] if revision == 1 else decision["updated_at"]
        doc = {**decision, "revision": revision, "updated_at": at}
        entry = assignment.categorized_entry(decision["_id"], doc, _correlation(decision))
        found.append(entry["event"])
    if decision.get("priority") == "urgent" and not decision.get("imported"):
        found.append(
            events.build(
                "categorization",
                "feedback.urgent",
                {
                    "feedback_id": decision["_id"],
                    "category": decision["category"],
                    "department": decision["department"],
                    "department_id": None,
                    "reasons": list(decision.get("urgency_reasons") or []),
                    "flagged_at": events.iso(decision["created_at"]),
                },
                subject=decision["_id"],
                correlation_id=_correlation(decision),
            )
        )
    if (decision.get("duplicates") or {}).get("similar_to") and not decision.get("imported"):
        entry = assignment.duplicate_entry(decision["_id"], decision, _correlation(decision))
        found.append(entry["event"])
    return found


def _correlation(decision: dict) -> str:
    return decision.get("correlation_id") or decision["_id"]
