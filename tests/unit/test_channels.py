"""WhatsApp and SMS webhooks' pure parts: signatures, payloads, status questions."""

import hashlib
import hmac

import pytest

from services.intake import channels
from tests.support.payloads import whatsapp_body

SECRET = "app-secret"


def whatsapp_payload(*messages, contacts=None) -> bytes:
    contacts = contacts or [{"profile": {"name": "Budi"}, "wa_id": "6281211112222"}]
    return whatsapp_body(list(messages), contacts)


def text(body: str, message_id="wamid.HBgLNjI4MTIxMTExMjIyMhUCABIYFDNBMDI=") -> dict:
    return {
        "from": "6281211112222",
        "id": message_id,
        "timestamp": "1764650000",
        "type": "text",
        "text": {"body": body},
    }


def test_a_signed_text_and_image_become_messages_and_receipts_are_left_out():
    image = {
        "from": "6281211112222",
        "id": "wamid.IMG",
        "type": "image",
        "image": {
            "caption": "Sampah di Klego",
            "mime_type": "image/jpeg",
            "id": "1479537139650973",
        },
    }
    sticker = {"from": "6281211112222", "id": "wamid.S", "type": "sticker", "sticker": {}}
    body = whatsapp_payload(text("Jalan rusak di Kauman"), image, sticker)
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    channels.check_whatsapp_signature(body, signature, SECRET)
    first, second = channels.whatsapp_messages(body)
    assert (first.channel, first.sender, first.name, first.text) == (
        "whatsapp",
        "6281211112222",
        "Budi",
        "Jalan rusak di Kauman",
    )
    assert second.media_ids == ("1479537139650973",) and second.text == "Sampah di Klego"


@pytest.mark.parametrize("header", [None, "", "sha256=00", "sha1=abc", "sha256=" + "0" * 64])
def test_a_wrong_or_missing_signature_is_refused(header):
    with pytest.raises(channels.SignatureInvalid):
        channels.check_whatsapp_signature(whatsapp_payload(text("x y z")), header, SECRET)


def test_the_verification_handshake_echoes_the_challenge_for_the_right_token_only():
    args = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert channels.whatsapp_handshake(args, "vt") == "1158201444"
    assert channels.whatsapp_handshake({**args, "hub.verify_token": "no"}, "vt") is None
    assert channels.whatsapp_handshake(args, "") is None
    assert channels.whatsapp_handshake({**args, "hub.challenge": "<script>"}, "vt") is None


@pytest.mark.parametrize(
    ("text_", "asked"),
    [
        ("STATUS SU-0123456789", "SU-0123456789"),
        ("cek su-0123456789 ya", "SU-0123456789"),
        ("CEK: SU-0123456789", "SU-0123456789"),
        ("status jalan rusak di SU-0123456789", None),
        ("Jalan rusak", None),
    ],
)
def test_status_questions_are_told_from_reports(text_, asked):
    (message,) = channels.whatsapp_messages(whatsapp_payload(text(text_)))
    assert message.asks_status_of == asked


def test_twilio_signatures_follow_twilios_documented_example():
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert channels.twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    with pytest.raises(channels.SignatureInvalid):
        channels.check_twilio_signature(
            url, {**params, "Digits": "0"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345"
        )


def test_an_sms_needs_its_id_sender_and_body():
    message = channels.sms_message(
        {"MessageSid": "SM" + "a" * 32, "From": "+6281211112222", "Body": "Lampu mati"}
    )
    assert (message.channel, message.sender) == ("sms", "+6281211112222")
    for broken in ({"From": "+62812", "Body": "x"}, {"MessageSid": "SM" + "a" * 32, "Body": "x"}):
        with pytest.raises(channels.PayloadInvalid):
            channels.sms_message(broken)


def test_payloads_that_are_not_whatsapps_are_refused():
    for body in (b"[]", b'{"object": "page"}', b"not json"):
        with pytest.raises(channels.PayloadInvalid):
            channels.whatsapp_messages(body)
