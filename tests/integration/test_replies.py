"""WhatsApp and SMS replies (services/notification/replies.py) against a recording stand-in
for the Cloud API and Twilio's Messages API (tests/support/provider_apis.py), over real HTTP."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta

import pytest

from services.notification import replies
from services.notification.outbound import Unavailable
from services.notification.replies import Reply
from tests.support import provider_apis as apis
from tests.support.provider_apis import ProviderApis

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WA_TO = "6281234567890"
SMS_TO = "+6281234567890"
REPLY = Reply(
    text="Laporan SRA-7K2Q sedang ditangani oleh Dinas PUPR.",
    template="",
    template_params=("SRA-7K2Q", "sedang ditangani"),
    language="en",
)


@pytest.fixture
def server():
    with ProviderApis() as running:
        yield running


def providers(url: str, **sms) -> dict:
    return {
        "whatsapp": {
            "graph_url": url,
            "token": apis.WHATSAPP_TOKEN,
            "phone_number_id": apis.PHONE_NUMBER_ID,
            "template": "suara_update",
        },
        "sms": {
            "url": url,
            "account_sid": apis.ACCOUNT_SID,
            "auth_token": apis.AUTH_TOKEN,
            "from": "+15005550006",
            "messaging_service_sid": "",
            **sms,
        },
    }


def send(server, channel, *, last_inbound_at=None, timeout_s=5.0, config=None, **sms):
    to = WA_TO if channel == "whatsapp" else SMS_TO
    return replies.send_reply(
        config or providers(server.url, **sms),
        channel,
        to,
        REPLY,
        last_inbound_at=last_inbound_at,
        now=NOW,
        key="fb1.status.citizen",
        timeout_s=timeout_s,
    )


def test_whatsapp_inside_the_window_sends_the_text(server):
    message_id = send(server, "whatsapp", last_inbound_at=NOW - timedelta(hours=2))

    (request,) = server.wait_for(1)
    assert request.path == f"/{apis.PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {apis.WHATSAPP_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_TO,
        "type": "text",
        "text": {"preview_url": False, "body": REPLY.text},
    }
    assert message_id.startswith("wamid.")


def test_whatsapp_outside_the_window_sends_the_configured_template(server):
    message_id = send(server, "whatsapp", last_inbound_at=NOW - timedelta(days=2))

    (request,) = server.wait_for(1)
    assert request.body["type"] == "template"
    assert request.body["template"] == {
        "name": "suara_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "SRA-7K2Q"},
                    {"type": "text", "text": "sedang ditangani"},
                ],
            }
        ],
    }
    assert message_id.startswith("wamid.")


def test_sms_is_posted_as_a_form_with_basic_auth(server):
    sid = send(server, "sms")

    (request,) = server.wait_for(1)
    assert request.path == f"/2010-04-01/Accounts/{apis.ACCOUNT_SID}/Messages.json"
    login = base64.b64encode(f"{apis.ACCOUNT_SID}:{apis.AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {login}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body == {"To": SMS_TO, "From": "+15005550006", "Body": REPLY.text}
    assert request.answered == 201
    assert sid.startswith("SM") and len(sid) == 34


def test_sms_through_a_messaging_service(server):
    send(server, "sms", messaging_service_sid="MG" + "1" * 32)

    (request,) = server.wait_for(1)
    assert request.body == {
        "To": SMS_TO,
        "MessagingServiceSid": "MG" + "1" * 32,
        "Body": REPLY.text,
    }


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_rate_limit_is_unavailable_and_the_next_try_goes_through(
    server, channel, status
):
    server.fail_next(1, status)
    with pytest.raises(Unavailable, match=str(status)):
        send(server, channel)

    assert send(server, channel)
    assert [r.answered for r in server.wait_for(2)] == [
        status,
        200 if channel == "whatsapp" else 201,
    ]


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_a_client_error_is_rejected_with_the_providers_code_but_never_the_number(
    server, channel, caplog
):
    server.fail_next(1, 400)
    with caplog.at_level(logging.INFO), pytest.raises(replies.Rejected) as rejected:
        send(server, channel)

    assert "400" in str(rejected.value)
    assert "(error 131026)" in str(rejected.value) or "(error 21211)" in str(rejected.value)
    for said in (str(rejected.value), caplog.text):
        assert "81234567890" not in said
        assert REPLY.text not in said
    assert "fb1.status.citizen" in caplog.text


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_wrong_credentials_are_rejected(server, channel):
    config = providers(server.url)
    config["whatsapp"]["token"] = "wrong"
    config["sms"]["auth_token"] = "wrong"
    with pytest.raises(replies.Rejected, match="401"):
        send(server, channel, config=config)


def test_a_redirect_is_not_followed(server):
    server.redirect_next(f"{server.url}/elsewhere")
    with pytest.raises(replies.Rejected, match="redirect"):
        send(server, "whatsapp")

    assert [r.path for r in server.wait_for(1)] == [f"/{apis.PHONE_NUMBER_ID}/messages"]
    assert server.at("/elsewhere") == []


def test_a_provider_that_does_not_answer_hits_the_time_limit(server):
    server.stall_next()
    started = datetime.now(UTC)
    with pytest.raises(Unavailable, match="(?i)timed out|timeout"):
        send(server, "sms", timeout_s=0.3)

    assert datetime.now(UTC) - started < timedelta(seconds=3)
    assert len(server.wait_for(1)) == 1


def test_a_provider_that_is_not_there_is_unavailable(server):
    url = server.url
    server.server.shutdown()
    server.server.server_close()
    with pytest.raises(Unavailable):
        send(server, "whatsapp", config=providers(url))
