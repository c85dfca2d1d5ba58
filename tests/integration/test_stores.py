"""Each service's store against the real FerretDB/MongoDB: idempotency and projections."""

import threading
import time

import pytest

from services.intake import feedback, handlers, tokens
from services.intake import store as intake_store
from services.notification import deliveries
from services.notification import store as notification_store
from services.reporting import projections
from services.reporting import store as reporting_store
from shared import events
from tests.helpers import wait_for


def event(service, event_type, data, feedback_id):
    built = events.build(service, event_type, data, subject=feedback_id, correlation_id="it")
    return events.decode(events.encode(built))


def received(fid):
    return event(
        "intake",
        "feedback.received",
        {
            "feedback_id": fid,
            "channel": "http",
            "text": "jalan rusak",
            "submitted_at": events.now_iso(),
        },
        fid,
    )


def categorized(fid, revision=1, category="roads"):
    return event(
        "categorization",
        "feedback.categorized",
        {
            "feedback_id": fid,
            "category": category,
            "department": "Dinas PUPR",
            "confidence": 0.9,
            "priority": "normal",
            "method": "model",
            "revision": revision,
            "categorized_at": events.now_iso(),
        },
        fid,
    )


def urgent(fid):
    return event(
        "categorization",
        "feedback.urgent",
        {
            "feedback_id": fid,
            "category": "roads",
            "department": "Dinas PUPR",
            "reasons": ["collapsed bridge"],
            "flagged_at": events.now_iso(),
        },
        fid,
    )


def test_intake_idempotency_and_external_keys_are_unique(db):
    intake_store.ensure_indexes(db)
    first = feedback.new_record({"text": "sampah"}, channel="http", idempotency_key="k1")
    second = feedback.new_record({"text": "sampah"}, channel="http", idempotency_key="k1")
    assert intake_store.insert(db, first).created
    again = intake_store.insert(db, second)
    assert not again.created and again.record["_id"] == first["_id"]
    assert "contact" not in again.record

    cmd = {"text": "air mati", "source": "sipadu", "external_id": "9"}
    a = feedback.new_record(cmd, channel="amqp", source="sipadu", external_id="9")
    b = feedback.new_record(cmd, channel="amqp", source="sipadu", external_id="9")
    assert intake_store.insert(db, a).created and not intake_store.insert(db, b).created
    # records without keys do not collide on the sparse unique indexes
    for _ in range(3):
        assert intake_store.insert(
            db, feedback.new_record({"text": "x y z"}, channel="http")
        ).created
    assert db.feedback.count_documents({}) == 5


def test_a_keyed_repeat_is_found_by_its_derived_id(db):
    intake_store.ensure_indexes(db)
    first = feedback.new_record({"text": "sampah"}, channel="http", idempotency_key="k7")
    assert first["_id"] == feedback.keyed_id("http", "k7")
    assert intake_store.insert(db, first).created
    repeat = feedback.new_record({"text": "sampah"}, channel="http", idempotency_key="k7")
    assert repeat["_id"] == first["_id"]  # so the repeat is one read by _id
    assert intake_store.insert(db, repeat).record["_id"] == first["_id"]


def test_a_derived_id_taken_by_another_key_stores_under_a_new_id_and_stays_idempotent(db):
    from services.intake import handlers

    intake_store.ensure_indexes(db)
    taken = feedback.keyed_id("amqp", "sipadu", "77")
    # another key's record holds the id that sipadu/77 derives (a 50-bit collision)
    other = feedback.new_record({"text": "x y z"}, channel="http", idempotency_key="zz")
    db.feedback.insert_one({**other, "_id": taken})
    published: list = []
    command = {"text": "air mati di Kuripan", "source": "sipadu", "external_id": "77"}
    assert handlers.submit_command(db, published.append, command)
    stored = db.feedback.find_one({"external_key": "sipadu/77"})
    assert stored["_id"] != taken and published[0]["event"]["subject"] == stored["_id"]
    assert not handlers.submit_command(db, published.append, command)  # a retry: seen
    assert db.feedback.count_documents({"external_key": "sipadu/77"}) == 1


