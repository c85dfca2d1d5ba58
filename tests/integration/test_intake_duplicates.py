""" "Me too" (issue 15) in intake against the real FerretDB (and, for the consumer and the HTTP
route, the real RabbitMQ): the idempotent follower of ``feedback.duplicate_suspected``, the
review endpoint, the lists, and the followers in ``feedback.status_changed``."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
import requests
from kombu import Connection, Producer

from services.intake import duplicates, feedback, handlers, lifecycle, sla, store
from services.intake.service import IntakeService
from shared import config, events, topology, workcalendar
from shared.http import Caller
from tests.helpers import wait_for

CALENDAR = workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None)
POLICY = sla.Policy(CALENDAR, reopen_window=timedelta(days=14))
ADMIN, BPBD, PUPR = Caller("ops"), Caller("bpbd", "bpbd"), Caller("dinas-pupr", "dinas-pupr")
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
QUEUE = topology.event_queue_name("intake", "feedback.duplicate_suspected")


class Published(list):
    def __call__(self, entry):
        self.append(entry["event"])

    def of(self, event_type):
        return [e["data"] for e in self if e["type"].endswith(event_type)]


def new_case(db, when: datetime = T0, category: str = "flooding") -> str:
    record = feedback.new_record({"text": "banjir rob masuk rumah"}, channel="http", now=when)
    store.insert(db, record)
    handlers.apply_categorization(
        db,
        POLICY,
        {
            "feedback_id": record["_id"],
            "category": category,
            "department": "BPBD" if category == "flooding" else "Dinas PUPR",
            "confidence": 0.9,
            "priority": "normal",
            "method": "model",
            "categorized_at": when.isoformat(),
            "revision": 1,
        },
    )
    return record["_id"]


def suspected(feedback_id: str, similar_to: str, **overrides) -> dict:
    return {
        "feedback_id": feedback_id,
        "similar_to": similar_to,
        "cluster_id": similar_to,
        "similarity": 0.82,
        "distance_m": 35.0,
        "kelurahan": "Panjang Wetan",
        "category": "flooding",
        "department_id": "bpbd",
        "suspected_at": "2026-12-01T01:05:00.000Z",
        **overrides,
    }


@pytest.fixture
def intake_db(db):
    store.ensure_indexes(db)
    return db


def test_the_same_suggestion_twice_counts_once_and_two_count_two(intake_db):
    primary, first, second = new_case(intake_db), new_case(intake_db), new_case(intake_db)
    for _ in range(2):  # at-least-once: the same message again
        handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(first, primary))
    case = store.get(intake_db, primary)
    assert (case["me_too"], case["me_too_count"]) == ([first], 1)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(second, primary))
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(second, primary))
    case = store.get(intake_db, primary)
    assert (case["me_too"], case["me_too_count"]) == ([first, second], 2)
    me_too = store.get(intake_db, first)
    assert (me_too["similar_to"], me_too["cluster_id"]) == (primary, primary)
    assert me_too["duplicate_link"]["state"] == "suspected"
    assert me_too["duplicate_link"]["similarity"] == 0.82


def test_a_crash_between_the_two_writes_is_finished_by_the_redelivery(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    assert store.join_primary(intake_db, primary, me_too)  # the primary's write, then a crash
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    assert store.get(intake_db, primary)["me_too_count"] == 1
    assert duplicates.state_of(store.get(intake_db, me_too)) == "suspected"


def test_a_final_or_unknown_primary_leaves_the_link_on_the_new_case_only(intake_db):
    closed, me_too, other = new_case(intake_db), new_case(intake_db), new_case(intake_db)
    handlers.change_status(
        intake_db,
        Published(),
        POLICY,
        closed,
        lifecycle.Move("rejected", "bukan wewenang kota"),
        BPBD,
    )
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, closed))
    assert duplicates.state_of(store.get(intake_db, me_too)) == "lapsed"
    assert store.get(intake_db, closed).get("me_too_count") is None
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(other, "SU-0000000000"))
    assert duplicates.state_of(store.get(intake_db, other)) == "lapsed"
    # a lapsed case stands as its own: listed, and no link to review
    listed = handlers.list_cases(intake_db, BPBD, {"limit": 50})["cases"]
    assert {me_too, other} <= {c["id"] for c in listed}
    with pytest.raises(duplicates.LinkRefused):
        handlers.review_duplicate(intake_db, Published(), POLICY, me_too, "confirmed", BPBD)


def test_an_unknown_case_or_a_case_repeating_itself_is_invalid(intake_db):
    primary = new_case(intake_db)
    with pytest.raises(events.InvalidMessage, match="no case"):
        handlers.apply_duplicate_suspected(intake_db, POLICY, suspected("SU-0000000000", primary))
    with pytest.raises(events.InvalidMessage, match="itself"):
        handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(primary, primary))


def test_status_changes_of_the_primary_name_its_followers(intake_db):
    primary, first, second = new_case(intake_db), new_case(intake_db), new_case(intake_db)
    for me_too in (first, second):
        handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    published = Published()
    handlers.change_status(
        intake_db, published, POLICY, primary, lifecycle.Move("acknowledged"), BPBD
    )
    (changed,) = published.of("feedback.status_changed")
    assert changed["followers"] == [first, second]
    handlers.review_duplicate(intake_db, published, POLICY, second, "undone", BPBD)
    handlers.change_status(
        intake_db, published, POLICY, primary, lifecycle.Move("in_progress"), BPBD
    )
    assert published.of("feedback.status_changed")[-1]["followers"] == [first]


def test_the_department_lists_one_case_with_its_count(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    listed = handlers.list_cases(intake_db, BPBD, {"limit": 50})["cases"]
    assert [c["id"] for c in listed] == [primary]
    assert (listed[0]["me_too_count"], listed[0]["me_too"]) == (1, [me_too])
    everything = handlers.list_cases(intake_db, BPBD, {"limit": 50, "include_me_too": True})
    shown = {c["id"]: c for c in everything["cases"]}
    assert shown[me_too]["similar_to"] == primary
    assert (shown[me_too]["cluster_id"], shown[me_too]["duplicate_link"]) == (primary, "suspected")
    # a linked me-too case has no deadline of its own: the sweep never wakes it
    assert store.due(intake_db, T0 + timedelta(days=30)) == [primary]


def test_confirmed_moves_the_me_too_case_to_duplicate_and_it_keeps_following(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    published = Published()
    case = handlers.review_duplicate(intake_db, published, POLICY, me_too, "confirmed", BPBD)
    assert (case["status"], case["duplicate_of"]) == ("duplicate", primary)
    assert case["duplicate_link"]["reviewed_by"] == "bpbd"
    (reviewed,) = published.of("feedback.duplicate_reviewed")
    assert (reviewed["decision"], reviewed["similar_to"]) == ("confirmed", primary)
    (moved,) = published.of("feedback.status_changed")
    assert (moved["to"], moved["duplicate_of"]) == ("duplicate", primary)
    assert store.get(intake_db, primary)["me_too_count"] == 1
    # the same decision again: answered as before, nothing announced; the other one: 409
    again = handlers.review_duplicate(intake_db, published, POLICY, me_too, "confirmed", BPBD)
    assert again["version"] == case["version"] and len(published) == 2
    with pytest.raises(duplicates.LinkRefused):
        handlers.review_duplicate(intake_db, published, POLICY, me_too, "undone", BPBD)


def test_undone_takes_the_case_out_and_a_late_redelivery_does_not_bring_it_back(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    published = Published()
    case = handlers.review_duplicate(intake_db, published, POLICY, me_too, "undone", ADMIN)
    assert (case["status"], case["duplicate_link"]["state"]) == ("categorized", "undone")
    assert published.of("feedback.duplicate_reviewed")[0]["decision"] == "undone"
    assert published.of("feedback.status_changed") == []
    primary_case = store.get(intake_db, primary)
    assert (primary_case["me_too"], primary_case["me_too_count"]) == ([], 0)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    assert store.get(intake_db, primary)["me_too_count"] == 0
    listed = handlers.list_cases(intake_db, BPBD, {"limit": 50})["cases"]
    assert {primary, me_too} == {c["id"] for c in listed}  # its own case again


def test_only_the_two_cases_departments_may_review(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    with pytest.raises(handlers.NotYours):
        handlers.review_duplicate(intake_db, Published(), POLICY, me_too, "undone", PUPR)
    with pytest.raises(handlers.NotFound):
        handlers.review_duplicate(intake_db, Published(), POLICY, "SU-0000000000", "undone", BPBD)


def test_the_citizen_sees_the_primary_and_its_state(intake_db):
    primary, me_too = new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    handlers.change_status(
        intake_db, Published(), POLICY, primary, lifecycle.Move("in_progress"), BPBD
    )
    view = handlers.public_view(intake_db, store.get(intake_db, me_too))
    assert view["already_reported"]["id"] == primary
    assert view["already_reported"]["status"] == "in_progress"
    assert view["already_reported"]["department"] == "BPBD"
    assert handlers.public_view(intake_db, store.get(intake_db, primary))["me_too_count"] == 1


# ---------------------------------------------------------------- the running service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish_suspected(amqp_uri: str, body: bytes) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange="categorization.events",
            routing_key="feedback.duplicate_suspected",
            content_type=events.CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
        )


def suspected_event(data: dict) -> bytes:
    built = events.build(
        "categorization",
        "feedback.duplicate_suspected",
        data,
        subject=data["feedback_id"],
        correlation_id="test-me-too",
    )
    return events.encode(built)


def drain(amqp_uri: str, queue: str) -> list:
    got = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (m := channel.basic_get(queue)) is not None:
            got.append((m.headers, m.body))
            channel.basic_ack(m.delivery_tag)
    return got


OUT = [
    topology.event_queue_name(consumer, event_type)
    for event_type in ("feedback.status_changed", "feedback.duplicate_reviewed")
    for consumer in events.EVENTS[("intake", event_type)].consumers
]


@pytest.fixture
def intake(container_factory, service_config, intake_db, purge):
    purge(QUEUE, topology.retry_queue_name(QUEUE), topology.dead_queue_name(QUEUE), *OUT)
    port = free_port()
    cfg = service_config(
        "intake",
        WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
        API_KEYS=config.parse_api_keys("ops:admin-key-it"),
        DEPARTMENT_KEYS=config.parse_department_keys("bpbd:bpbd-key-it,dinas-pupr:pupr-key-it"),
    )
    container = container_factory(IntakeService, cfg)
    container.start()
    yield f"http://127.0.0.1:{port}"
    container.stop()


def test_the_consumer_counts_a_redelivered_event_once_and_dead_letters_a_bad_one(
    intake, intake_db, amqp_uri
):
    primary, first, second = new_case(intake_db), new_case(intake_db), new_case(intake_db)
    once = suspected_event(suspected(first, primary))
    for body in (once, once, suspected_event(suspected(second, primary))):
        publish_suspected(amqp_uri, body)
    publish_suspected(amqp_uri, suspected_event(suspected(primary, "SU-0000000000")))
    bad = json.loads(once)
    bad["data"]["similarity"] = 7  # out of its range
    publish_suspected(amqp_uri, json.dumps(bad).encode())
    publish_suspected(amqp_uri, suspected_event(suspected("SU-0000000000", primary)))

    def dead():
        return drain(amqp_uri, topology.dead_queue_name(QUEUE))

    dead_letters = []
    wait_for(lambda: dead_letters.extend(dead()) or len(dead_letters) >= 2, timeout=20)
    reasons = sorted(h["x-suara-reason"] for h, _ in dead_letters)
    assert len(reasons) == 2, reasons
    assert all(r.startswith("invalid: ") for r in reasons), reasons
    assert "similarity" in reasons[0] and "no case SU-0000000000" in reasons[1]
    wait_for(lambda: store.get(intake_db, primary).get("me_too_count") == 2, timeout=20)
    case = store.get(intake_db, primary)
    assert sorted(case["me_too"]) == sorted([first, second])
    # the primary's own suggestion (a primary unknown to intake) lapsed on it, counted nowhere
    assert duplicates.state_of(store.get(intake_db, primary)) == "lapsed"
    wait_for(lambda: drain(amqp_uri, QUEUE) == [], timeout=10)
    assert store.get(intake_db, primary)["me_too_count"] == 2


def test_the_review_endpoint(intake, intake_db):
    primary, me_too, plain = new_case(intake_db), new_case(intake_db), new_case(intake_db)
    handlers.apply_duplicate_suspected(intake_db, POLICY, suspected(me_too, primary))
    pupr = new_case(intake_db, category="roads")
    bpbd_key, pupr_key = {"X-API-Key": "bpbd-key-it"}, {"X-API-Key": "pupr-key-it"}

    def review(feedback_id, body, headers):
        return requests.post(
            f"{intake}/api/v1/feedback/{feedback_id}/duplicate",
            json=body,
            headers=headers,
            timeout=10,
        )

    assert review(me_too, {"decision": "undone"}, {}).status_code == 401
    bad = review(me_too, {"decision": "maybe", "extra": 1}, bpbd_key)
    assert bad.status_code == 400, bad.text
    assert set(bad.json()["fields"]) == {"decision", "extra"}
    assert review(me_too, {"decision": "undone"}, pupr_key).status_code == 403
    assert review(pupr, {"decision": "undone"}, bpbd_key).status_code == 403
    assert review("SU-0000000000", {"decision": "undone"}, bpbd_key).status_code == 404
    no_link = review(plain, {"decision": "confirmed"}, bpbd_key)
    assert no_link.status_code == 409 and no_link.json()["link"] is None

    # the department sees one case with its count, and the me-too case's link
    staff = requests.get(f"{intake}/api/v1/feedback/{primary}", headers=bpbd_key, timeout=10)
    assert (staff.json()["me_too_count"], staff.json()["me_too"]) == (1, [me_too])
    linked = requests.get(f"{intake}/api/v1/feedback/{me_too}", headers=bpbd_key, timeout=10)
    assert linked.json()["similar_to"] == primary
    assert linked.json()["duplicate_link"]["state"] == "suspected"
    cases = requests.get(f"{intake}/api/v1/cases", headers=bpbd_key, timeout=10).json()["cases"]
    assert me_too not in {c["id"] for c in cases}
    cases = requests.get(
        f"{intake}/api/v1/cases?include_me_too=true", headers=bpbd_key, timeout=10
    ).json()["cases"]
    assert me_too in {c["id"] for c in cases}

    done = review(me_too, {"decision": "confirmed"}, bpbd_key)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["duplicate_link"]["state"]) == ("duplicate", "confirmed")
    assert body["duplicate_link"]["reviewed_by"] == "bpbd" and body["duplicate_link"]["reviewed_at"]
    assert body["already_reported"]["id"] == primary
    assert review(me_too, {"decision": "confirmed"}, bpbd_key).status_code == 200  # a repeat
    assert review(me_too, {"decision": "undone"}, bpbd_key).status_code == 409
