"""Notification mails the citizen (issue 12, first channel): the tracking id at once, then each
status change, in their language, through a real SMTP server (Mailpit, started by
deploy/local-servers.sh), each once however often its event is delivered."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.helpers import wait_for

INBOX = "http://127.0.0.1:8025"
PUPR = {"X-API-Key": "pupr-secret"}


def mails_to(address: str) -> list[dict]:
    found = requests.get(f"{INBOX}/api/v1/search", params={"query": f"to:{address}"}, timeout=5)
    found.raise_for_status()
    return found.json()["messages"]


def body(message_id: str) -> dict:
    return requests.get(f"{INBOX}/api/v1/message/{message_id}", timeout=5).json()


@pytest.fixture
def inbox(native):
    try:
        requests.get(f"{INBOX}/api/v1/info", timeout=3).raise_for_status()
    except requests.RequestException:
        pytest.fail("Mailpit is not running: deploy/local-servers.sh start")


def test_the_citizen_hears_of_their_report_and_each_move_in_their_language(client, inbox):
    address = f"warga-{uuid.uuid4().hex[:10]}@example.id"
    r = client.submit(
        "Jalan berlubang besar di Jl. Dr. Wahidin depan pasar, bahaya motor",
        contact={"name": "Budi", "email": address, "language": "en"},
    )
    feedback_id = r.json()["id"]
    (received,) = wait_for(
        lambda: [m for m in mails_to(address) if m["Subject"].endswith(" received")],
        timeout=30,
        message="the first mail",
    )
    assert received["Subject"] == f"Report {feedback_id} received"
    first = body(received["ID"])
    assert f"/track/{feedback_id}?token=" in first["Text"]
    assert first["HTML"].startswith("<!doctype html>")
    client.wait_status(feedback_id)
    assert client.move(feedback_id, PUPR, status="acknowledged").status_code == 200
    done = client.move(feedback_id, PUPR, status="resolved", note="Patched <b>today</b>")
    assert done.status_code == 200, done.text
    mails = wait_for(lambda: len(m := mails_to(address)) >= 4 and m, timeout=30)
    subjects = sorted(m["Subject"] for m in mails)
    assert subjects == sorted(
        [
            f"Report {feedback_id} received",
            f"Report {feedback_id} went to Dinas PUPR",
            f"Report {feedback_id}: acknowledged",
            f"Report {feedback_id} resolved: rate the resolution",
        ]
    )
    resolved = body(next(m["ID"] for m in mails if "resolved" in m["Subject"]))
    assert "Patched <b>today</b>" in resolved["Text"]
    assert "&lt;b&gt;" in resolved["HTML"]  # escaped in the HTML part
    assert f"/track/{feedback_id}?token=" in resolved["Text"]  # where to rate it
    # every mail says how to stop them, in its text and in the headers a mail client offers
    unsubscribe = resolved["Text"].rsplit("Stop e-mails from Suara: ", 1)[1].split()[0]
    assert "/unsubscribe/" in unsubscribe and "@" not in unsubscribe
    headers = requests.get(f"{INBOX}/api/v1/message/{resolved['ID']}/headers", timeout=5).json()
    assert headers["List-Unsubscribe"] == [f"<{unsubscribe}>"]
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    sent = [d for d in client.deliveries(feedback_id) if d["audience"] == "citizen"]
    assert all("@" not in str(d) for d in sent)  # a hash, never the address, in the log
    done_kinds = {"received", "categorized.r1", "status.1", "status.2"}
    assert {d["status"] for d in sent if d["kind"] in done_kinds} == {"sent"}
    assert len(mails_to(address)) == 4  # each once


def test_a_citizen_without_an_address_is_not_mailed(client, inbox):
    feedback_id = client.submit("Lampu PJU mati di gang Melati, gelap").json()["id"]
    wait_for(
        lambda: any(
            d["kind"] == "received" and d["status"] == "no_address"
            for d in client.deliveries(feedback_id)
        ),
        timeout=20,
    )