def test_an_opt_out_holds_at_once_for_every_case_of_the_address_and_keeps_its_first_time(db):
    keys = ("s" * 32,)
    cases = [
        feedback.new_record(
            {"text": "lampu mati", "contact": {"email": email, "language": "en"}},
            channel="http",
        )
        for email in ("Warga@Example.id", "warga@example.id", "lain@example.id")
    ]
    for case in cases:
        intake_store.insert(db, case)
    first = handlers.reply_address(db, cases[0]["_id"], keys, "https://suara.example")
    hashed = tokens.address_hash("warga@example.id")
    token = tokens.unsubscribe_token(keys, hashed)
    assert first["unsubscribe_url"] == f"https://suara.example/unsubscribe/{hashed}?token={token}"
    assert first["email"] == "Warga@Example.id" and first["email_opted_out"] is False
    with pytest.raises(handlers.WrongToken):
        handlers.unsubscribe(db, keys, hashed, tokens.citizen_token(keys, hashed))
    assert not intake_store.opted_out(db, hashed)

    handlers.unsubscribe(db, keys, hashed, token)
    kept = db.optouts.find_one({"_id": hashed})
    handlers.unsubscribe(db, keys, hashed, token)  # the one-click POST after the page's
    assert db.optouts.find_one({"_id": hashed}) == kept and set(kept) == {"_id", "at"}
    for case in cases[:2]:
        reply = handlers.reply_address(db, case["_id"], keys, "https://suara.example")
        assert reply["email"] is None and reply["email_opted_out"] is True
    other = handlers.reply_address(db, cases[2]["_id"], keys, "https://suara.example")
    assert other["email"] == "lain@example.id" and other["email_opted_out"] is False


def test_reporting_projection_is_right_in_any_order_and_when_repeated(db):
    reporting_store.ensure_indexes(db)
    reporting_store.apply(db, projections.on_categorized(categorized("SU-1")))
    reporting_store.apply(db, projections.on_received(received("SU-1")))
    reporting_store.apply(db, projections.on_received(received("SU-1")))
    reporting_store.apply(db, projections.on_categorized(categorized("SU-1")))
    reporting_store.apply(db, projections.on_received(received("SU-2")))
    summary = reporting_store.summary(db)
    assert summary["total"] == 2
    assert summary["by_status"] == {"categorized": 1, "received": 1}
    assert summary["by_category"] == {"roads": 1}


