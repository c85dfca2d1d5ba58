"""Reporting's "me too" clusters against the real FerretDB and RabbitMQ: each link counts once
in its cluster however often and in whatever order its events come, an undone link counts down
once, and ``GET /api/v1/reports/clusters`` lists the largest (a bad query: 400 with its fields);
a message whose ids cannot key a cluster is dead-lettered with the reason."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import requests
from kombu import Connection, Producer
from nameko.testing.utils import get_extension

from services.reporting import handlers, projections, recount, store
from services.reporting.service import ReportingService
from shared import events, topology
from shared.webserver import Server
from tests.helpers import wait_for

TODAY = datetime.now(UTC).astimezone(projections.CITY_TZ).date()
SUSPECTED_Q = topology.event_queue_name("reporting", "feedback.duplicate_suspected")
REVIEWED_Q = topology.event_queue_name("reporting", "feedback.duplicate_reviewed")


def ids(n: int) -> list[str]:
    """Suara-like tracking ids of this test run, so runs never meet in a shared database."""
    run = uuid.uuid4().hex[:6].upper()
    return [f"SU-{run}{i:04d}" for i in range(n)]


def built(service: str, event_type: str, data: dict) -> dict:
    return events.build(service, event_type, data, subject=data["feedback_id"], correlation_id="t")


def decoded(doc: dict) -> events.Event:
    return events.decode(events.encode(doc))


def received(fid: str, at: str) -> dict:
    return built(
        "intake",
        "feedback.received",
        {
            "feedback_id": fid,
            "channel": "whatsapp",
            "text": "jalan berlubang besar",
            "language": "id",
            "location": {"kecamatan": "Pekalongan Utara", "kelurahan": "Panjang Wetan"},
            "submitted_at": at,
        },
    )


def suspected(fid: str, cluster: str, at: str, **more) -> dict:
    return built(
        "categorization",
        "feedback.duplicate_suspected",
        {
            "feedback_id": fid,
            "similar_to": cluster,
            "cluster_id": cluster,
            "similarity": 0.8,
            "distance_m": 35.0,
            "kelurahan": "Panjang Wetan",
            "category": "roads",
            "department_id": "dinas-pupr",
            "suspected_at": at,
            **more,
        },
    )


def reviewed(fid: str, cluster: str, decision: str) -> dict:
    return built(
        "intake",
        "feedback.duplicate_reviewed",
        {
            "feedback_id": fid,
            "similar_to": cluster,
            "cluster_id": cluster,
            "decision": decision,
            "department_id": "dinas-pupr",
            "reviewed_at": events.now_iso(),
        },
    )


def handle(db, doc: dict) -> None:
    """What the service's entrypoints do with an event (services/reporting/service.py)."""
    ev = decoded(doc)
    if ev.type == "feedback.received":
        store.apply(db, projections.on_received(ev))
    elif ev.type == "feedback.duplicate_suspected":
        handlers.on_duplicate_suspected(db, ev)
    else:
        handlers.on_duplicate_reviewed(db, ev)


def sizes(db, **args) -> dict[str, int]:
    report = handlers.clusters_report(db, {"min_size": "2", **args}, TODAY)
    return {row["cluster_id"]: row["size"] for row in report["clusters"]}


def at(hour: int) -> str:
    return f"{TODAY.isoformat()}T{hour:02d}:00:00.000Z"


def test_each_link_counts_once_and_an_undone_one_counts_down_once(db):
    store.ensure_indexes(db)
    first, second, third = ids(3)
    handle(db, received(first, at(0)))  # the first case: its submission is first_seen
    link = suspected(second, first, at(1))
    handle(db, link)
    handle(db, link)  # the same event twice: counts once
    assert sizes(db) == {first: 2}
    handle(db, suspected(third, first, at(2)))
    assert sizes(db) == {first: 3}
    (row,) = handlers.clusters_report(db, {}, TODAY)["clusters"]
    assert row == {
        "cluster_id": first,
        "size": 3,
        "confirmed": 0,
        "category": "roads",
        "department": "dinas-pupr",
        "kelurahan": "Panjang Wetan",
        "kecamatan": "Pekalongan Utara",
        "first_seen": at(0),  # the first case's submission
        "last_seen": at(2),
    }
    undo = reviewed(third, first, "undone")
    handle(db, undo)
    handle(db, undo)  # counted down once
    handle(db, suspected(third, first, at(2)))  # a late repeat of the link leaves it undone
    handle(db, reviewed(second, first, "confirmed"))
    (row,) = handlers.clusters_report(db, {}, TODAY)["clusters"]
    assert (row["size"], row["confirmed"]) == (2, 1)
    # the me-too cases among the received ones, all time and for the period
    handle(db, received(second, at(1)))
    handle(db, received(third, at(2)))
    assert store.summary(db)["me_too"] == 1
    assert handlers.summary(db, {"from": TODAY.isoformat()}, TODAY)["me_too"] == 1
    assert recount.differences(store.summary(db), store.recount(db)) == {}


