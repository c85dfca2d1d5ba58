"""Integrators' webhooks (issue 12): subscriptions through notification's API, each event a
CloudEvent signed per Standard Webhooks (verified here with the ``standardwebhooks`` library),
retried through the broker's wait queues until the receiver takes it (once), dead-lettered and
announced as ``notification.failed`` when it never does; internal targets refused."""

from __future__ import annotations

import json
import uuid

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.helpers import wait_for
from tests.support.webhooks import Receiver

OTHER_KEY = {"X-API-Key": "fuzz-secret"}  # another integrator
DEAD = "suara.notification.deliveries.dead"
ROADS = "Jalan berlubang besar di Jl. Dr. Wahidin depan pasar, bahaya motor"


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture(autouse=True)
def unsubscribe_afterwards(client):
    """Each test's subscriptions end with it: other tests count deliveries."""
    yield
    for sub in hooks(client, "GET").json()["webhooks"]:
        hooks(client, "DELETE", f"/{sub['id']}")


def hooks(client, method: str, path: str = "", body=None, headers=None):
    return client.http.request(
        method,
        client.url("notification", f"/api/v1/webhooks{path}"),
        json=body,
        headers=headers if headers is not None else {"X-API-Key": client.api_key},
        timeout=10,
    )


def subscribe(client, receiver, path: str, **body) -> dict:
    wanted = {"url": receiver.url(path), "event_types": ["feedback.received"], **body}
    r = hooks(client, "POST", body=wanted)
    assert r.status_code == 201, r.text
    return r.json()


def path() -> str:
    return f"/hook/{uuid.uuid4().hex[:8]}"


def test_a_subscriber_gets_each_event_signed_and_without_personal_data(client, receiver):
    where = path()
    created = subscribe(client, receiver, where, event_types=["feedback.received"])
    assert created["secret"].startswith("whsec_") and created["id"].startswith("wh_")
    assert created["active"] is True and created["owner"] == "e2e"
    # the secret is shown once: never in a read
    listed = hooks(client, "GET").json()["webhooks"]
    assert created["id"] in {w["id"] for w in listed}
    assert all("secret" not in w for w in listed)
    one = hooks(client, "GET", f"/{created['id']}")
    assert one.status_code == 200 and "secret" not in one.json()
    # another integrator sees nothing of it
    assert hooks(client, "GET", f"/{created['id']}", headers=OTHER_KEY).status_code == 404
    assert created["id"] not in {
        w["id"] for w in hooks(client, "GET", headers=OTHER_KEY).json()["webhooks"]
    }
    assert hooks(client, "GET", headers={}).status_code == 401

    address = f"warga-{uuid.uuid4().hex[:8]}@example.id"
    feedback_id = client.submit(ROADS, contact={"name": "Siti", "email": address}).json()["id"]
    (got,) = wait_for(lambda: receiver.at(where), timeout=20, message="the webhook")
    event = Webhook(created["secret"]).verify(got.body, got.headers)  # raises if unsigned
    assert event["specversion"] == "1.0" and event["subject"] == feedback_id
    assert event["type"].endswith("feedback.received")
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert address not in got.body.decode() and "Siti" not in got.body.decode()
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)
    # the delivery log, by subscription and by feedback: no body, no secret
    day = got.headers["webhook-timestamp"]
    log = wait_for(
        lambda: [
            d
            for d in hooks(client, "GET", f"/{created['id']}/deliveries").json()["deliveries"]
            if d["status"] == "sent"
        ],
        timeout=10,
    )
    assert log[0]["_id"] == got.webhook_id and "body" not in log[0] and day
    assert got.webhook_id in {d["_id"] for d in client.deliveries(feedback_id)}


def test_a_receiver_that_fails_three_times_gets_the_event_once_more(client, receiver):
    where = path()
    receiver.fail(where, 3)
    created = subscribe(client, receiver, where)
    client.submit(ROADS)
    accepted = wait_for(lambda: receiver.delivered(where), timeout=30, message="the 4th attempt")
    (delivery_id,) = accepted
    attempts = [r for r in receiver.at(where) if r.webhook_id == delivery_id]
    assert [r.answered for r in attempts] == [503, 503, 503, 200]
    for attempt in attempts:  # every attempt is signed; the id stays, the timestamp moves on
        Webhook(created["secret"]).verify(attempt.body, attempt.headers)
    logged = wait_for(
        lambda: [
            d
            for d in hooks(client, "GET", f"/{created['id']}/deliveries").json()["deliveries"]
            if d["status"] == "sent"
        ],
        timeout=10,
    )
    assert logged[0]["attempts"] == 4
    # and never again: a later delivery to the same receiver arrives alone
    client.submit(ROADS)
    wait_for(lambda: len(receiver.delivered(where)) == 2, timeout=30)
    assert len([r for r in receiver.at(where) if r.webhook_id == delivery_id]) == 4


