"""Intake's lifecycle use cases against the real FerretDB: categorization with due times,
moves and transfers guarded by the case's version, the work list, the deadline sweep (with a
clock the test controls), and the citizen's token."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import feedback, handlers, lifecycle, open311, sla, store
from shared import chunks, events, workcalendar
from shared.http import Caller
from shared.taxonomy import TAXONOMY

# every hour counts (the SLA arithmetic has its own unit tests): due = submitted + hours
CALENDAR = workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None)
POLICY = sla.Policy(CALENDAR, reopen_window=timedelta(days=14))
ADMIN, BPBD, PUPR = Caller("ops"), Caller("bpbd", "bpbd"), Caller("dinas-pupr", "dinas-pupr")
KEYS = ("k" * 32,)


class Published(list):
    def __call__(self, entry):
        self.append(entry["event"])

    def of(self, event_type):
        return [e for e in self if e["type"].endswith(event_type)]


def new_case(db, when: datetime, category="flooding", priority="normal") -> str:
    record = feedback.new_record({"text": "banjir sepinggang"}, channel="http", now=when)
    store.insert(db, record)
    data = {
        "feedback_id": record["_id"],
        "category": category,
        "department": "BPBD" if category == "flooding" else "Dinas PUPR",
        "confidence": 0.9,
        "priority": priority,
        "method": "model",
        "categorized_at": when.isoformat(),
        "revision": 1,
    }
    handlers.apply_categorization(db, POLICY, data)
    return record["_id"]


@pytest.fixture
def intake_db(db):
    store.ensure_indexes(db)
    return db


T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_categorization_sets_the_due_time_and_lists_the_case(intake_db):
    fid = new_case(intake_db, T0)
    case = store.get(intake_db, fid)
    assert case["status"] == "categorized" and case["version"] == 1
    assert case["due_at"].replace(tzinfo=UTC) == T0 + timedelta(hours=24)
    page = handlers.list_cases(intake_db, BPBD, {"limit": 10})
    assert [c["id"] for c in page["cases"]] == [fid]
    assert handlers.list_cases(intake_db, PUPR, {"limit": 10})["cases"] == []
    with pytest.raises(handlers.NotYours):
        handlers.list_cases(intake_db, PUPR, {"limit": 10, "department_id": "bpbd"})


def test_the_work_list_is_oldest_due_first_with_a_cursor(intake_db):
    ids = [new_case(intake_db, T0 + timedelta(minutes=m)) for m in (30, 10, 20)]
    urgent = new_case(intake_db, T0 + timedelta(minutes=40), priority="urgent")  # due in 2 h
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = handlers.list_cases(intake_db, ADMIN, query)
        seen += [c["id"] for c in page["cases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [urgent, ids[1], ids[2], ids[0]]


def test_moves_are_guarded_announced_and_refused_when_not_allowed(intake_db):
    fid = new_case(intake_db, T0)
    published = Published()
    with pytest.raises(handlers.NotYours):
        handlers.change_status(
            intake_db, published, POLICY, fid, lifecycle.Move("acknowledged"), PUPR
        )
    case = handlers.change_status(
        intake_db, published, POLICY, fid, lifecycle.Move("acknowledged"), BPBD
    )
    assert case["status"] == "acknowledged" and case["status_seq"] == 1
    with pytest.raises(lifecycle.MoveRefused) as refused:
        handlers.change_status(intake_db, published, POLICY, fid, lifecycle.Move("closed"), BPBD)
    assert "in_progress" in refused.value.allowed
    assert [e["data"]["to"] for e in published.of("status_changed")] == ["acknowledged"]
    listed = handlers.list_cases(intake_db, BPBD, {"limit": 5, "status": "acknowledged"})
    assert [c["id"] for c in listed["cases"]] == [fid]


def test_concurrent_moves_of_one_case_apply_one_after_the_other(intake_db):
    fid = new_case(intake_db, T0)
    published = Published()
    results: list = []

    def move(status):
        try:
            handlers.change_status(intake_db, published, POLICY, fid, lifecycle.Move(status), BPBD)
            results.append(status)
        except lifecycle.MoveRefused:
            results.append("refused")

    threads = [threading.Thread(target=move, args=(s,)) for s in ("acknowledged",) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # only one acknowledges; the others see the case acknowledged already and are refused
    assert sorted(results) == ["acknowledged", "refused", "refused", "refused"]
    assert [e["data"]["sequence"] for e in published.of("status_changed")] == [1]
    assert store.get(intake_db, fid)["version"] == 2


def test_a_transfer_hands_over_and_a_recategorization_does_not_take_it_back(intake_db):
    fid = new_case(intake_db, T0, category="roads")
    published = Published()
    handlers.change_status(intake_db, published, POLICY, fid, lifecycle.Move("acknowledged"), PUPR)
    with pytest.raises(lifecycle.MoveInvalid):
        handlers.transfer(intake_db, published, POLICY, fid, "no-such-dept", "salah", PUPR)
    case = handlers.transfer(intake_db, published, POLICY, fid, "bpbd", "ini rob", PUPR)
    assert (case["department_id"], case["status"]) == ("bpbd", "categorized")
    (reassigned,) = published.of("reassigned")
    assert reassigned["data"]["from_department_id"] == "dinas-pupr"
    # categorization corrects the category later: the department a person chose stays
    correction = {
        "feedback_id": fid,
        "category": "waste",
        "department": "Dinas Lingkungan Hidup",
        "confidence": 1.0,
        "priority": "normal",
        "method": "manual",
        "categorized_at": T0.isoformat(),
        "revision": 2,
    }
    handlers.apply_categorization(intake_db, POLICY, correction)
    case = store.get(intake_db, fid)
    assert (case["category"], case["department_id"]) == ("waste", "bpbd")
    assert [c["id"] for c in handlers.list_cases(intake_db, BPBD, {"limit": 5})["cases"]] == [fid]
    assert handlers.list_cases(intake_db, PUPR, {"limit": 5})["cases"] == []


def test_overdue_is_announced_once_however_often_and_wherever_the_sweep_runs(intake_db):
    fid = new_case(intake_db, T0)  # due at T0 + 24 h
    published = Published()
    assert handlers.sweep_deadlines(intake_db, published, POLICY, now=T0 + timedelta(hours=17)) == 0
    later = T0 + timedelta(hours=25)
    sweeps = [
        threading.Thread(
            target=handlers.sweep_deadlines, args=(intake_db, published, POLICY, later)
        )
        for _ in range(3)
    ]
    for t in sweeps:
        t.start()
    for t in sweeps:
        t.join()
    handlers.sweep_deadlines(intake_db, published, POLICY, now=later + timedelta(hours=1))
    (overdue,) = published.of("overdue")
    assert overdue["data"]["due_at"].startswith("2026-12-02T01:00")
    assert store.get(intake_db, fid)["overdue_at"] is not None
    page = handlers.list_cases(intake_db, BPBD, {"limit": 5, "overdue": True})
    assert [c["id"] for c in page["cases"]] == [fid]


def test_the_department_is_warned_once_before_the_due_time(intake_db):
    fid = new_case(intake_db, T0)  # due at T0 + 24 h: warned from three quarters of it, 18 h
    published = Published()
    assert handlers.sweep_deadlines(intake_db, published, POLICY, now=T0 + timedelta(hours=17)) == 0
    assert published == []
    soon = T0 + timedelta(hours=19)
    sweeps = [
        threading.Thread(target=handlers.sweep_deadlines, args=(intake_db, published, POLICY, soon))
        for _ in range(3)
    ]
    for t in sweeps:
        t.start()
    for t in sweeps:
        t.join()
    handlers.sweep_deadlines(intake_db, published, POLICY, now=T0 + timedelta(hours=20))
    (warning,) = published.of("due_soon")
    assert warning["data"]["due_at"].startswith("2026-12-02T01:00")
    assert (warning["data"]["department_id"], warning["data"]["status"]) == ("bpbd", "categorized")
    assert store.get(intake_db, fid)["due_soon_at"] is not None
    # then, past the due time, overdue (once), and no second warning
    handlers.sweep_deadlines(intake_db, published, POLICY, now=T0 + timedelta(hours=25))
    assert len(published.of("overdue")) == 1 and len(published.of("due_soon")) == 1


def test_no_warning_when_warnings_are_off_or_the_case_is_resolved(intake_db):
    quiet = sla.Policy(CALENDAR, reopen_window=timedelta(days=14), warning_at=0)
    fid = new_case(intake_db, T0)
    published = Published()
    handlers.sweep_deadlines(intake_db, published, quiet, now=T0 + timedelta(hours=20))
    assert published == []
    other = new_case(intake_db, T0)
    for status in ("acknowledged", "in_progress"):
        handlers.change_status(intake_db, published, POLICY, other, lifecycle.Move(status), BPBD)
    done = lifecycle.Move("resolved", "pompa dipasang")
    handlers.change_status(intake_db, published, POLICY, other, done, BPBD)
    handlers.sweep_deadlines(intake_db, published, POLICY, now=T0 + timedelta(hours=20))
    assert [e["data"]["feedback_id"] for e in published.of("due_soon")] == [fid]


def test_a_resolved_case_is_not_overdue_and_closes_after_the_reopen_window(intake_db):
    fid = new_case(intake_db, T0)
    published = Published()
    for status in ("acknowledged", "in_progress"):
        handlers.change_status(intake_db, published, POLICY, fid, lifecycle.Move(status), BPBD)
    resolve = lifecycle.Move("resolved", "air sudah surut, pompa dipasang")
    case = handlers.change_status(intake_db, published, POLICY, fid, resolve, BPBD)
    resolved_at = case["resolved_at"]
    handlers.sweep_deadlines(intake_db, published, POLICY, now=resolved_at + timedelta(days=13))
    assert published.of("overdue") == [] and store.get(intake_db, fid)["status"] == "resolved"
    handlers.sweep_deadlines(intake_db, published, POLICY, now=resolved_at + timedelta(days=15))
    assert store.get(intake_db, fid)["status"] == "closed"
    closing = published.of("status_changed")[-1]["data"]
    assert (closing["to"], closing["actor"]) == ("closed", "system")
    assert handlers.list_cases(intake_db, ADMIN, {"limit": 5})["cases"] == []


def resolved_case(db, published) -> str:
    fid = new_case(db, T0)
    for move in ("acknowledged", "in_progress"):
        handlers.change_status(db, published, POLICY, fid, lifecycle.Move(move), BPBD)
    done = lifecycle.Move("resolved", "selesai")
    handlers.change_status(db, published, POLICY, fid, done, BPBD)
    return fid


def test_the_citizen_rates_with_the_token_once_and_the_case_closes(intake_db):
    published = Published()
    fid = resolved_case(intake_db, published)
    token = handlers.citizen_token(intake_db, KEYS, fid)
    with pytest.raises(handlers.WrongToken):
        handlers.rate(intake_db, published, POLICY, KEYS, fid, "x" + token[1:], 5, None)
    case = handlers.rate(intake_db, published, POLICY, KEYS, fid, token, 4, "terima kasih")
    assert case["status"] == "closed" and case["rating"]["score"] == 4
    with pytest.raises(lifecycle.MoveRefused):
        handlers.rate(intake_db, published, POLICY, KEYS, fid, token, 5, None)
    (rated,) = published.of("rated")
    assert rated["data"]["score"] == 4
    events.decode(events.encode(rated))  # the contract holds


def test_the_citizen_reopens_within_the_window_only(intake_db):
    published = Published()
    fid = resolved_case(intake_db, published)
    token = handlers.citizen_token(intake_db, KEYS, fid)
    too_late = datetime.now(UTC) + timedelta(days=15)
    with pytest.raises(lifecycle.MoveRefused):
        handlers.reopen(intake_db, published, POLICY, KEYS, fid, token, "masih banjir", too_late)
    case = handlers.reopen(intake_db, published, POLICY, KEYS, fid, token, "masih banjir")
    assert case["status"] == "reopened"
    assert published.of("status_changed")[-1]["data"]["actor"] == "citizen"
    assert [c["status"] for c in handlers.list_cases(intake_db, BPBD, {"limit": 5})["cases"]] == [
        "reopened"
    ]


def test_without_configured_secrets_every_replica_uses_the_one_intake_made(intake_db):
    made = [store.secret_keys(intake_db, ()) for _ in range(3)]
    assert made[0] == made[1] == made[2] and len(made[0][0]) >= 32
    assert store.secret_keys(intake_db, KEYS) == KEYS


def test_the_day_index_rolls_over_to_a_new_chunk_and_lists_each_id_once(intake_db, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 3)
    chunks._open_chunk.clear()
    ids = [f"SU-000000000{i}" for i in range(8)]
    for i in ids:
        store.index_day(intake_db, "requests", T0, i)
    chunks._open_chunk.clear()  # another replica, which has not seen the chunks fill
    store.index_day(intake_db, "requests", T0, "SU-0000000009")
    store.index_day(intake_db, "requests", T0, ids[0])  # a retried insert
    listed = store.day_ids(intake_db, "requests", "2026-12-01")
    assert list(dict.fromkeys(listed)) == [*ids, "SU-0000000009"]
    assert intake_db.by_day.count_documents({}) == 4
    assert store.day_ids(intake_db, "requests", "2026-11-30") == []


def test_open311_lists_the_window_newest_first_reading_only_its_days(intake_db):
    old = new_case(intake_db, T0 - timedelta(days=200))
    recent = [new_case(intake_db, T0 + timedelta(hours=h)) for h in (1, 30, 2)]
    query = open311.parse_query({}, TAXONOMY)
    listed = handlers.open311_requests(intake_db, query, now=T0 + timedelta(days=2))
    assert [r["service_request_id"] for r in listed] == [recent[1], recent[2], recent[0]]
    assert old not in {r["service_request_id"] for r in listed}
    page = open311.parse_query({"page": "2", "page_size": "2"}, TAXONOMY)
    assert [
        r["service_request_id"]
        for r in handlers.open311_requests(intake_db, page, now=T0 + timedelta(days=2))
    ] == [recent[0]]
