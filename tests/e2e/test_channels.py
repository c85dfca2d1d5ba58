"""WhatsApp and SMS (issue 11): the providers' documented webhook formats, signed as they sign
them; a repeated delivery is one feedback; STATUS SU-... is answered, not filed; photos are
fetched only from the configured hosts and kept without their EXIF."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid

from PIL import Image

from services.intake.channels import twilio_signature
from tests.e2e.conftest import TWILIO_AUTH_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN
from tests.helpers import wait_for
from tests.support import payloads
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}


def whatsapp_body(message: dict, name: str = "Budi Santoso") -> bytes:
    return payloads.whatsapp_body(
        [message], [{"profile": {"name": name}, "wa_id": message["from"]}]
    )


def text_message(body: str, sender: str = "6281211112222") -> dict:
    return {
        "from": sender,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": "1764650000",
        "type": "text",
        "text": {"body": body},
    }


def post_whatsapp(client, body: bytes, secret: str | None = WHATSAPP_APP_SECRET):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    return client.http.post(
        client.url("intake", "/webhooks/whatsapp"), data=body, headers=headers, timeout=15
    )


def post_sms(client, params: dict, token: str = TWILIO_AUTH_TOKEN):
    url = client.url("intake", "/webhooks/sms")
    headers = {"X-Twilio-Signature": twilio_signature(url, params, token)}
    return client.http.post(url, data=params, headers=headers, timeout=10)


def test_the_whatsapp_webhook_is_verified_with_the_handshake(client):
    url = client.url("intake", "/webhooks/whatsapp")
    ok = client.http.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = client.http.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403


def test_a_whatsapp_text_is_one_feedback_however_often_it_is_delivered(client):
    message = text_message("Jalan di Jl. Hayam Wuruk berlubang besar, bahaya untuk motor")
    body = whatsapp_body(message)
    unsigned = post_whatsapp(client, body, secret=None)
    forged = post_whatsapp(client, body, secret="not-the-secret")
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    first = post_whatsapp(client, body)
    assert first.status_code == 200, first.text
    ((result),) = first.json()["results"]
    feedback_id = result["id"]
    again = post_whatsapp(client, body)  # Meta delivers again when unsure
    assert again.json()["results"][0]["id"] == feedback_id
    fb = client.wait_status(feedback_id)
    assert fb["channel"] == "whatsapp"
    assert "6281211112222" not in json.dumps(fb) and "Budi" not in json.dumps(fb)
    # notification finds where the reply goes through intake's authenticated endpoint
    reply = client.http.get(client.url("intake", f"/api/v1/replies/{feedback_id}"), timeout=10)
    assert reply.status_code == 401
    reply = client.http.get(
        client.url("intake", f"/api/v1/replies/{feedback_id}"), headers=ADMIN, timeout=10
    )
    assert reply.json()["channel"] == "whatsapp" and reply.json()["address"] == "6281211112222"
    received = wait_for(
        lambda: [d for d in client.deliveries(feedback_id) if d["kind"] == "received"], timeout=20
    )
    assert received[0]["channel"] == "whatsapp"  # the reply goes back on WhatsApp


def settled_total(client) -> int:
    """Reporting's total once every feedback it counts is counted with its category too (the
    earlier tests' and this one's cases have come through)."""
    return wait_for(
        lambda: (c := client.counted())[0] == c[1] and c[0], timeout=20, message="settled"
    )


def test_status_questions_are_answered_not_filed(client):
    asked = client.submit("Sampah menumpuk di TPS Klego sudah tiga hari").json()["id"]
    client.wait_status(asked)
    before = settled_total(client)
    r = post_whatsapp(client, whatsapp_body(text_message(f"STATUS {asked}")))
    assert r.status_code == 200, r.text
    ((result),) = r.json()["results"]
    assert result["kind"] == "question" and result["id"].startswith("Q-")
    sms = post_sms(
        client,
        {"MessageSid": "SM" + uuid.uuid4().hex, "From": "+6281233334444", "Body": f"cek {asked}"},
    )
    assert sms.status_code == 200
    answers = wait_for(
        lambda: [d for d in client.deliveries(asked) if d["kind"].startswith("status_answer")],
        timeout=20,
        message="the answers to both questions",
    )
    wait_for(
        lambda: (
            len([d for d in client.deliveries(asked) if d["kind"].startswith("status_answer")]) == 2
        ),
        timeout=20,
    )
    assert answers[0]["case_status"] in ("categorized", "in_review")
    address = client.http.get(
        client.url("intake", f"/api/v1/replies/{result['id']}"), headers=ADMIN, timeout=10
    ).json()
    assert {k: address.pop(k) for k in ("channel", "address")} == {
        "channel": "whatsapp",
        "address": "6281211112222",
    }
    assert address.pop("last_inbound_at").endswith("Z")  # when they asked: WhatsApp's window
    assert address == {"unsubscribe_url": None, "email_opted_out": False}  # no e-mail here
    assert settled_total(client) == before  # no new feedback


def test_a_whatsapp_photo_is_fetched_from_the_graph_api_and_kept_without_exif(client, graph):
    media_id = f"14795{uuid.uuid4().int % 10**10}"
    message = {
        "from": "6281255556666",
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": "1764650000",
        "type": "image",
        "image": {"caption": "Genangan rob di depan SD Panjang Wetan", "id": media_id},
    }
    r = post_whatsapp(client, whatsapp_body(message))
    assert r.status_code == 200, r.text
    feedback_id = r.json()["results"][0]["id"]
    assert f"/{media_id}" in graph.requests and f"/files/{media_id}" in graph.requests
    staff = client.http.get(
        client.url("intake", f"/api/v1/feedback/{feedback_id}"), headers=ADMIN, timeout=10
    )
    assert staff.status_code == 200
    # the photo, for staff: re-encoded, without the camera's metadata
    photos = staff.json().get("photos") or []
    assert len(photos) == 1
    kept = client.http.get(client.url("intake", photos[0]), headers=ADMIN, timeout=10)
    assert kept.status_code == 200 and b"WA Camera" not in kept.content
    assert Image.open(io.BytesIO(kept.content)).size == (640, 480)

    # a media address outside the configured hosts is not fetched: the report stays
    evil = {
        **message,
        "id": f"wamid.{uuid.uuid4().hex}",
        "image": {"caption": "x y z", "id": "evil"},
    }
    r = post_whatsapp(client, whatsapp_body(evil))
    assert r.status_code == 200
    assert not any("169.254" in path for path in graph.requests)
    fid = r.json()["results"][0]["id"]
    assert (
        client.http.get(client.url("intake", f"/api/v1/feedback/{fid}"), headers=ADMIN)
        .json()
        .get("photos")
        or []
    ) == []


def test_an_sms_is_one_feedback_and_a_bad_signature_stores_nothing(client):
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+6281277778888",
        "To": "+6285700000000",
        "Body": "Lampu PJU mati di gang Melati 3, gelap dan rawan",
        "NumMedia": "0",
    }
    forged = post_sms(client, params, token="wrong-token")
    assert forged.status_code == 401
    first = post_sms(client, params)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/xml")
    again = post_sms(client, params)
    assert again.status_code == 200
    reply = wait_for(
        lambda: (
            (
                r := client.http.get(
                    client.url("intake", "/api/v1/replies/" + _sms_feedback_id(sid)), headers=ADMIN
                )
            ).status_code
            == 200
            and r.json()
        ),
        timeout=10,
    )
    assert reply["channel"] == "sms" and reply["address"] == "+6281277778888"
    fb = client.wait_status(_sms_feedback_id(sid))
    assert fb["channel"] == "sms"
    wait_for(lambda: client.summary()["by_channel"].get("sms", 0) >= 1, timeout=20)


def _sms_feedback_id(sid: str) -> str:
    from services.intake.feedback import keyed_id

    return keyed_id("sms", sid)