def test_a_review_before_its_link_and_links_racing_on_replicas(db):
    store.ensure_indexes(db)
    first, *others = ids(7)
    # the undo of others[0] is handled before its link (they come on two queues)
    handle(db, reviewed(others[0], first, "undone"))
    evs = [suspected(fid, first, at(3 + i)) for i, fid in enumerate(others)]
    start = threading.Barrier(len(evs) * 2)
    threads = [
        threading.Thread(target=lambda d, b: (b.wait(), handle(db, d)), args=(doc, start))
        for doc in evs + evs  # every link twice, all at once
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sizes(db) == {first: 1 + len(others) - 1}
    # the earliest link names the cluster's place, whichever was written first
    doc = db.clusters.find_one({"_id": first})
    assert doc["origin"] == f"{at(3)}|{others[0]}" and doc["last_seen"] == at(8)
    assert db.cluster_index.find_one({"_id": f"{TODAY:%Y-%m}|roads"})["clusters"] == [first]
    assert not doc.get("applied")  # the ids of changes in flight only


def test_the_list_reads_its_filters_and_period(db):
    store.ensure_indexes(db)
    a, a2, b, b2, b3 = ids(5)
    handle(db, suspected(a2, a, at(1)))
    for fid in (b2, b3):
        handle(db, suspected(fid, b, at(2), category="flooding", kelurahan="Degayu"))
    assert list(sizes(db)) == [b, a]  # the largest first
    assert sizes(db, category="roads") == {a: 2}
    assert sizes(db, kelurahan="degayu") == {b: 3}
    assert sizes(db, min_size="3") == {b: 3}
    assert sizes(db, limit="1") == {b: 3}
    assert handlers.clusters_report(db, {"limit": "1"}, TODAY)["count"] == 2
    assert sizes(db, to="2020-01-31", **{"from": "2020-01-01"}) == {}


# ---------------------------------------------------------------- through the broker


def publish(amqp_uri: str, doc: dict | bytes, exchange: str, routing_key: str) -> None:
    body = doc if isinstance(doc, bytes) else events.encode(doc)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            content_type=events.CONTENT_TYPE,
            delivery_mode=2,
        )


def dead_letters(amqp_uri: str, queue: str) -> list:
    got = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (m := channel.basic_get(topology.dead_queue_name(queue))) is not None:
            got.append((m.headers, m.body))
            channel.basic_ack(m.delivery_tag)
    return got


def test_the_service_consumes_both_events_and_answers_the_report(
    container_factory, service_config, amqp_uri, purge, db
):
    queues = [SUSPECTED_Q, REVIEWED_Q]
    purge(*queues, *map(topology.retry_queue_name, queues), *map(topology.dead_queue_name, queues))
    container = container_factory(ReportingService, service_config("reporting"))
    container.start()
    port = get_extension(container, Server)._sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/reports/clusters"
    first, second, third = ids(3)

    def sizes_now() -> dict:
        answer = requests.get(url, timeout=5)
        answer.raise_for_status()
        return {row["cluster_id"]: row["size"] for row in answer.json()["clusters"]}

    for fid in (second, third):
        link = suspected(fid, first, at(4))
        publish(amqp_uri, link, "categorization.events", "feedback.duplicate_suspected")
        publish(amqp_uri, link, "categorization.events", "feedback.duplicate_suspected")
    wait_for(lambda: sizes_now() == {first: 3}, timeout=20, message="a cluster of 3")
    publish(
        amqp_uri, reviewed(third, first, "undone"), "intake.events", "feedback.duplicate_reviewed"
    )
    wait_for(lambda: sizes_now() == {first: 2}, timeout=20, message="the undone link gone")

    # an id reporting cannot key a cluster by: dead-lettered with the reason, at once
    bad = suspected("SU-X.1", first, at(5))
    publish(amqp_uri, bad, "categorization.events", "feedback.duplicate_suspected")
    (dead,) = wait_for(
        lambda: dead_letters(amqp_uri, SUSPECTED_Q), timeout=20, message="the dead letter"
    )
    assert dead[0]["x-suara-reason"].startswith("invalid: feedback_id 'SU-X.1'")
    assert sizes_now() == {first: 2}

    refused = requests.get(url, params={"min_size": "1", "limit": "x", "colour": "red"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "validation"
    assert set(body["fields"]) == {"min_size", "limit", "colour"}, body
    backwards = requests.get(url, params={"from": "2026-12-02", "to": "2026-12-01"})
    assert backwards.status_code == 400 and set(backwards.json()["fields"]) == {"from"}
    answer = requests.get(url, params={"category": "roads", "kelurahan": "Panjang Wetan"}).json()
    assert answer["min_size"] == 2 and answer["count"] == 1
    assert answer["period"]["category"] == "roads"
    assert "text" not in str(answer) and "similar_to" not in str(answer)
    container.stop()
