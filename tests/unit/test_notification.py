"""What notification tells whom (services/notification/deliveries.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.notification import deliveries
from shared import events

FID = "SU-0123456789"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
TEXT = "Banjir setinggi dada di Panjang Wetan, hubungi [phone]"

# a delivery names an audience, never a person, and carries no feedback text
ALLOWED_KEYS = {
    "_id",
    "feedback_id",
    "kind",
    "audience",
    "recipient",
    "status",
    "event_id",
    "correlation_id",
    "created_at",
    "category",
    "department",
    "priority",
    "reasons",
    "case_status",
    "channel",
    "note",
    "sequence",
    "from_department_id",
    "due_at",
    "score",
    "oncall",
}


def event(service: str, event_type: str, data: dict) -> events.Event:
    built = events.build(service, event_type, data, subject=FID, correlation_id="corr-9")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def received() -> events.Event:
    data = {
        "feedback_id": FID,
        "channel": "http",
        "source": None,
        "text": TEXT,
        "language": "id",
        "category_hint": None,
        "location": {"kecamatan": "Pekalongan Utara"},
        "submitted_at": "2025-01-02T03:04:05.000Z",
    }
    return event("intake", "feedback.received", data)


def categorized(revision: int = 1, **overrides) -> events.Event:
    data = {
        "feedback_id": FID,
        "category": "flooding",
        "department": "BPBD",
        "confidence": 0.91,
        "priority": "urgent",
        "method": "model",
        "revision": revision,
        "categorized_at": "2025-01-02T03:04:06.000Z",
        **overrides,
    }
    return event("categorization", "feedback.categorized", data)


def urgent() -> events.Event:
    data = {
        "feedback_id": FID,
        "category": "flooding",
        "department": "BPBD",
        "reasons": ["banjir setinggi dada"],
        "flagged_at": "2025-01-02T03:04:06.000Z",
    }
    return event("categorization", "feedback.urgent", data)


def test_received_tells_the_citizen_on_their_channel():
    ev = received()
    [delivery] = deliveries.plan(ev, now=NOW)
    assert delivery == {
        "channel": "http",
        "_id": f"{FID}:received:citizen",
        "feedback_id": FID,
        "kind": "received",
        "audience": "citizen",
        "recipient": "citizen",
        "status": "recorded",
        "event_id": ev.id,
        "correlation_id": "corr-9",
        "created_at": NOW,
    }


def test_categorized_tells_the_citizen_and_assigns_the_department():
    ev = categorized(revision=1)
    citizen, department = deliveries.plan(ev, now=NOW)

    assert citizen["_id"] == f"{FID}:categorized.r1:citizen"
    assert (citizen["kind"], citizen["audience"], citizen["recipient"]) == (
        "categorized.r1",
        "citizen",
        "citizen",
    )
    assert (citizen["category"], citizen["department"]) == ("flooding", "BPBD")

    assert department["_id"] == f"{FID}:assigned.r1:department"
    assert (department["kind"], department["audience"]) == ("assigned.r1", "department")
    assert department["recipient"] == "BPBD"
    assert (department["category"], department["priority"]) == ("flooding", "urgent")
    assert {d["event_id"] for d in (citizen, department)} == {ev.id}


def test_a_new_revision_is_a_new_delivery():
    first = {d["_id"] for d in deliveries.plan(categorized(revision=1))}
    second = deliveries.plan(
        categorized(revision=2, category="roads", department="Dinas PUPR", method="manual")
    )
    assert {d["kind"] for d in second} == {"categorized.r2", "assigned.r2"}
    assert first.isdisjoint(d["_id"] for d in second)
    assert [d["recipient"] for d in second] == ["citizen", "Dinas PUPR"]


def test_categorized_without_revision_counts_as_revision_one():
    data = {
        "feedback_id": FID,
        "category": "roads",
        "department": "Dinas PUPR",
        "confidence": 0.7,
        "priority": "normal",
        "method": "model",
        "categorized_at": "2025-01-02T03:04:06.000Z",
    }
    kinds = [
        d["kind"] for d in deliveries.plan(event("categorization", "feedback.categorized", data))
    ]
    assert kinds == ["categorized.r1", "assigned.r1"]


def test_urgent_alerts_the_department_and_its_oncall_number():
    mail, oncall = deliveries.plan(urgent(), now=NOW)
    assert mail["_id"] == f"{FID}:urgent:department"
    assert oncall["_id"] == f"{FID}:urgent.oncall:department"
    assert oncall["oncall"] is True and "oncall" not in mail
    for delivery in (mail, oncall):
        assert (delivery["audience"], delivery["recipient"]) == ("department", "BPBD")
        assert delivery["reasons"] == ["banjir setinggi dada"]
        assert delivery["category"] == "flooding"


@pytest.mark.parametrize("make", [received, categorized, urgent])
def test_ids_are_deterministic(make):
    ev = make()
    once = [d["_id"] for d in deliveries.plan(ev)]
    twice = [d["_id"] for d in deliveries.plan(ev)]
    # the same fact published twice (a new CloudEvent id) is still one delivery
    republished = [d["_id"] for d in deliveries.plan(make())]
    assert once == twice == republished
    assert len(set(once)) == len(once)


def test_ids_of_one_feedback_never_collide():
    plans = [received(), categorized(1), categorized(2), urgent()]
    ids = [d["_id"] for ev in plans for d in deliveries.plan(ev)]
    assert len(ids) == len(set(ids)) == 7
    assert all(i.startswith(f"{FID}:") for i in ids)


@pytest.mark.parametrize("make", [received, categorized, urgent])
def test_deliveries_carry_no_personal_data_or_text(make):
    for delivery in deliveries.plan(make(), now=NOW):
        assert set(delivery) <= ALLOWED_KEYS
        assert delivery["audience"] in ("citizen", "department")
        dumped = json.dumps(delivery, default=str)
        assert TEXT not in dumped and "Panjang Wetan" not in dumped
        assert delivery["status"] == "recorded"


def test_created_at_defaults_to_now():
    before = datetime.now(UTC)
    [delivery] = deliveries.plan(received())
    assert before <= delivery["created_at"] <= datetime.now(UTC)


def test_an_event_type_without_deliveries_plans_nothing():
    ev = events.Event(
        id="x",
        type="feedback.archived",
        source="/suara/intake",
        subject=FID,
        time=None,
        correlation_id=None,
        data={"feedback_id": FID},
    )
    assert deliveries.plan(ev) == []


def status_changed(sequence: int, to: str, actor: str) -> events.Event:
    return event(
        "intake",
        "feedback.status_changed",
        {
            "feedback_id": FID,
            "from": "in_progress",
            "to": to,
            "department_id": "bpbd",
            "note": "pompa dipasang",
            "duplicate_of": None,
            "sequence": sequence,
            "changed_at": "2025-01-02T03:04:05.000Z",
            "actor": actor,
        },
    )


def test_each_move_is_told_once_to_the_citizen_and_the_citizens_own_to_the_department():
    (told,) = deliveries.plan(status_changed(3, "resolved", "department"), NOW)
    assert (told["_id"], told["audience"], told["note"]) == (
        f"{FID}:status.3:citizen",
        "citizen",
        "pompa dipasang",
    )
    assert (told["status"], told["case_status"]) == ("recorded", "resolved")
    again = deliveries.plan(status_changed(3, "resolved", "department"), NOW)
    assert [d["_id"] for d in again] == [told["_id"]]  # the same delivery: recorded once
    (reopened,) = deliveries.plan(status_changed(4, "reopened", "citizen"), NOW)
    assert (reopened["audience"], reopened["recipient"]) == ("department", "bpbd")


def test_transfers_overdue_cases_and_ratings_go_to_the_department():
    reassigned = event(
        "intake",
        "feedback.reassigned",
        {
            "feedback_id": FID,
            "from_department_id": "dinas-pupr",
            "department_id": "bpbd",
            "department": "BPBD",
            "reason": "rob",
            "status": "categorized",
            "sequence": 2,
            "reassigned_at": "2025-01-02T03:04:05.000Z",
        },
    )
    assigned, citizen = deliveries.plan(reassigned, NOW)
    assert (assigned["kind"], assigned["recipient"], citizen["audience"]) == (
        "assigned.t2",
        "BPBD",
        "citizen",
    )
    overdue = event(
        "intake",
        "feedback.overdue",
        {
            "feedback_id": FID,
            "department_id": "bpbd",
            "department": "BPBD",
            "category": "flooding",
            "priority": "normal",
            "status": "acknowledged",
            "due_at": "2025-01-02T03:00:00.000Z",
            "overdue_at": "2025-01-02T03:04:05.000Z",
        },
    )
    (late,) = deliveries.plan(overdue, NOW)
    assert (late["_id"], late["recipient"]) == (f"{FID}:overdue:department", "BPBD")
    rated = event(
        "intake",
        "feedback.rated",
        {"feedback_id": FID, "score": 2, "rated_at": "2025-01-02T03:04:05.000Z"},
    )
    (verdict,) = deliveries.plan(rated, NOW)
    assert (verdict["kind"], verdict["score"], verdict["recipient"]) == ("rated", 2, "triage")
    for d in (told for e in (reassigned, overdue, rated) for told in deliveries.plan(e, NOW)):
        assert set(d) <= ALLOWED_KEYS
