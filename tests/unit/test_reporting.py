"""Reporting's projection (services/reporting/projections.py): updates that commute.

The projection's promise is that events may arrive in any order, and more than once, and the
result is the same. An in-memory applier with MongoDB's semantics for the few operators the
projections use checks that promise over every order.
"""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime

import pytest

from services.reporting import projections
from shared import events

FID = "SU-0123456789"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def event(service: str, event_type: str, data: dict) -> events.Event:
    built = events.build(service, event_type, data, subject=data["feedback_id"], correlation_id="c")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def received(fid: str = FID, **overrides) -> events.Event:
    data = {
        "feedback_id": fid,
        "channel": "http",
        "source": None,
        "text": "Banjir rob di Jl. Merdeka",
        "language": "id",
        "category_hint": None,
        "location": {"kecamatan": "Pekalongan Utara", "kelurahan": "Panjang Wetan"},
        "submitted_at": "2025-01-02T03:04:05.000Z",
        **overrides,
    }
    return event("intake", "feedback.received", data)


def categorized(fid: str = FID, **overrides) -> events.Event:
    data = {
        "feedback_id": fid,
        "category": "flooding",
        "department": "BPBD",
        "confidence": 0.41,
        "priority": "urgent",
        "method": "model",
        "needs_review": True,
        "revision": 1,
        "categorized_at": "2025-01-02T03:04:06.000Z",
        **overrides,
    }
    return event("categorization", "feedback.categorized", data)


def urgent(fid: str = FID) -> events.Event:
    data = {
        "feedback_id": fid,
        "category": "flooding",
        "department": "BPBD",
        "reasons": ["banjir"],
        "flagged_at": "2025-01-02T03:04:06.000Z",
    }
    return event("categorization", "feedback.urgent", data)


# --- the (filter, update) pairs ---


def test_received_sets_what_it_knows_and_only_inserts_the_status():
    query, update = projections.on_received(received(source="lapor-go.id"), now=NOW)

    assert query == {"_id": FID}
    assert update["$set"] == {
        "received": True,
        "channel": "http",
        "source": "lapor-go.id",
        "submitted_at": "2025-01-02T03:04:05.000Z",
        "kecamatan": "Pekalongan Utara",
        "kelurahan": "Panjang Wetan",
        "language": "id",
        "text": "Banjir rob di Jl. Merdeka",  # redacted by intake, as in every event
        "imported": False,
        "updated_at": NOW,
    }
    # a late received must not overwrite a status a categorized event already set
    assert update["$setOnInsert"] == {"status": "received", "revision": 0, "status_seq": 0}
    assert "status" not in update["$set"] and "revision" not in update["$set"]


def test_received_projects_no_text_and_copes_without_location():
    _, update = projections.on_received(received(location=None), now=NOW)
    assert update["$set"]["kecamatan"] is None and update["$set"]["kelurahan"] is None


