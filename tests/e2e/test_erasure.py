"""The erasure of a citizen's personal data in intake reaches notification (issue 12, item 7):
an admin erases a case's contact; intake's reply-address door no longer yields it, so
notification settles the next reply ``no_address``; ``feedback.erased`` is published once (a
repeat answers the same and publishes nothing), intake follows it, and the case goes on."""

from __future__ import annotations

import json
import uuid

from tests.helpers import wait_for
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}
BPBD = {"X-API-Key": "bpbd-secret"}
PHONE = "0812-7788-9900"


def erase(client, feedback_id: str, headers: dict | None = ADMIN):
    return client.post(f"/api/v1/feedback/{feedback_id}/erase", {}, headers)


def reply_address(client, reply_id: str):
    return client.http.get(client.url("intake", f"/api/v1/replies/{reply_id}"), headers=ADMIN)


def settled(client, feedback_id: str, kind: str) -> dict | None:
    for delivery in client.deliveries(feedback_id):
        if delivery["kind"] == kind and delivery["status"] not in ("recorded", "sending"):
            return delivery
    return None


def test_an_erased_citizen_is_no_longer_told_and_the_case_goes_on(client):
    events = client.subscribe("intake.events", "feedback.*")
    try:
        address = f"warga-{uuid.uuid4().hex[:10]}@example.id"
        receipt = client.submit(
            f"Banjir rob masuk rumah, air sepinggang. Hubungi {PHONE}",
            contact={"name": "Siti Aminah", "email": address, "phone": PHONE},
            location={"kelurahan": "Panjang Wetan", "address": "Gg. Melati 3, rumah biru"},
        ).json()
        fid, token = receipt["id"], receipt["citizen_token"]
        assert reply_address(client, fid).json()["email"] == address
        client.wait_status(fid)
        # the receipt went out before the erasure (one that had not would be cancelled)
        wait_for(lambda: settled(client, fid, "received"), timeout=30, message="the receipt")

        erased = erase(client, fid)

        assert erased.status_code == 200, erased.text
        body = erased.json()
        assert body["id"] == fid and body["erased_at"].endswith("Z")
        # notification's door to the address is closed: 404, which it reads as "no address"
        assert reply_address(client, fid).status_code == 404
        (event,) = wait_for(lambda: events.of("feedback.erased", fid), timeout=20)
        assert event["data"] == {"feedback_id": fid, "erased_at": body["erased_at"]}
        assert event["dataschema"] == "urn:suara:schema:feedback.erased:v1"
        raw = json.dumps(event)
        assert address not in raw and PHONE not in raw and "Siti" not in raw

        # a repeat answers the first time and publishes nothing
        again = erase(client, fid)
        assert (again.status_code, again.json()) == (200, body)

        # the case goes on; notification settles the citizen's reply without an address
        moved = client.move(fid, ADMIN, status="acknowledged", note="Tim menuju lokasi")
        assert moved.status_code == 200, moved.text
        delivery = wait_for(lambda: settled(client, fid, "status.1"), timeout=30)
        assert delivery["status"] in ("no_address", "erased")
        # notification forgot whom it told: no delivery of the case keeps the address's hash
        wait_for(
            lambda: all(
                "to_hash" not in d for d in client.deliveries(fid) if d["audience"] == "citizen"
            ),
            timeout=20,
            message="notification to forget the recipients",
        )
        assert any(
            d["kind"] == "received" and d["status"] == "sent" for d in client.deliveries(fid)
        )
        # the move's event came after the repeat's answer: had the repeat published, it
        # would be here by now
        wait_for(lambda: events.of("feedback.status_changed", fid), timeout=20)
        assert len(events.of("feedback.erased", fid)) == 1

        # the public view and the tracking page work, without personal data
        view = client.feedback(fid)
        assert view["status"] == "acknowledged" and view["id"] == fid
        page = client.http.get(client.url("intake", f"/track/{fid}?token={token}"), timeout=10)
        assert page.status_code == 200
        assert fid in page.text
        for secret in (address, PHONE, "Siti Aminah", "Gg. Melati"):
            assert secret not in page.text
            assert secret not in json.dumps(view)
        assert "[phone]" in page.text  # the citizen's own text, identifiers replaced
        staff = client.http.get(client.url("intake", f"/api/v1/feedback/{fid}"), headers=ADMIN)
        assert staff.json()["erased_at"] == body["erased_at"]
    finally:
        events.close()
    # intake followed its own event: its queue drains, nothing dead-lettered
    for queue in ("suara.intake.feedback.erased", "suara.notification.feedback.erased"):
        wait_for(lambda q=queue: client.queue_depth(q) == 0, timeout=20)
        assert client.queue_depth(f"{queue}.dead") == 0


def test_only_an_admin_erases_and_only_a_case_that_exists(client):
    fid = client.submit("Lampu PJU mati di gang Melati, gelap", contact={"phone": PHONE}).json()[
        "id"
    ]
    assert erase(client, fid, None).status_code == 401
    assert erase(client, fid, {"X-API-Key": "not-a-key"}).status_code == 401
    refused = erase(client, fid, BPBD)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert reply_address(client, fid).json()["phone"] == PHONE  # nothing was erased
    for unknown in ("SU-0000000000", "nope"):
        missing = erase(client, unknown)
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
