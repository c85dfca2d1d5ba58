"""Notification's use cases against the real database and the real SMTP server (Mailpit):
quiet hours hold a citizen's message that is not urgent until the window ends, through a
delayed job (never a sleeping worker); the daily digest is recorded once a day per department
whatever the number of replicas whose timers fire, and mailed once. Intake is a stand-in HTTP
server answering its two documented doors (the reply address and the work list)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from services.notification import handlers, store
from shared import events, quiet
from tests.helpers import wait_for

INBOX = "http://127.0.0.1:8025"
FID = "SU-" + uuid.uuid4().hex[:10].upper()
WIB = timedelta(hours=7)


def jakarta(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - WIB


class Intake:
    """GET /api/v1/replies/{id} and GET /api/v1/cases, as intake answers them."""

    def __init__(self, cases: list[dict]):
        self.asked: list[str] = []
        intake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                intake.asked.append(self.path)
                if self.path.startswith("/api/v1/cases"):
                    body = {"cases": cases, "next_cursor": None}
                else:
                    body = {"channel": "http", "address": None, "email": None}
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Recorded:
    """The use cases' ports, recording what they were asked to put on the broker."""

    def __init__(self):
        self.jobs: list[tuple[str, dict, float]] = []
        self.published: list[dict] = []

    def ports(self) -> handlers.Ports:
        return handlers.Ports(
            lambda queue, body, wait: self.jobs.append((queue, json.loads(body), wait)),
            lambda queue, body, reason: None,
            self.published.append,
        )


@pytest.fixture
def notification(service_config, db):
    def make(intake: Intake, **overrides) -> dict:
        cfg = service_config("notification", **overrides)
        cfg.update(NOTIFICATION_API_KEY="k", INTAKE_URL=intake.url)
        store.ensure_indexes(db)
        return cfg

    return make


def status_event(sequence: int) -> events.Event:
    data = {
        "feedback_id": FID,
        "from": "acknowledged",
        "to": "in_progress",
        "department_id": "dinas-pupr",
        "note": None,
        "duplicate_of": None,
        "sequence": sequence,
        "changed_at": "2026-12-02T15:00:00.000Z",
        "actor": "department",
    }
    built = events.build(
        "intake", "feedback.status_changed", data, subject=FID, correlation_id="c-1"
    )
    return events.decode(
        events.encode(built), expected=events.spec("intake", "feedback.status_changed")
    )


def test_a_status_change_at_night_waits_for_the_morning_through_a_delayed_job(db, notification):
    intake = Intake([])
    try:
        cfg = notification(intake)
        cfg["QUIET_HOURS"] = quiet.parse_quiet_hours("21:00-06:00")
        broker = Recorded()
        night = jakarta(2, 22, 30)
        assert handlers.on_event(db, cfg, broker.ports(), status_event(1), now=night) == 0
        held = store.get(db, f"{FID}:status.1:citizen")
        morning = jakarta(3, 6, 0)
        assert held["status"] == "recorded" and held["held_for"] == "quiet_hours"
        assert held["not_before"].replace(tzinfo=UTC) == morning
        ((queue, job, wait),) = broker.jobs
        assert queue == handlers.QUEUE and job["delivery_id"] == held["_id"]
        assert wait == pytest.approx((morning - night).total_seconds())
        assert intake.asked == []  # nobody was asked for an address: nothing goes out at night

        # the job comes back at 06:00: now it is tried (intake has no address for this case)
        handlers.on_job(db, cfg, broker.ports(), job, now=morning + timedelta(seconds=1))
        assert store.get(db, held["_id"])["status"] == "no_address"
        assert intake.asked == [f"/api/v1/replies/{FID}"]
    finally:
        intake.close()


def test_by_day_nothing_is_held(db, notification):
    intake = Intake([])
    try:
        cfg = notification(intake)
        cfg["QUIET_HOURS"] = quiet.parse_quiet_hours("21:00-06:00")
        handlers.on_event(db, cfg, Recorded().ports(), status_event(2), now=jakarta(2, 10))
        delivery = store.get(db, f"{FID}:status.2:citizen")
        assert delivery["status"] == "no_address" and "not_before" not in delivery
    finally:
        intake.close()