@pytest.mark.parametrize(("needs_review", "status"), [(True, "in_review"), (False, "categorized")])
def test_categorized_applies_only_to_an_older_revision(needs_review, status):
    first, (query, update) = projections.on_categorized(
        categorized(revision=3, needs_review=needs_review, method="manual"), now=NOW
    )
    # the first categorization's time, kept whatever order revisions come in
    assert first == (
        {"_id": FID},
        {
            "$min": {"first_categorized_at": "2025-01-02T03:04:06.000Z"},
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )
    assert query == {"_id": FID, "revision": {"$lt": 3}}
    assert update == {
        "$set": {
            "category": "flooding",
            "department": "BPBD",
            "department_id": None,
            "priority": "urgent",
            "method": "manual",
            "status": status,
            "categorized_at": "2025-01-02T03:04:06.000Z",
            "revision": 3,
            "updated_at": NOW,
        },
        "$setOnInsert": {"status_seq": 0},  # a department's first move compares with it
    }


def test_urgent_raises_a_flag():
    query, update = projections.on_urgent(urgent(), now=NOW)
    assert query == {"_id": FID}
    assert update["$set"] == {"urgent": True, "updated_at": NOW}


def test_summary_adds_up_the_shards_with_overdue_and_satisfaction_from_counts():
    shards = [
        {"total": 4, "by_category": {"flooding": 4}, "by_score": {"5": 1, "4": 1}},
        {"total": 3, "by_status": {"received": 3, "closed": 0}, "sla": {"overdue": 2}},
        {"total": 0, "by_score": {"1": 1}},
    ]
    result = projections.summary_from_counters(shards)
    generated_at = result.pop("generated_at")
    assert result == {
        "total": 7,
        "by_category": {"flooding": 4},
        "by_status": {"received": 3},
        "by_priority": {},
        "by_channel": {},
        "by_department": {},
        "by_kecamatan": {},
        "by_kelurahan": {},
        "by_language": {},
        "overdue": 2,
        "me_too": 0,
        "satisfaction": {"ratings": 3, "mean_score": 3.33, "by_score": {"1": 1, "4": 1, "5": 1}},
    }
    assert generated_at.endswith("Z") and datetime.fromisoformat(generated_at).tzinfo


def test_summary_of_nothing():
    result = projections.summary_from_counters([])
    assert (result["total"], result["by_category"], result["by_status"]) == (0, {}, {})
    assert result["satisfaction"] == {"ratings": 0, "mean_score": None, "by_score": {}}


def test_a_rating_and_an_overdue_case_count_once_each():
    doc = {"received": True, "status": "resolved", "score": 4, "overdue": True}
    assert projections.contribution(doc) == {
        "total": 1,
        "by_status.resolved": 1,
        "by_score.4": 1,
        "sla.overdue": 1,
    }


# --- an in-memory applier with MongoDB's update_one(upsert=True) semantics ---


class DuplicateKey(Exception):
    """What MongoDB raises when an upsert inserts an _id that exists (the filter missed)."""


class Projection:
    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}

    @staticmethod
    def _matches(doc: dict, query: dict) -> bool:
        for field, condition in query.items():
            if isinstance(condition, dict):
                if set(condition) != {"$lt"}:
                    raise NotImplementedError(condition)
                # as in MongoDB, a missing field matches no comparison
                if field not in doc or not doc[field] < condition["$lt"]:
                    return False
            elif doc.get(field, KeyError) != condition:
                return False
        return True

    def update_one(self, query: dict, update: dict, upsert: bool = False) -> None:
        unknown = set(update) - {"$set", "$setOnInsert", "$min", "$max"}
        if unknown:
            raise NotImplementedError(unknown)
        on_set, on_insert = update.get("$set", {}), update.get("$setOnInsert", {})
        if set(on_set) & set(on_insert):  # MongoDB refuses conflicting paths
            raise ValueError(f"conflict: {set(on_set) & set(on_insert)}")
        doc = self.docs.get(query["_id"])
        if doc is not None and self._matches(doc, query):
            doc.update(copy.deepcopy(on_set))
            self._extremes(doc, update)
            return
        if not upsert:
            return
        if doc is not None:
            raise DuplicateKey(query["_id"])
        new = {k: v for k, v in query.items() if not isinstance(v, dict)}
        new.update(copy.deepcopy(on_insert))
        new.update(copy.deepcopy(on_set))
        self._extremes(new, update)
        self.docs[new["_id"]] = new

    @staticmethod
    def _extremes(doc: dict, update: dict) -> None:
        """``$min``/``$max``: a missing field takes the value, else the smaller/larger stays."""
        for field, value in update.get("$min", {}).items():
            doc[field] = value if field not in doc else min(doc[field], value)
        for field, value in update.get("$max", {}).items():
            doc[field] = value if field not in doc else max(doc[field], value)

    def apply(self, change) -> bool:
        """As services/reporting/store.apply: a duplicate key is a stale event, ignored."""
        changed = False
        for one in change if isinstance(change, list) else [change]:
            try:
                self.update_one(*one, upsert=True)
                changed = True
            except DuplicateKey:
                continue
        return changed


PROJECT = {
    "feedback.received": projections.on_received,
    "feedback.categorized": projections.on_categorized,
    "feedback.urgent": projections.on_urgent,
}


def project(sequence) -> dict[str, dict]:
    store = Projection()
    for ev in sequence:
        store.apply(PROJECT[ev.type](ev, now=NOW))
    return store.docs


def test_applier_follows_mongodb_semantics():
    store = Projection()
    store.update_one({"_id": "a"}, {"$set": {"x": 1}, "$setOnInsert": {"s": "new"}}, upsert=True)
    store.update_one({"_id": "a"}, {"$set": {"y": 2}, "$setOnInsert": {"s": "again"}}, upsert=True)
    assert store.docs == {"a": {"_id": "a", "x": 1, "y": 2, "s": "new"}}
    with pytest.raises(DuplicateKey):
        store.update_one({"_id": "a", "r": {"$lt": 1}}, {"$set": {"r": 1}}, upsert=True)
    store.update_one({"_id": "b", "r": {"$lt": 2}}, {"$set": {"r": 2}}, upsert=True)
    assert store.docs["b"] == {"_id": "b", "r": 2}
    assert store.apply(({"_id": "b", "r": {"$lt": 2}}, {"$set": {"r": 1}})) is False
    assert store.docs["b"] == {"_id": "b", "r": 2}


