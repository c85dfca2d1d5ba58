"""Reporting's buckets against the real FerretDB: every event of a feedback moves its cell in
its day's and month's bucket exactly once, in any order, repeated, and racing; the reports read
from them equal a recount of what the test did."""

from __future__ import annotations

import random
import threading
from datetime import date, timedelta

from services.reporting import handlers, projections, reports, store
from shared import events

TODAY = date(2026, 12, 2)


def event(service, event_type, data):
    built = events.build(service, event_type, data, subject=data["feedback_id"], correlation_id="r")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def lifecycle(fid: str, kelurahan: str, category: str, department: str, score: int | None):
    """The events of one case, submitted on 2 Dec (city time) and resolved."""
    evs = [
        event(
            "intake",
            "feedback.received",
            {
                "feedback_id": fid,
                "channel": "whatsapp",
                "text": "banjir rob",
                "language": "id",
                "location": {"kecamatan": "Pekalongan Utara", "kelurahan": kelurahan},
                "submitted_at": "2026-12-02T01:00:00.000Z",
            },
        ),
        event(
            "categorization",
            "feedback.categorized",
            {
                "feedback_id": fid,
                "category": category,
                "department": department,
                "department_id": department,
                "confidence": 0.9,
                "priority": "normal",
                "method": "model",
                "revision": 1,
                "categorized_at": "2026-12-02T01:01:00.000Z",
            },
        ),
    ]
    for seq, (to, at) in enumerate(
        [("acknowledged", "2026-12-02T02:00:00.000Z"), ("resolved", "2026-12-02T05:00:00.000Z")],
        start=1,
    ):
        evs.append(
            event(
                "intake",
                "feedback.status_changed",
                {
                    "feedback_id": fid,
                    "from": "categorized",
                    "to": to,
                    "department_id": department,
                    "note": None,
                    "duplicate_of": None,
                    "sequence": seq,
                    "changed_at": at,
                    "actor": "department",
                },
            )
        )
    if score:
        evs.append(
            event(
                "intake",
                "feedback.rated",
                {
                    "feedback_id": fid,
                    "score": score,
                    "comment": None,
                    "department_id": department,
                    "category": category,
                    "rated_at": "2026-12-02T06:00:00.000Z",
                },
            )
        )
    return evs


PROJECT = {
    "feedback.received": projections.on_received,
    "feedback.categorized": projections.on_categorized,
    "feedback.status_changed": projections.on_status_changed,
    "feedback.rated": projections.on_rated,
}


def apply(db, ev):
    store.apply(db, PROJECT[ev.type](ev))


def test_reports_from_buckets_equal_what_happened_in_any_order_with_repeats_and_races(db):
    store.ensure_indexes(db)
    cases = [
        (f"SU-BKT{i:07d}", kel, cat, dep, score)
        for i, (kel, cat, dep, score) in enumerate(
            [
                ("Panjang Wetan", "flooding", "bpbd", 5),
                ("Panjang Wetan", "flooding", "bpbd", 3),
                ("Krapyak", "flooding", "bpbd", None),
                ("Krapyak", "roads", "dinas-pupr", 4),
            ]
        )
    ]
    rng = random.Random(7)
    for fid, kel, cat, dep, score in cases:
        evs = lifecycle(fid, kel, cat, dep, score)
        shuffled = evs + rng.sample(evs, 2)  # repeats too
        rng.shuffle(shuffled)
        first, rest = shuffled[:3], shuffled[3:]
        racing = [threading.Thread(target=apply, args=(db, ev)) for ev in first]
        for t in racing:
            t.start()
        for t in racing:
            t.join()
        for ev in rest:
            apply(db, ev)

    summary = handlers.summary(db, {"from": "2026-12-01", "to": "2026-12-02"}, TODAY)
    assert summary["total"] == 4
    assert summary["by_status"] == {"resolved": 4}
    assert summary["by_kelurahan"] == {"Krapyak": 2, "Panjang Wetan": 2}
    assert summary["by_department"] == {"bpbd": 3, "dinas-pupr": 1}
    assert summary["satisfaction"] == {
        "ratings": 3,
        "mean_score": 4.0,
        "by_score": {"3": 1, "4": 1, "5": 1},
    }
    flooding = handlers.summary(db, {"category": "flooding", "kelurahan": "Krapyak"}, TODAY)
    assert flooding["total"] == 1
    # the all-time summary (no query) is the counters', and agrees
    assert store.summary(db)["by_department"] == {"bpbd": 3, "dinas-pupr": 1}

    sla = handlers.sla(db, {"department": "bpbd"}, TODAY)
    bpbd = sla["by_department"]["bpbd"]
    assert bpbd["cases"] == 3 and bpbd["resolved"] == 3 and bpbd["resolved_within_sla"] == 1.0
    assert abs(bpbd["to_categorize"]["median_minutes"] - 1) <= 1
    assert abs(bpbd["to_first_response"]["median_minutes"] - 60) <= 0.09 * 60
    assert abs(bpbd["to_resolve"]["p90_minutes"] - 240) <= 0.09 * 240

    by_department = handlers.satisfaction(db, {}, TODAY)["by_department"]
    assert by_department["bpbd"]["mean_score"] == 4.0
    assert by_department["dinas-pupr"]["by_score"] == {"4": 1}

    series = handlers.timeseries(db, {"from": "2026-11-30", "to": "2026-12-02"}, TODAY)
    assert [(p["period"], p["total"]) for p in series["points"]] == [
        ("2026-11-30", 0),
        ("2026-12-01", 0),
        ("2026-12-02", 4),
    ]
    monthly = handlers.timeseries(db, {"from": "2026-11-01", "interval": "month"}, TODAY)
    assert [(p["period"], p["total"]) for p in monthly["points"]] == [
        ("2026-11", 0),
        ("2026-12", 4),
    ]

    # the cells recounted from the projection (a scan) are the live ones
    days = [TODAY - timedelta(days=1), TODAY]
    live = store.period_cells(db, days[0], days[1])
    assert store.recount_cells(db, days) == {d: reports.nonzero(live.get(d, {})) for d in days}
    assert live[TODAY] and TODAY - timedelta(days=1) not in live
    # a category's cells are read from its index document alone
    flooding_only = store.period_cells(db, TODAY, TODAY, "flooding")[TODAY]
    assert flooding_only and all(k.startswith("flooding~") for k in flooding_only)


def test_first_changes_racing_into_a_new_cell_are_each_counted_and_the_cell_listed(db):
    # 6 cases of the same cell, each day's first: their handlers all find no cell document,
    # and all but one find it created a moment later by another (the race a rebuild hits)
    days = [date(2026, 11, d) for d in range(1, 6)]
    for day in days:
        at = f"{day.isoformat()}T01:00:00.000Z"
        evs = []
        for n in range(6):
            (received, *_) = lifecycle(f"{day}-{n}", "Degayu", "flooding", "bpbd", None)
            received.data["submitted_at"] = at
            evs.append(received)
        start = threading.Barrier(len(evs))
        threads = [
            threading.Thread(target=lambda e, b: (b.wait(), apply(db, e)), args=(ev, start))
            for ev in evs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    found = store.period_cells(db, days[0], days[-1])
    assert {d: sum(m["n"] for m in cells.values()) for d, cells in found.items()} == {
        d: 6 for d in days
    }
    assert store.recount_cells(db, days) == {d: reports.nonzero(found[d]) for d in days}
