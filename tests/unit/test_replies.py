"""WhatsApp and SMS replies, the decisions (services/notification/replies.py): the 24-hour
window, the template and its parameters, the language, the cut of a long text; and their
settings (shared/config.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notification import replies
from services.notification.replies import Reply
from shared import config

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TO = "6281234567890"


def reply(**overrides) -> Reply:
    fields = {
        "text": "Laporan SRA-7K2Q sedang ditangani oleh Dinas PUPR.",
        "template": "suara_update",
        "template_params": ("SRA-7K2Q", "sedang ditangani"),
        "language": "id",
    }
    return Reply(**{**fields, **overrides})


def test_inside_the_window_the_text_is_sent():
    payload = replies.whatsapp_payload(reply(), TO, NOW - timedelta(hours=23, minutes=59), NOW)

    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"preview_url": False, "body": reply().text},
    }


@pytest.mark.parametrize(
    "last_inbound_at",
    [NOW - timedelta(hours=24), NOW - timedelta(days=3), None],
    ids=["exactly-24h", "days-ago", "unknown"],
)
def test_outside_the_window_or_unknown_the_template_is_sent_with_its_parameters(last_inbound_at):
    payload = replies.whatsapp_payload(reply(), TO, last_inbound_at, NOW)

    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "suara_update",
            "language": {"code": "id"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "SRA-7K2Q"},
                        {"type": "text", "text": "sedang ditangani"},
                    ],
                }
            ],
        },
    }


def test_the_window_boundary():
    assert replies.in_window(NOW - timedelta(hours=24) + timedelta(seconds=1), NOW)
    assert not replies.in_window(NOW - timedelta(hours=24), NOW)
    assert not replies.in_window(None, NOW)


@pytest.mark.parametrize(("language", "code"), [("id", "id"), ("en", "en_US"), ("jv", "id")])
def test_the_template_language_is_the_locale_it_is_approved_in(language, code):
    payload = replies.whatsapp_payload(reply(language=language), TO, None, NOW)
    assert payload["template"]["language"] == {"code": code}


def test_template_parameters_carry_no_newlines_tabs_or_runs_of_spaces_and_are_never_empty():
    params = ("SRA-7K2Q", "Jalan\nberlubang\t di  Jl. Merdeka", "  ")
    payload = replies.whatsapp_payload(reply(template_params=params), TO, None, NOW)

    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts == ["SRA-7K2Q", "Jalan berlubang di Jl. Merdeka", "-"]


def test_a_template_without_parameters_has_no_components():
    payload = replies.whatsapp_payload(reply(template_params=()), TO, None, NOW)
    assert "components" not in payload["template"]


def test_a_long_sms_is_cut_at_a_word_with_an_ellipsis_that_keeps_it_gsm_7():
    text = "kata " * 400  # 2000 characters
    form = replies.sms_form(reply(text=text), "+6281234567890", {"from": "+15005550006"})

    body = form["Body"]
    assert len(body) <= replies.SMS_MAX
    assert body.endswith("kata...")
    assert "…" not in body
    assert form == {"To": "+6281234567890", "Body": body, "From": "+15005550006"}


def test_a_short_sms_is_left_whole():
    form = replies.sms_form(reply(), "+6281234567890", {"from": "+15005550006"})
    assert form["Body"] == reply().text


def test_a_text_without_spaces_is_cut_at_the_limit():
    assert replies.cut("x" * 2000, 1600) == "x" * 1597 + "..."
    assert replies.cut("x" * 1600, 1600) == "x" * 1600


def test_a_long_whatsapp_text_is_cut_to_the_cloud_apis_limit():
    payload = replies.whatsapp_payload(reply(text="a " * 3000), TO, NOW, NOW)
    assert len(payload["text"]["body"]) <= replies.WHATSAPP_TEXT_MAX


def test_a_messaging_service_is_used_instead_of_a_number_when_configured():
    sms = {"from": "+15005550006", "messaging_service_sid": "MG" + "1" * 32}
    form = replies.sms_form(reply(), "+6281234567890", sms)
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form


@pytest.mark.parametrize(
    ("channel", "providers"),
    [
        ("whatsapp", {"whatsapp": None, "sms": None}),
        ("sms", {"whatsapp": None, "sms": None}),
        ("telegram", {"whatsapp": None, "sms": None}),
    ],
)
def test_a_channel_unknown_or_not_configured_is_rejected_without_a_call(channel, providers):
    with pytest.raises(replies.Rejected):
        replies.send_reply(providers, channel, TO, reply(), last_inbound_at=None, now=NOW, key="d1")


# the settings


def test_replies_are_off_by_default():
    assert config.load("notification", {})["PROVIDERS"] == {"whatsapp": None, "sms": None}


def test_reply_settings_become_the_providers():
    env = {
        "SUARA_WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "SUARA_WHATSAPP_TOKEN": "t",
        "SUARA_WHATSAPP_GRAPH_URL": "http://127.0.0.1:9/v21.0/",
        "SUARA_TWILIO_ACCOUNT_SID": "AC123",
        "SUARA_TWILIO_AUTH_TOKEN": "a",
        "SUARA_SMS_API_URL": "http://127.0.0.1:9",
        "SUARA_SMS_MESSAGING_SERVICE_SID": "MG1",
    }
    assert config.load("notification", env)["PROVIDERS"] == {
        "whatsapp": {
            "graph_url": "http://127.0.0.1:9/v21.0",
            "token": "t",
            "phone_number_id": "106540352242922",
            "template": "suara_update",
        },
        "sms": {
            "url": "http://127.0.0.1:9",
            "account_sid": "AC123",
            "auth_token": "a",
            "from": "",
            "messaging_service_sid": "MG1",
        },
    }


def test_the_sms_api_defaults_to_twilio():
    env = {
        "SUARA_TWILIO_ACCOUNT_SID": "AC123",
        "SUARA_TWILIO_AUTH_TOKEN": "a",
        "SUARA_SMS_FROM": "+15005550006",
    }
    assert config.load("notification", env)["PROVIDERS"]["sms"]["url"] == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUARA_WHATSAPP_PHONE_NUMBER_ID": "1"}, "needs SUARA_WHATSAPP_TOKEN"),
        (
            {"SUARA_WHATSAPP_PHONE_NUMBER_ID": "+62 812", "SUARA_WHATSAPP_TOKEN": "t"},
            "numeric id",
        ),
        (
            {
                "SUARA_WHATSAPP_PHONE_NUMBER_ID": "1",
                "SUARA_WHATSAPP_TOKEN": "t",
                "SUARA_WHATSAPP_TEMPLATE": "Suara Update",
            },
            "SUARA_WHATSAPP_TEMPLATE",
        ),
        ({"SUARA_TWILIO_ACCOUNT_SID": "AC1", "SUARA_SMS_FROM": "+1"}, "SUARA_TWILIO_AUTH_TOKEN"),
        ({"SUARA_TWILIO_ACCOUNT_SID": "AC1", "SUARA_TWILIO_AUTH_TOKEN": "a"}, "SUARA_SMS_FROM"),
        (
            {
                "SUARA_TWILIO_ACCOUNT_SID": "AC1",
                "SUARA_TWILIO_AUTH_TOKEN": "a",
                "SUARA_SMS_FROM": "+1",
                "SUARA_SMS_API_URL": "api.twilio.com",
            },
            "SUARA_SMS_API_URL",
        ),
    ],
)
def test_a_half_configured_channel_stops_the_service(env, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load("notification", env)


def test_every_reply_setting_is_documented():
    documented = {s.name for s in config.SETTINGS}
    assert {
        "SUARA_WHATSAPP_PHONE_NUMBER_ID",
        "SUARA_WHATSAPP_TEMPLATE",
        "SUARA_SMS_API_URL",
        "SUARA_TWILIO_ACCOUNT_SID",
        "SUARA_SMS_FROM",
        "SUARA_SMS_MESSAGING_SERVICE_SID",
    } <= documented