EXPECTED = {
    "_id": FID,
    "received": True,
    "channel": "http",
    "source": None,
    "submitted_at": "2025-01-02T03:04:05.000Z",
    "kecamatan": "Pekalongan Utara",
    "kelurahan": "Panjang Wetan",
    "language": "id",
    "text": "Banjir rob di Jl. Merdeka",
    "imported": False,
    "category": "roads",
    "department": "Dinas PUPR",
    "department_id": None,
    "first_categorized_at": "2025-01-02T03:04:06.000Z",
    "priority": "urgent",
    "method": "manual",
    "status": "categorized",
    "categorized_at": "2025-01-02T05:00:00.000Z",
    "revision": 2,
    "status_seq": 0,
    "urgent": True,
    "updated_at": NOW,
}
R, C1, U = received(), categorized(), urgent()
C2 = categorized(
    category="roads",
    department="Dinas PUPR",
    confidence=1.0,
    method="manual",
    needs_review=False,
    revision=2,
    categorized_at="2025-01-02T05:00:00.000Z",
)


def orders(*evs: events.Event) -> list[tuple[events.Event, ...]]:
    """Every distinct order of ``evs`` (Event holds a dict, so dedupe by event ids)."""
    distinct = {tuple(e.id for e in order): order for order in itertools.permutations(evs)}
    return [distinct[key] for key in sorted(distinct)]


def describe(order) -> str:
    names = {R.id: "R", C1.id: "C1", C2.id: "C2", U.id: "U"}
    return " ".join(names[e.id] for e in order)


def test_the_reference_order_gives_the_expected_projection():
    assert project([R, C1, C2, U]) == {FID: EXPECTED}


def test_received_and_categorized_commute_in_every_order_and_with_repeats():
    expected = {FID: {k: v for k, v in EXPECTED.items() if k != "urgent"}}
    sequences = orders(R, C1, C2) + orders(R, R, C1, C2, C2) + orders(R, C1, C1, C2)
    assert len(sequences) > 30
    for order in sequences:
        assert project(order) == expected, describe(order)


def test_a_late_received_does_not_reset_the_status():
    assert project([C1, R])[FID]["status"] == "in_review"
    assert project([C2, R])[FID]["status"] == "categorized"


def test_a_stale_revision_is_ignored():
    assert project([R, C2, C1])[FID]["revision"] == 2
    assert project([R, C2, C1])[FID]["category"] == "roads"


def test_urgent_after_categorization_commutes_with_received():
    for order in orders(R, C1, C2) + orders(R, C2, R):
        for position in range(len(order) + 1):
            if position <= min(i for i, e in enumerate(order) if e.type == "feedback.categorized"):
                continue  # the bug below: urgent before the first categorized
            sequence = [*order[:position], U, *order[position:]]
            assert project(sequence)[FID]["urgent"] is True
            assert project(sequence)[FID]["revision"] == 2, describe(sequence)


def test_the_urgent_flag_survives_every_order():
    for order in orders(R, C1, C2, U):
        assert project(order)[FID]["urgent"] is True, describe(order)


def test_every_order_of_all_events_with_repeats_gives_the_same_projection():
    sequences = orders(R, C1, C2, U) + orders(R, U, C1, U, C2) + orders(U, R, R, C1, C2)
    failing = [describe(o) for o in sequences if project(o) != {FID: EXPECTED}]
    assert failing == []


def test_events_of_different_feedback_do_not_mix():
    other = "SU-ZZZZZZZZZZ"
    docs = project([R, categorized(other, revision=1), received(other), C2])
    assert set(docs) == {FID, other}
    assert docs[FID]["category"] == "roads"
    assert docs[other]["status"] == "in_review" and docs[other]["revision"] == 1


# --- counters: what a feedback contributes, and the difference an event makes ---


def test_a_feedback_contributes_nothing_until_received_then_one_per_group():
    assert projections.contribution({"status": "received", "category": "roads"}) == {}
    doc = {"received": True, "status": "categorized", "category": "roads", "priority": "urgent"}
    assert projections.contribution(doc) == {
        "total": 1,
        "by_category.roads": 1,
        "by_status.categorized": 1,
        "by_priority.urgent": 1,
    }
    odd = {"received": True, "status": "received", "category": "$x", "priority": "a.b"}
    assert projections.contribution(odd) == {"total": 1, "by_status.received": 1}


def test_a_recategorization_moves_one_count_between_groups():
    before = {"total": 1, "by_category.roads": 1, "by_status.in_review": 1}
    after = {"total": 1, "by_category.traffic": 1, "by_status.categorized": 1}
    assert projections.count_delta(before, after) == {
        "by_category.roads": -1,
        "by_category.traffic": 1,
        "by_status.categorized": 1,
        "by_status.in_review": -1,
    }
    assert projections.count_delta(after, after) == {}


def test_the_summary_adds_up_the_counter_shards_and_drops_zeros():
    shards = [
        {"total": 2, "by_category": {"roads": 2, "water": 0}, "by_status": {"received": 2}},
        {"total": 1, "by_category": {"roads": 1}, "by_priority": {"normal": 1}},
        {},
    ]
    result = projections.summary_from_counters(shards)
    assert result["total"] == 3
    assert result["by_category"] == {"roads": 3}
    assert result["by_status"] == {"received": 2} and result["by_priority"] == {"normal": 1}
