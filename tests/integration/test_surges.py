"""Surge alerts against the real database (services/reporting/alerting.py, surge_store.py): a
burst publishes one ``alert.spike_detected`` however many handlers count it at once and however
often its events come; a trickle, imported history and a pair's usual rate publish none; a
surge alerts once and a later one again; an alert the broker did not take is swept out later.
Then notification tells the department once (Mailpit) and its on-call number (a stand-in of
the WhatsApp API)."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from services.notification import handlers as notification_handlers
from services.notification import store as notification_store
from services.reporting import alerting, surge_store, surges
from shared import events, outbox
from tests.helpers import wait_for
from tests.support.providers import GRAPH_TOKEN, PHONE_NUMBER_ID, Graph

RULES = surges.Rules()
INBOX = "http://127.0.0.1:8025"


def event(service: str, event_type: str, data: dict) -> events.Event:
    built = events.build(service, event_type, data, subject="s", correlation_id="it")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def case_events(
    kelurahan: str | None, at: datetime, category: str = "flooding", imported: bool = False
) -> tuple[events.Event, events.Event]:
    fid = "SU-" + uuid.uuid4().hex[:10].upper()
    received = {
        "feedback_id": fid,
        "channel": "http",
        "text": "rob masuk jalan",
        "location": {"kelurahan": kelurahan} if kelurahan else None,
        "submitted_at": surges.iso(at),
        "imported": imported,
    }
    categorized = {
        "feedback_id": fid,
        "category": category,
        "department": "BPBD",
        "department_id": "bpbd",
        "confidence": 0.9,
        "priority": "normal",
        "method": "model",
        "revision": 1,
        "categorized_at": surges.iso(at),
        "imported": imported,
    }
    return (
        event("intake", "feedback.received", received),
        event("categorization", "feedback.categorized", categorized),
    )


def handle(db, published: list, evt: events.Event, now: datetime) -> bool:
    if evt.type == "feedback.received":
        return alerting.on_received(db, RULES, published.append, evt, now)
    return alerting.on_categorized(db, RULES, published.append, evt, now)


def burst(n: int, now: datetime, kelurahan: str = "Degayu", spacing_min: float = 2, **kw):
    return [
        case_events(kelurahan, now - timedelta(minutes=spacing_min * (n - i)), **kw)
        for i in range(n)
    ]


def alerts(published: list) -> list[dict]:
    return [e["event"] for e in published if e["routing_key"] == "alert.spike_detected"]


def test_a_burst_publishes_one_alert_even_with_three_handlers_at_once_and_every_event_twice(
    db, monkeypatch
):
    now = datetime.now(UTC)
    published: list[dict] = []
    work = [evt for pair in burst(8, now) for evt in pair] * 2  # every event delivered twice
    random.Random(13).shuffle(work)
    lanes = [work[i::3] for i in range(3)]
    errors: list[BaseException] = []

    def run(lane):
        try:
            lane[0]()  # all three at once
            for evt in lane[1:]:
                handle(db, published, evt, datetime.now(UTC))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    start = threading.Barrier(len(lanes))
    lanes = [[start.wait, *lane] for lane in lanes]
    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    (alert,) = alerts(published)
    data = alert["data"]
    assert (data["kelurahan"], data["kecamatan"], data["category"]) == (
        "Degayu",
        "Pekalongan Utara",
        "flooding",
    )
    assert data["department_id"] == "bpbd" and 5 <= data["count"] <= 8
    assert (data["threshold"], data["window_minutes"], data["baseline_per_hour"]) == (5, 60, 0)
    assert alert["subject"] == data["alert_id"] and "SU-" not in events.encode(alert).decode()
    # each case once in its bucket and in the baseline, however often it came
    hour_counts = surge_store.baseline(db, "Degayu|flooding")["hours"]
    assert sum(hour_counts.values()) == 8
    entries = [e for b in db.surge_buckets.find() for e in b["cases"]]
    assert len(entries) == len(set(entries)) == 8
    (record,) = db.surges.find()
    assert record["outbox"] == [] and record["alert_id"] == data["alert_id"]
    # a racing handler's pending note may outlive the relay: the sweep sends nothing for it,
    # and drops it once it is older than outbox.ORPHAN_AFTER_S (here at once)
    alerting.sweep(db, published.append)
    monkeypatch.setattr(outbox, "ORPHAN_AFTER_S", 0.0)
    outbox.sweep(db.surges, published.append, older_than_s=0.0)
    assert db.outbox_pending.count_documents({"doc_id": record["_id"]}) == 0
    assert len(alerts(published)) == 1
    assert record["peak"] >= data["count"]


def test_a_trickle_elsewhere_a_place_outside_the_city_and_imported_history_publish_none(db):
    now = datetime.now(UTC)
    published: list[dict] = []
    quiet = burst(3, now, kelurahan="Kramatsari", spacing_min=15)
    nowhere = burst(6, now, kelurahan="Jl. Merdeka")
    history = burst(10, now, kelurahan="Bandengan", imported=True)
    for pair in quiet + nowhere + history:
        for evt in pair:
            assert handle(db, published, evt, now) is False
    assert published == []
    # imported history counts in the baseline (it is the usual), never in a window
    assert sum(surge_store.baseline(db, "Bandengan|flooding")["hours"].values()) == 10
    assert db.surge_buckets.count_documents({"kelurahan": "Jl. Merdeka"}) == 0


def test_a_case_counts_under_its_first_category_and_a_recategorization_leaves_it(db):
    now = datetime.now(UTC)
    published: list[dict] = []
    received, categorized = case_events("Degayu", now)
    handle(db, published, categorized, now)  # before its receipt: it waits for the place
    assert db.surge_buckets.count_documents({}) == 0
    handle(db, published, received, now)
    data = {**categorized.data, "category": "roads", "revision": 2}
    handle(db, published, event("categorization", "feedback.categorized", data), now)
    (bucket,) = db.surge_buckets.find()
    assert (bucket["category"], len(bucket["cases"])) == ("flooding", 1)
    assert db.surge_cases.find_one({"_id": data["feedback_id"]})["category"] == "flooding"


def test_a_pairs_usual_rate_raises_its_threshold(db):
    now = datetime.now(UTC)
    window_start = surges._hour_start(surges.hour_of(now - RULES.window))
    usual = {surges.hour_of(window_start - timedelta(hours=h)): 2 for h in range(1, 673)}
    db.surge_baselines.insert_one({"_id": "Degayu|roads", "hours": usual})
    published: list[dict] = []
    cases = burst(6, now, category="roads", spacing_min=5)
    for received, categorized in cases[:5]:
        handle(db, published, received, now)
        handle(db, published, categorized, now)
    assert published == []  # five is usual enough here: 2 an hour, six needed
    for evt in cases[5]:
        handle(db, published, evt, now)
    (alert,) = alerts(published)
    assert (alert["data"]["threshold"], alert["data"]["count"]) == (6, 6)
    assert alert["data"]["baseline_per_hour"] == pytest.approx(2.0)


def test_a_surge_alerts_once_while_it_lasts_and_a_later_one_alerts_again(db):
    published: list[dict] = []
    start = datetime.now(UTC)
    for pair in burst(5, start):
        for evt in pair:
            handle(db, published, evt, start)
    assert len(alerts(published)) == 1
    # more cases half an hour later: the same surge
    later = start + timedelta(minutes=30)
    for pair in burst(3, later, spacing_min=1):
        for evt in pair:
            handle(db, published, evt, later)
    assert len(alerts(published)) == 1
    # three hours later, after an hour below the threshold: a new surge
    again = start + timedelta(hours=3)
    for pair in burst(5, again):
        for evt in pair:
            handle(db, published, evt, again)
    first, second = alerts(published)
    assert first["data"]["alert_id"] != second["data"]["alert_id"]
    assert sorted(d["_id"] for d in db.surges.find()) == ["Degayu|flooding|1", "Degayu|flooding|2"]


def test_an_alert_the_broker_did_not_take_is_published_by_the_sweep(db):
    now = datetime.now(UTC)

    def broker_down(entry):
        raise OSError("connection refused")

    for received, categorized in burst(5, now):
        alerting.on_received(db, RULES, broker_down, received, now)
        alerting.on_categorized(db, RULES, broker_down, categorized, now)
    (record,) = db.surges.find()
    assert len(record["outbox"]) == 1  # staged, not lost
    published: list[dict] = []
    assert outbox.sweep(db.surges, published.append, older_than_s=0) == 1
    (alert,) = alerts(published)
    assert alert["data"]["alert_id"] == record["alert_id"]
    assert db.surges.find_one({"_id": record["_id"]})["outbox"] == []
    assert alerting.sweep(db, published.append) == 0  # once


# ---------------------------------------------------------------- notification


def mails_to(address: str) -> list[dict]:
    found = requests.get(f"{INBOX}/api/v1/search", params={"query": f"to:{address}"}, timeout=5)
    found.raise_for_status()
    return found.json()["messages"]


def test_notification_tells_the_department_and_its_on_call_number_once(db, service_config):
    try:
        requests.get(f"{INBOX}/api/v1/info", timeout=3).raise_for_status()
    except requests.RequestException:
        pytest.fail("Mailpit is not running: deploy/local-servers.sh start")
    now = datetime.now(UTC)
    published: list[dict] = []
    for pair in burst(5, now):
        for evt in pair:
            handle(db, published, evt, now)
    (entry,) = published
    alert = events.decode(events.encode(entry["event"]))
    address = f"bpbd-{uuid.uuid4().hex[:8]}@dinas.test"
    number = "+62811" + str(uuid.uuid4().int)[:7]
    with Graph(port=0) as graph:
        cfg = service_config("notification")
        cfg.update(
            DEPARTMENT_EMAILS={"bpbd": address},
            ONCALL={"bpbd": ("whatsapp", number)},
            PROVIDERS={
                "whatsapp": {
                    "graph_url": f"http://127.0.0.1:{graph.server.server_port}",
                    "token": GRAPH_TOKEN,
                    "phone_number_id": PHONE_NUMBER_ID,
                    "template": "suara_update",
                },
                "sms": None,
            },
        )
        notification_store.ensure_indexes(db)
        sent_events: list[dict] = []
        ports = notification_handlers.Ports(lambda *a: None, lambda *a: None, sent_events.append)
        assert notification_handlers.on_alert(db, cfg, ports, alert) == 2
        assert notification_handlers.on_alert(db, cfg, ports, alert) == 0  # a redelivery
        (mail,) = wait_for(lambda: mails_to(address), timeout=10, message="the surge mail")
        assert mail["Subject"].startswith("LONJAKAN: 5 laporan Banjir & Rob di Degayu")
        (whatsapp,) = graph.sent_to(number)
        params = whatsapp.body["template"]["components"][0]["parameters"]
        assert params[0]["text"] == alert.data["alert_id"]
        assert params[1]["text"].startswith("LONJAKAN: 5 laporan")
    kinds = sorted((e["event"]["data"]["kind"], e["event"]["data"]["channel"]) for e in sent_events)
    assert kinds == [("spike", "email"), ("spike.oncall", "whatsapp")]
    assert all(e["event"]["data"]["feedback_id"] is None for e in sent_events)