def test_a_receiver_that_never_succeeds_ends_in_the_dead_letter_queue(client, receiver):
    where = path()
    receiver.fail(where, 10**6)
    created = subscribe(client, receiver, where)
    failed = client.subscribe("notification.events", "notification.failed")
    try:
        feedback_id = client.submit(ROADS).json()["id"]
        # 1 attempt + one per wait of SUARA_WEBHOOK_RETRY_SCHEDULE_S (4 in the e2e platform)
        wait_for(lambda: len(receiver.at(where)) >= 5, timeout=40, message="five attempts")
        (event,) = wait_for(lambda: failed.of("notification.failed", feedback_id), timeout=20)
    finally:
        failed.close()
    assert event["data"]["channel"] == "webhook" and event["data"]["attempts"] == 5
    assert event["data"]["webhook_id"] == created["id"]
    assert "503" in event["data"]["reason"]
    dead = wait_for(
        lambda: [
            (headers, body)
            for headers, body in client.drain(DEAD)
            if json.loads(body)["delivery_id"].startswith(created["id"])
        ],
        timeout=10,
    )
    assert "503" in dead[0][0]["x-suara-reason"]
    assert len(receiver.at(where)) == 5  # and nothing after it
    summary = wait_for(
        lambda: (s := client.summary())["notifications"]["failed"].get("webhook") and s,
        timeout=20,
    )
    assert summary["notifications"]["failed"]["webhook"] >= 1


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://localhost:18098/hook", "loopback"),  # not the allow-listed 127.0.0.1:18098
        ("http://[::1]:18098/hook", "loopback"),
        ("http://192.168.1.10:8080/hook", "private"),
        ("ftp://example.org/hook", "http"),
        ("http://user:pw@example.org/hook", "credentials"),
    ],
)
def test_internal_targets_are_refused(client, url, why):
    r = hooks(client, "POST", body={"url": url, "event_types": ["feedback.received"]})
    assert r.status_code == 400, r.text
    assert why in " ".join(r.json()["fields"]["url"])


def test_a_subscription_is_validated(client, receiver):
    r = hooks(client, "POST", body={"url": receiver.url("/x"), "event_types": ["feedback.x"]})
    assert r.status_code == 400 and "event_types" in r.json()["fields"]
    r = hooks(
        client,
        "POST",
        body={
            "url": receiver.url("/x"),
            "event_types": ["feedback.received"],
            "filters": {"kecamatan": "Atlantis"},
        },
    )
    assert r.status_code == 400 and "filters" in r.json()["fields"]
    r = hooks(client, "POST", body={"event_types": ["feedback.received"]})
    assert r.status_code == 400 and "url" in r.json()["fields"]


def test_a_category_filter_and_a_rotation_and_a_deletion(client, receiver):
    where = path()
    created = subscribe(
        client,
        receiver,
        where,
        event_types=["feedback.categorized"],
        filters={"category": "roads"},
    )
    roads = client.submit(ROADS).json()["id"]
    client.submit("Sampah menumpuk di TPS Jl. Hayam Wuruk sudah seminggu belum diangkut, bau")
    (first,) = wait_for(lambda: list(receiver.delivered(where).values()), timeout=30)
    assert first.event["subject"] == roads and first.event["data"]["category"] == "roads"

    rotated = hooks(client, "POST", f"/{created['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != created["secret"] and rotated.json()["previous_secret_valid_until"]
    again = client.submit(ROADS).json()["id"]
    got = wait_for(
        lambda: [r for r in receiver.delivered(where).values() if r.event["subject"] == again],
        timeout=30,
    )
    # signed with both while the old secret lasts: receivers on either verify
    Webhook(new).verify(got[0].body, got[0].headers)
    Webhook(created["secret"]).verify(got[0].body, got[0].headers)
    assert len(got[0].headers["webhook-signature"].split(" ")) == 2

    assert hooks(client, "DELETE", f"/{created['id']}", headers=OTHER_KEY).status_code == 404
    assert hooks(client, "DELETE", f"/{created['id']}").status_code == 204
    assert hooks(client, "GET", f"/{created['id']}").status_code == 404
    before = len(receiver.at(where))
    later = client.submit(ROADS).json()["id"]
    client.wait_status(later)
    wait_for(
        lambda: any(d["kind"] == "categorized.r1" for d in client.deliveries(later)), timeout=20
    )
    assert len(receiver.at(where)) == before