def test_reporting_concurrent_first_events_of_one_feedback_are_all_applied(db):
    # received, categorized and urgent racing to create and update one projection document
    for i in range(20):
        fid = f"SU-RACE{i}"
        changes = [
            projections.on_received(received(fid)),
            projections.on_categorized(categorized(fid)),
            projections.on_urgent(urgent(fid)),
        ]
        threads = [threading.Thread(target=reporting_store.apply, args=(db, c)) for c in changes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert reporting_store.summary(db)["by_status"] == {"categorized": 20}
    assert db.feedback.count_documents({"urgent": True, "category": "roads"}) == 20


def test_notification_records_each_delivery_once(db):
    notification_store.ensure_indexes(db)
    planned = deliveries.plan(categorized("SU-N"))
    assert notification_store.record(db, planned) == 2
    assert notification_store.record(db, deliveries.plan(categorized("SU-N"))) == 0
    assert len(notification_store.for_feedback(db, "SU-N")) == 2


def assert_counts_agree(db) -> dict:
    live, recounted = reporting_store.summary(db), reporting_store.recount(db)
    live.pop("generated_at"), recounted.pop("generated_at")
    assert live == recounted
    return live


def test_reporting_counters_follow_recategorizations_repeats_and_any_order(db):
    reporting_store.ensure_indexes(db)
    apply = reporting_store.apply
    apply(db, projections.on_categorized(categorized("SU-A", 1, "roads")))  # before received
    apply(db, projections.on_received(received("SU-A")))
    apply(db, projections.on_categorized(categorized("SU-A", 2, "traffic")))  # a correction
    apply(db, projections.on_categorized(categorized("SU-A", 1, "roads")))  # stale: ignored
    apply(db, projections.on_received(received("SU-A")))  # repeated
    apply(db, projections.on_received(received("SU-B")))
    apply(db, projections.on_urgent(urgent("SU-C")))  # never received: not counted yet
    counts = assert_counts_agree(db)
    assert counts["total"] == 2 and counts["by_category"] == {"traffic": 1}
    assert counts["by_status"] == {"categorized": 1, "received": 1}
    assert db.counters.count_documents({}) == reporting_store.COUNTER_SHARDS


def test_reporting_counters_are_exact_when_events_of_one_feedback_race(db):
    reporting_store.ensure_indexes(db)
    for i in range(15):
        fid = f"SU-RACE{i}"
        changes = [
            projections.on_received(received(fid)),
            projections.on_categorized(categorized(fid)),
            projections.on_categorized(categorized(fid, 2, "water")),
            projections.on_received(received(fid)),
        ]
        threads = [threading.Thread(target=reporting_store.apply, args=(db, c)) for c in changes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    counts = assert_counts_agree(db)
    assert counts["total"] == 15 and counts["by_category"] == {"water": 15}


def test_a_crash_between_staging_and_counting_is_finished_once_by_the_redelivery(db, monkeypatch):
    reporting_store.ensure_indexes(db)
    crash = projections.on_received(received("SU-CRASH"))

    def fail(db, shard, change):
        raise ConnectionError("the process died here")

    monkeypatch.setattr(reporting_store, "_apply_change", fail)
    with pytest.raises(ConnectionError):
        reporting_store.apply(db, crash)
    assert db.feedback.find_one({"_id": "SU-CRASH"})["pending_counts"]  # staged, not counted
    monkeypatch.undo()
    reporting_store.apply(db, crash)  # the event again
    reporting_store.apply(db, crash)  # and once more
    assert assert_counts_agree(db)["total"] == 1
    assert db.feedback.find_one({"_id": "SU-CRASH"})["pending_counts"] == []


def test_counted_changes_leave_no_ids_behind(db):
    # the counters documents stay as small as the changes in flight, however many were counted
    reporting_store.ensure_indexes(db)
    for i in range(40):
        reporting_store.apply(db, projections.on_received(received(f"SU-SMALL{i}")))
    assert all(d["applied"] == {} for d in db.counters.find())
    assert reporting_store.summary(db)["total"] == 40


def test_an_id_left_by_a_crash_after_counting_is_forgotten_later_only(db):
    reporting_store.ensure_indexes(db)
    shard = reporting_store.counter_shard("SU-1")
    reporting_store._apply_change(db, shard, {"id": "left-behind", "inc": ["total:1"]})
    assert reporting_store.forget_applied(db) == 0
    assert reporting_store.forget_applied(db, older_than_s=-1) == 1
    assert all(d["applied"] == {} for d in db.counters.find())
    assert reporting_store.summary(db)["total"] == 1


def test_a_crashed_handlers_lease_expires_and_the_redelivery_counts_once(db, monkeypatch):
    reporting_store.ensure_indexes(db)
    monkeypatch.setattr(reporting_store, "LEASE_WAIT_S", 0.1)
    event = projections.on_received(received("SU-LEASE"))
    real_apply_change = reporting_store._apply_change

    def fail(db, shard, change):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(reporting_store, "_apply_change", fail)
    with pytest.raises(ConnectionError):
        reporting_store.apply(db, event)
    monkeypatch.undo()
    monkeypatch.setattr(reporting_store, "LEASE_WAIT_S", 0.1)
    doc = db.feedback.find_one({"_id": "SU-LEASE"})
    assert "counting" not in doc  # an error gives the lease back at once
    # now a handler that was killed: it counted the staged change and still holds the lease
    (change,) = doc["pending_counts"]
    real_apply_change(db, reporting_store.counter_shard("SU-LEASE"), change)
    until = time.time() + 1.0
    db.feedback.update_one({"_id": "SU-LEASE"}, {"$set": {"counting": {"by": "x", "until": until}}})
    with pytest.raises(reporting_store.CountsBusy):
        reporting_store.apply(db, event)  # the lease is held: the event is retried later
    # the redelivery, once the lease expired, finishes the dead handler's work without a repeat
    wait_for(lambda: reporting_store.apply(db, event) is not None, timeout=5, interval=0.2)
    reporting_store.apply(db, event)
    assert assert_counts_agree(db)["total"] == 1
    doc = db.feedback.find_one({"_id": "SU-LEASE"})
    assert doc["pending_counts"] == [] and "counting" not in doc
    assert all(d["applied"] == {} for d in db.counters.find())


def _decision(fid: str, needs_review: bool, minute: int) -> dict:
    from datetime import UTC, datetime

    from services.categorization import assignment
    from services.categorization.triage import Decision

    made = Decision(
        "roads",
        0.4 if needs_review else 0.9,
        "Dinas PUPR",
        "normal",
        [],
        "id",
        needs_review=needs_review,
    )
    return assignment.new_assignment(
        fid,
        "jalan rusak",
        made,
        correlation_id="c",
        now=datetime(2026, 12, 1, 8, minute, tzinfo=UTC),
    )


def test_the_review_queue_lists_what_waits_oldest_first_and_forgets_what_was_reviewed(db):
    from services.categorization import assignment
    from services.categorization import store as categorization_store

    categorization_store.ensure_indexes(db)
    for fid, review, minute in (("SU-R2", True, 2), ("SU-OK", False, 0), ("SU-R1", True, 1)):
        assert categorization_store.insert(db, _decision(fid, review, minute))
    assert not categorization_store.insert(db, _decision("SU-R1", True, 1))  # a repeat
    queue = [d["_id"] for d in categorization_store.review_queue(db)]
    assert queue == ["SU-R1", "SU-R2"]
    assert db.review_queue.count_documents({}) == 2  # only what waits: not every decision
    current = categorization_store.get(db, "SU-R1")
    update = assignment.correction(current, "traffic", "Dishub", client="staff")
    assert categorization_store.correct(db, "SU-R1", update, current["revision"])
    assert [d["_id"] for d in categorization_store.review_queue(db)] == ["SU-R2"]
    db.review_queue.insert_one({"_id": "SU-OK", "created_at": current["created_at"]})  # stale
    assert [d["_id"] for d in categorization_store.review_queue(db)] == ["SU-R2"]
    assert db.review_queue.count_documents({}) == 1


def test_a_feedbacks_delivery_log_is_read_through_its_index_in_order(db):
    notification_store.ensure_indexes(db)
    notification_store.record(db, deliveries.plan(received("SU-L")))
    notification_store.record(db, deliveries.plan(categorized("SU-L")))
    notification_store.record(db, deliveries.plan(categorized("SU-OTHER")))
    notification_store.record(db, deliveries.plan(categorized("SU-L", 2)))  # a correction
    log = notification_store.for_feedback(db, "SU-L")
    assert [d["kind"] for d in log][:1] == ["received"] and len(log) == 5
    assert {d["feedback_id"] for d in log} == {"SU-L"}
    assert [d["created_at"] for d in log] == sorted(d["created_at"] for d in log)
    # an id listed before its delivery was stored (a crash between): skipped, not an error
    db.by_feedback.update_one({"_id": "SU-L"}, {"$addToSet": {"ids": "SU-L:ghost:citizen"}})
    assert len(notification_store.for_feedback(db, "SU-L")) == 5
    assert notification_store.for_feedback(db, "SU-NONE") == []


def moved(fid, sequence, to):
    return event(
        "intake",
        "feedback.status_changed",
        {
            "feedback_id": fid,
            "from": "categorized",
            "to": to,
            "department_id": "dinas-pupr",
            "sequence": sequence,
            "changed_at": events.now_iso(),
        },
        fid,
    )


@pytest.mark.parametrize("order", ["as published", "reversed"])
def test_reporting_counts_a_case_in_its_latest_move_in_any_order(db, order):
    reporting_store.ensure_indexes(db)
    changes = [
        projections.on_received(received("SU-MOVE")),
        projections.on_categorized(categorized("SU-MOVE")),
        projections.on_status_changed(moved("SU-MOVE", 1, "acknowledged")),
        projections.on_categorized(categorized("SU-MOVE", 2, "traffic")),  # a correction
        projections.on_status_changed(moved("SU-MOVE", 2, "resolved")),
        projections.on_status_changed(moved("SU-MOVE", 1, "acknowledged")),  # repeated
    ]
    for change in changes if order == "as published" else reversed(changes):
        reporting_store.apply(db, change)
    counts = assert_counts_agree(db)
    assert counts["by_status"] == {"resolved": 1}
    assert counts["by_category"] == {"traffic": 1}
