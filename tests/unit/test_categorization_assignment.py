"""From a triage decision to the stored assignment and its events
(services/categorization/assignment.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.categorization import assignment
from services.categorization.triage import Decision
from shared import events

FID = "SU-0123456789"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = datetime(2025, 1, 3, 8, 0, 0, tzinfo=UTC)
TEXT = "Banjir setinggi dada di Panjang Wetan, warga butuh evakuasi"
CATEGORIZED = events.spec("categorization", "feedback.categorized")
URGENT = events.spec("categorization", "feedback.urgent")


def decision(**overrides) -> Decision:
    fields = {
        "category": "flooding",
        "confidence": 0.912345,
        "department": "BPBD",
        "priority": "normal",
        "urgency_reasons": [],
        "language": "id",
        "alternatives": [{"category": "water", "confidence": 0.05}],
        "needs_review": False,
        "model_version": "m-2025-01",
        "method": "model",
    }
    return Decision(**{**fields, **overrides})


def staged(doc_or_update: dict) -> list[dict]:
    return doc_or_update.get("outbox") or [doc_or_update["$push"]["outbox"]]


def decoded(entry: dict, spec: events.EventSpec) -> events.Event:
    """The staged event as a consumer sees it: encoded, decoded and checked on the contract."""
    return events.decode(events.encode(entry["event"]), expected=spec)


def test_new_assignment_records_the_decision_at_revision_one():
    doc = assignment.new_assignment(
        FID, TEXT, decision(), correlation_id="corr-1", category_hint="water", now=NOW
    )
    assert doc["_id"] == FID
    assert doc["revision"] == 1
    assert (doc["category"], doc["department"], doc["priority"]) == ("flooding", "BPBD", "normal")
    assert doc["confidence"] == 0.912345
    assert (doc["method"], doc["model_version"], doc["language"]) == ("model", "m-2025-01", "id")
    assert doc["needs_review"] is False
    assert doc["category_hint"] == "water"
    assert doc["correlation_id"] == "corr-1"
    assert doc["created_at"] == doc["updated_at"] == doc["outbox_at"] == NOW


def test_a_normal_decision_stages_only_feedback_categorized():
    doc = assignment.new_assignment(FID, TEXT, decision(), correlation_id="corr-1", now=NOW)

    [entry] = doc["outbox"]
    assert (entry["exchange"], entry["routing_key"]) == (
        "categorization.events",
        "feedback.categorized",
    )
    event = decoded(entry, CATEGORIZED)
    assert event.subject == FID
    assert event.correlation_id == "corr-1"
    assert event.data == {
        "feedback_id": FID,
        "category": "flooding",
        "department": "BPBD",
        "department_id": "bpbd",
        "confidence": 0.9123,
        "priority": "normal",
        "method": "model",
        "model_version": "m-2025-01",
        "needs_review": False,
        "language": "id",
        "revision": 1,
        "categorized_at": event.data["categorized_at"],
        "imported": False,
    }
    assert event.data["categorized_at"].endswith("Z")


def test_an_urgent_decision_also_stages_feedback_urgent():
    urgent_decision = decision(priority="urgent", urgency_reasons=["banjir setinggi dada"])
    doc = assignment.new_assignment(FID, TEXT, urgent_decision, correlation_id="corr-1", now=NOW)

    categorized_entry, urgent_entry = doc["outbox"]
    assert decoded(categorized_entry, CATEGORIZED).data["priority"] == "urgent"
    assert urgent_entry["routing_key"] == "feedback.urgent"
    event = decoded(urgent_entry, URGENT)
    assert event.data["feedback_id"] == FID
    assert (event.data["category"], event.data["department"]) == ("flooding", "BPBD")
    assert event.data["reasons"] == ["banjir setinggi dada"]
    assert event.correlation_id == "corr-1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"needs_review": True, "confidence": 0.31},
        {"method": "fallback", "category": "other", "department": "Dinkominfo (triage)"},
        {"language": "jv", "model_version": ""},
    ],
)
def test_every_decision_shape_makes_valid_events(overrides):
    doc = assignment.new_assignment(FID, TEXT, decision(**overrides), correlation_id=None, now=NOW)
    [entry] = doc["outbox"]
    event = decoded(entry, CATEGORIZED)
    for key in ("needs_review", "method", "category", "language"):
        if key in overrides:
            assert event.data[key] == overrides[key]


def test_without_a_correlation_id_the_feedback_id_correlates():
    doc = assignment.new_assignment(FID, TEXT, decision(), correlation_id=None, now=NOW)
    assert doc["correlation_id"] == FID
    assert decoded(doc["outbox"][0], CATEGORIZED).correlation_id == FID


def test_the_events_carry_no_feedback_text():
    doc = assignment.new_assignment(
        FID, TEXT, decision(priority="urgent", urgency_reasons=["evakuasi"]), correlation_id="c"
    )
    for entry in doc["outbox"]:
        assert "Panjang Wetan" not in events.encode(entry["event"]).decode()


def test_a_decision_outside_the_contract_is_refused():
    with pytest.raises(events.ContractBroken, match="category"):
        assignment.new_assignment(FID, TEXT, decision(category="potholes"), correlation_id="c")


# --- correction ---


def current(**overrides) -> dict:
    doc = assignment.new_assignment(
        FID,
        TEXT,
        decision(needs_review=True, confidence=0.31, priority="urgent", urgency_reasons=["x"]),
        correlation_id="corr-1",
        now=NOW,
    )
    return {**doc, **overrides}


def test_correction_records_a_manual_assignment_at_the_next_revision():
    update = assignment.correction(
        current(), "roads", "Dinas PUPR", client="staff-portal", now=LATER
    )
    assert update["$set"] == {
        "category": "roads",
        "department": "Dinas PUPR",
        "confidence": 1.0,
        "method": "manual",
        "needs_review": False,
        "revision": 2,
        "corrected_by": "staff-portal",
        "updated_at": LATER,
        "outbox_at": LATER,
    }
    assert set(update) == {"$set", "$push"}


def test_correction_stages_feedback_categorized_with_the_new_revision():
    update = assignment.correction(current(), "roads", "Dinas PUPR", client="staff-portal")

    [entry] = staged(update)
    assert entry["routing_key"] == "feedback.categorized"
    event = decoded(entry, CATEGORIZED)
    assert event.subject == FID
    assert event.correlation_id == "corr-1"
    assert event.data["revision"] == 2
    assert (event.data["category"], event.data["department"]) == ("roads", "Dinas PUPR")
    assert (event.data["method"], event.data["confidence"]) == ("manual", 1.0)
    assert event.data["needs_review"] is False
    assert event.data["priority"] == "urgent"  # a correction keeps the priority


def test_each_correction_bumps_the_revision():
    update = assignment.correction(current(revision=4), "water", "Perumda Air Minum", client="s")
    assert update["$set"]["revision"] == 5
    assert decoded(staged(update)[0], CATEGORIZED).data["revision"] == 5


def test_a_correction_to_an_unknown_category_is_refused():
    with pytest.raises(events.ContractBroken, match="category"):
        assignment.correction(current(), "potholes", "Dinas PUPR", client="staff-portal")


SUSPECTED = events.spec("categorization", "feedback.duplicate_suspected")
LINKED = {
    "checked": True,
    "cluster_id": "SU-0000000001",
    "similar_to": "SU-0000000002",
    "similarity": 0.61,
    "distance_m": 40.2,
    "kelurahan_name": "Bendan Kergon",
}


def test_a_linked_decision_stages_its_cluster_and_a_duplicate_suspected():
    doc = assignment.new_assignment(
        FID, TEXT, decision(), correlation_id="corr-1", now=NOW, duplicates=LINKED
    )
    assert doc["duplicates"] is LINKED
    assert [e["routing_key"] for e in doc["outbox"]] == [
        "feedback.categorized",
        "feedback.duplicate_suspected",
    ]
    announced = decoded(doc["outbox"][0], CATEGORIZED).data
    assert (announced["cluster_id"], announced["similar_to"]) == (
        "SU-0000000001",
        "SU-0000000002",
    )
    data = decoded(doc["outbox"][1], SUSPECTED).data
    assert data["feedback_id"] == FID and data["similar_to"] == "SU-0000000002"
    assert data["cluster_id"] == "SU-0000000001" and data["similarity"] == 0.61
    assert (data["distance_m"], data["kelurahan"]) == (40.2, "Bendan Kergon")
    assert (data["category"], data["department_id"]) == ("flooding", "bpbd")


def test_a_case_of_its_own_carries_its_own_cluster_and_no_duplicate_suspected():
    own = {**LINKED, "cluster_id": FID, "similar_to": None, "similarity": None}
    doc = assignment.new_assignment(FID, TEXT, decision(), correlation_id="c", duplicates=own)
    (entry,) = doc["outbox"]
    announced = decoded(entry, CATEGORIZED).data
    assert (announced["cluster_id"], announced["similar_to"]) == (FID, None)


def test_no_check_leaves_the_cluster_fields_out():
    for record in (None, {"checked": False, "reason": "imported"}):
        doc = assignment.new_assignment(
            FID, TEXT, decision(), correlation_id="c", duplicates=record
        )
        (entry,) = doc["outbox"]
        assert "cluster_id" not in entry["event"]["data"]
        assert "similar_to" not in entry["event"]["data"]


def test_a_correction_repeats_the_cluster_as_stored():
    doc = assignment.new_assignment(FID, TEXT, decision(), correlation_id="c", duplicates=LINKED)
    doc.pop("outbox")
    update = assignment.correction(doc, "roads", "Dinas PUPR", client="staff", now=LATER)
    announced = decoded(update["$push"]["outbox"], CATEGORIZED).data
    assert announced["cluster_id"] == "SU-0000000001" and announced["revision"] == 2