def digest_mails(department: str) -> list[dict]:
    found = requests.get(
        f"{INBOX}/api/v1/search", params={"query": f"to:{department}"}, timeout=5
    ).json()
    return found["messages"]


def test_the_daily_digest_is_sent_once_a_day_whatever_the_number_of_replicas(db, notification):
    cases = [
        {
            "id": "SU-00000000A1",
            "status": "categorized",
            "category": "roads",
            "due_at": "2026-12-01T02:00:00.000Z",
            "overdue": True,
        },
        {
            "id": "SU-00000000A2",
            "status": "in_progress",
            "category": "roads",
            "due_at": "2026-12-04T02:00:00.000Z",
            "overdue": False,
        },
    ]
    intake = Intake(cases)
    address = f"pupr-{uuid.uuid4().hex[:8]}@dinas.test"
    try:
        cfg = notification(intake, DEPARTMENT_EMAILS={"dinas-pupr": address}, DIGEST_AT=(7, 0))
        broker = Recorded()
        assert handlers.digests_due(db, cfg, broker.ports(), now=jakarta(2, 6, 59)) == 0
        assert intake.asked == []  # before its time nothing is read
        sent = [
            handlers.digests_due(db, cfg, broker.ports(), now=jakarta(2, 7, minute))
            for minute in (0, 0, 1, 30)  # two replicas' timers at 07:00, then later ones
        ]
        assert sent == [1, 0, 0, 0]
        (mail,) = wait_for(lambda: digest_mails(address), timeout=10, message="the digest")
        assert mail["Subject"] == (
            "Ringkasan harian Dinas PUPR (Rabu, 2 Des 2026): 2 terbuka, 1 lewat tenggat"
        )
        text = requests.get(f"{INBOX}/api/v1/message/{mail['ID']}", timeout=5).json()["Text"]
        assert text.index("SU-00000000A1") < text.index("SU-00000000A2")  # overdue first
        # the next day, the next digest
        assert handlers.digests_due(db, cfg, broker.ports(), now=jakarta(3, 7, 0)) == 1
        assert store.get(db, "digest:dinas-pupr:2026-12-03")["status"] == "sent"
    finally:
        intake.close()


def test_an_erased_citizen_is_forgotten_and_told_nothing_more(db, notification):
    intake = Intake([])
    try:
        cfg = notification(intake)
        cfg["QUIET_HOURS"] = quiet.parse_quiet_hours("21:00-06:00")
        broker = Recorded()
        handlers.on_event(db, cfg, broker.ports(), status_event(3), now=jakarta(2, 23))  # held
        sent_id = f"{FID}:status.4:citizen"
        handlers.on_event(db, cfg, broker.ports(), status_event(4), now=jakarta(2, 23))
        db.deliveries.update_one(  # as if it had gone out before the erasure
            {"_id": sent_id}, {"$set": {"status": "sent", "to_hash": "ab12", "note": "Budi"}}
        )
        erased = events.build(
            "intake",
            "feedback.erased",
            {"feedback_id": FID, "erased_at": "2026-12-02T16:00:00.000Z"},
            subject=FID,
            correlation_id="c-2",
        )
        event = events.decode(
            events.encode(erased), expected=events.spec("intake", "feedback.erased")
        )
        assert handlers.on_erased(db, event) == 2
        after = store.get(db, sent_id)
        assert after["status"] == "sent" and "to_hash" not in after and "note" not in after
        held = store.get(db, f"{FID}:status.3:citizen")
        assert held["status"] == "erased"
        # the held job comes back in the morning: nothing is sent, intake is not asked
        handlers.on_job(db, cfg, broker.ports(), broker.jobs[0][1], now=jakarta(3, 7))
        assert store.get(db, held["_id"])["status"] == "erased" and intake.asked == []
    finally:
        intake.close()
