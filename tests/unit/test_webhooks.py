"""Integrator webhooks, the decisions (services/notification/webhooks.py): what a subscription
may be, which events it gets, which addresses it may reach, how a delivery is signed (checked
with the Standard Webhooks reference library, as a receiver would), when it is tried again and
when a failing endpoint is switched off."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notification import webhooks
from shared import events

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.org/suara"
OK = {"url": URL, "event_types": ["feedback.received"]}
BODY = json.dumps(
    {
        "specversion": "1.0",
        "id": "ev-1",
        "type": "id.go.pekalongankota.suara.feedback.status_changed",
        "data": {"feedback_id": "SRA-7K2Q", "status": "in_progress"},
    }
)


def load(**overrides) -> dict:
    return webhooks.Subscription().load({**OK, **overrides})


def errors(**overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        load(**overrides)
    return caught.value.messages


def subscription(**overrides) -> dict:
    sub = {
        "_id": "wh_1",
        "url": URL,
        "event_types": ["feedback.categorized", "feedback.status_changed"],
        "filters": {},
        "description": "Dashboard kecamatan",
        "owner": "integrator-1",
        "active": True,
        "secret": webhooks.new_secret(),
        "created_at": NOW - timedelta(days=10),
    }
    return {**sub, **overrides}


# ---------------------------------------------------------------- the event types


def test_the_offered_event_types_are_the_public_case_lifecycle():
    assert webhooks.EVENT_TYPES == (
        "feedback.received",
        "feedback.categorized",
        "feedback.urgent",
        "feedback.status_changed",
        "feedback.reassigned",
        "feedback.rated",
        "feedback.overdue",
    )


def test_every_offered_type_is_a_published_event_that_notification_consumes():
    consumed = {s.type for s in events.EVENTS.values() if "notification" in s.consumers}
    published_by_notification = {
        s.type for s in events.EVENTS.values() if s.service == "notification"
    }

    assert set(webhooks.EVENT_TYPES) <= consumed
    assert not set(webhooks.EVENT_TYPES) & published_by_notification  # would feed itself
    assert "feedback.status_requested" not in webhooks.EVENT_TYPES  # a private question


# ---------------------------------------------------------------- the subscription


def test_a_minimal_subscription_gets_its_defaults():
    assert load() == {
        "url": URL,
        "event_types": ["feedback.received"],
        "filters": {},
        "description": None,
        "owner_email": None,
    }


def test_a_full_subscription_loads_and_unknown_fields_are_dropped():
    loaded = load(
        event_types=list(webhooks.EVENT_TYPES),
        filters={"category": "roads", "kecamatan": "Pekalongan Barat", "ward": "x"},
        description="d" * 200,
        owner_email="ops@integrator.example.org",
        secret="whsec_chosen-by-the-caller",
        active=False,
    )

    assert loaded == {
        "url": URL,
        "event_types": list(webhooks.EVENT_TYPES),
        "filters": {"category": "roads", "kecamatan": "Pekalongan Barat"},
        "description": "d" * 200,
        "owner_email": "ops@integrator.example.org",
    }


def test_url_and_event_types_are_required():
    with pytest.raises(ValidationError) as caught:
        webhooks.Subscription().load({})

    assert caught.value.messages == {
        "url": ["Missing data for required field."],
        "event_types": ["Missing data for required field."],
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.org/x", "must be an http:// or https:// URL"),
        ("javascript:alert(1)", "must be an http:// or https:// URL"),
        ("https:///only/a/path", "has no host"),
        ("https://user:pw@hooks.example.org/", "must not carry credentials"),
        ("https://token@hooks.example.org/", "must not carry credentials"),
        ("https://hooks.example.org/#top", "must not have a fragment"),
        ("https://hooks.example.org/a b", "must not contain spaces"),
        ("https://hooks.example.org/\n", "must not contain spaces"),
        ("https://hooks.example.org:99999/", "not a URL"),
        ("https://[::1/", "not a URL"),
        ("http://", "Length must be between 8 and 2000."),
        ("https://h.example.org/" + "a" * 2000, "Length must be between 8 and 2000."),
    ],
)
def test_a_bad_url_is_a_field_error(url, message):
    (found,) = errors(url=url)["url"]

    assert found.startswith(message)


def test_a_url_of_the_longest_length_is_taken():
    url = "https://h.example.org/" + "a" * (webhooks.MAX_URL - len("https://h.example.org/"))

    assert load(url=url)["url"] == url


@pytest.mark.parametrize(
    ("event_types", "expected"),
    [
        ([], ["Length must be between 1 and 7."]),
        ("feedback.received", ["Not a valid list."]),
        (["feedback.received", "feedback.received"], ["listed more than once"]),
        (list(webhooks.EVENT_TYPES) + ["feedback.rated"], ["Length must be between 1 and 7."]),
    ],
)
def test_bad_event_types_are_a_field_error(event_types, expected):
    assert errors(event_types=event_types) == {"event_types": expected}


@pytest.mark.parametrize("unknown", ["notification.sent", "feedback.status_requested", "x"])
def test_an_event_type_not_offered_is_an_error_at_its_position(unknown):
    found = errors(event_types=["feedback.rated", unknown])["event_types"]

    assert list(found) == [1]
    assert found[1][0].startswith("Must be one of: feedback.received,")


@pytest.mark.parametrize(
    ("filters", "field"),
    [({"category": "potholes"}, "category"), ({"kecamatan": "Menteng"}, "kecamatan")],
)
def test_a_filter_on_an_unknown_value_is_an_error(filters, field):
    found = errors(filters=filters)

    assert list(found) == ["filters"]
    assert list(found["filters"]) == [field]
    assert found["filters"][field][0].startswith("Must be one of:")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"owner_email": "not-an-address"}, "owner_email", "Not a valid email address."),
        ({"description": "d" * 201}, "description", "Longer than maximum length 200."),
    ],
)
def test_description_and_owner_email_are_checked(overrides, field, message):
    assert errors(**overrides) == {field: [message]}


# ---------------------------------------------------------------- target


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.org/x", ("https", "hooks.example.org", 443)),
        ("http://hooks.example.org/x", ("http", "hooks.example.org", 80)),
        ("HTTPS://Hooks.Example.ORG:8443/x?y=1", ("https", "hooks.example.org", 8443)),
        ("http://203.0.113.7:8080", ("http", "203.0.113.7", 8080)),
        ("https://[2001:DB8::1]:9443/in", ("https", "2001:db8::1", 9443)),
    ],
)
def test_target_is_scheme_host_and_port(url, expected):
    assert webhooks.target(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://hooks.example.org/",
        "hooks.example.org/x",
        "https://a:b@hooks.example.org/",
        "https://hooks.example.org/#f",
        "https://hooks.example.org/\tx",
        "https://hooks.example.org:port/",
    ],
)
def test_target_refuses_what_is_not_a_plain_http_url(url):
    with pytest.raises(ValueError):
        webhooks.target(url)


# ---------------------------------------------------------------- which addresses


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is loopback"),
        ("127.45.6.7", "127.45.6.7 is loopback"),
        ("::1", "::1 is loopback"),
        ("10.1.2.3", "10.1.2.3 is private"),
        ("172.16.0.1", "172.16.0.1 is private"),
        ("192.168.1.1", "192.168.1.1 is private"),
        ("fd00::1", "fd00::1 is private"),
        ("169.254.169.254", "169.254.169.254 is link-local (cloud metadata)"),
        ("169.254.1.1", "169.254.1.1 is link-local (cloud metadata)"),
        ("fe80::1", "fe80::1 is link-local (cloud metadata)"),
        ("fe80::1%eth0", "fe80::1 is link-local (cloud metadata)"),
        ("100.64.0.1", "100.64.0.1 is not globally routable"),
        ("100.127.255.254", "100.127.255.254 is not globally routable"),
        ("224.0.0.1", "224.0.0.1 is multicast"),
        ("ff02::1", "ff02::1 is multicast"),
        ("::ffff:127.0.0.1", "127.0.0.1 is loopback"),
        ("::ffff:169.254.169.254", "169.254.169.254 is link-local (cloud metadata)"),
        ("::ffff:10.0.0.1", "10.0.0.1 is private"),
        ("::ffff:100.64.0.1", "100.64.0.1 is not globally routable"),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe is reserved"),
    ],
)
def test_an_address_not_globally_routable_is_refused_with_its_reason(address, reason):
    assert webhooks.refused_address(address) == reason


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "240.0.0.1", "255.255.255.255"])
def test_unspecified_and_reserved_addresses_are_refused(address):
    # Python's ipaddress counts these as private too, so that label comes first
    assert webhooks.refused_address(address) == f"{address} is private"


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "36.86.63.182"]
)
def test_a_global_address_is_not_refused(address):
    assert webhooks.refused_address(address) is None


@pytest.mark.parametrize("address", ["localhost", "hooks.example.org", "", "127.1", "2130706433"])
def test_what_is_not_an_ip_address_is_refused(address):
    assert webhooks.refused_address(address) == f"{address!r} is not an IP address"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8080, True),
        ("receiver.internal", 443, True),
        ("Receiver.Internal", 443, True),
        ("[::1]", 9000, True),
        ("::1", 9000, True),
        ("127.0.0.1", 8081, False),  # the port is part of the entry
        ("receiver.internal", 80, False),
        ("10.0.0.5", 8080, False),
    ],
)
def test_allow_listed_is_host_and_port(host, port, expected):
    allowed = frozenset({"127.0.0.1:8080", "receiver.internal:443", "::1:9000"})

    assert webhooks.allow_listed(host, port, allowed) is expected


def test_nothing_is_allow_listed_by_default():
    assert not webhooks.allow_listed("127.0.0.1", 80, frozenset())


# ---------------------------------------------------------------- retries and switching off

SCHEDULE = (5.0, 300.0, 1800.0)


@pytest.mark.parametrize(
    ("failed", "wait"), [(1, 5.0), (2, 300.0), (3, 1800.0), (4, None), (50, None)]
)
def test_the_wait_follows_the_schedule_and_then_gives_up(failed, wait):
    assert webhooks.retry_wait(failed, SCHEDULE) == wait


@pytest.mark.parametrize("failed", [0, -1])
def test_no_wait_before_any_failure(failed):
    assert webhooks.retry_wait(failed, SCHEDULE) is None


def test_an_empty_schedule_never_retries():
    assert webhooks.retry_wait(1, ()) is None


FIVE_DAYS = 5 * 24 * 3600.0


@pytest.mark.parametrize(
    ("failing_since", "expected"),
    [
        (None, False),
        (NOW, False),
        (NOW - timedelta(days=5) + timedelta(seconds=1), False),
        (NOW - timedelta(days=5), True),
        (NOW - timedelta(days=9), True),
    ],
    ids=["never-failed", "just-now", "a-second-short", "exactly-five-days", "longer"],
)
def test_an_endpoint_is_switched_off_after_failing_long_enough(failing_since, expected):
    assert webhooks.should_disable(failing_since, NOW, FIVE_DAYS) is expected


# ---------------------------------------------------------------- secrets


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64():
    secret = webhooks.new_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert Webhook(secret)  # the receivers' library takes it as it is


def test_new_secrets_differ():
    assert len({webhooks.new_secret() for _ in range(50)}) == 50


def test_without_a_rotation_only_the_current_secret_signs():
    assert webhooks.signing_secrets({"secret": "whsec_new"}, NOW) == ["whsec_new"]


def rotated(until: datetime | None, previous: str | None = "whsec_old") -> dict:
    return {"secret": "whsec_new", "previous_secret": previous, "previous_until": until}


def test_within_the_overlap_the_previous_secret_signs_too():
    until = NOW + webhooks.ROTATION_OVERLAP

    assert webhooks.ROTATION_OVERLAP == timedelta(hours=24)
    assert webhooks.signing_secrets(rotated(until), NOW) == ["whsec_new", "whsec_old"]
    assert webhooks.signing_secrets(rotated(until), until - timedelta(seconds=1)) == [
        "whsec_new",
        "whsec_old",
    ]


@pytest.mark.parametrize(
    "sub",
    [rotated(NOW), rotated(NOW - timedelta(seconds=1)), rotated(None), rotated(NOW, None)],
    ids=["at-the-end", "after-the-end", "no-end", "no-previous"],
)
def test_after_the_overlap_only_the_current_secret_signs(sub):
    assert webhooks.signing_secrets(sub, NOW) == ["whsec_new"]


# ---------------------------------------------------------------- signed headers


def test_the_headers_are_the_standard_webhooks_ones():
    now = datetime.now(UTC)
    signed = webhooks.headers("wh_1.ev-1", BODY, [webhooks.new_secret()], now)

    assert set(signed) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "user-agent",
    }
    assert signed["webhook-id"] == "wh_1.ev-1"
    assert signed["webhook-timestamp"] == str(int(now.timestamp()))
    assert signed["content-type"] == "application/cloudevents+json"
    assert signed["user-agent"] == "Suara-Webhooks/1"
    (signature,) = signed["webhook-signature"].split(" ")
    version, mac = signature.split(",")
    assert version == "v1"
    assert len(base64.b64decode(mac, validate=True)) == 32  # HMAC-SHA256


def test_a_receiver_verifies_the_signature_with_the_secret():
    secret = webhooks.new_secret()
    signed = webhooks.headers("wh_1.ev-1", BODY, [secret], datetime.now(UTC))

    assert Webhook(secret).verify(BODY, signed) == json.loads(BODY)
    assert Webhook(secret).verify(BODY.encode(), signed) == json.loads(BODY)


def test_a_wrong_secret_does_not_verify():
    signed = webhooks.headers("wh_1.ev-1", BODY, [webhooks.new_secret()], datetime.now(UTC))

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(webhooks.new_secret()).verify(BODY, signed)


@pytest.mark.parametrize(
    ("body", "header", "value"),
    [
        (BODY.replace("in_progress", "resolved"), None, None),
        (BODY + " ", None, None),
        (BODY, "webhook-id", "wh_1.ev-2"),
        (BODY, "webhook-timestamp", "{ts_minus_1}"),
    ],
    ids=["changed-body", "extra-byte", "other-id", "other-timestamp"],
)
def test_a_changed_body_id_or_timestamp_does_not_verify(body, header, value):
    secret = webhooks.new_secret()
    now = datetime.now(UTC)
    signed = webhooks.headers("wh_1.ev-1", BODY, [secret], now)
    if header:
        signed[header] = value.format(ts_minus_1=int(now.timestamp()) - 1)

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(body, signed)


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    old, new = webhooks.new_secret(), webhooks.new_secret()
    now = datetime.now(UTC)
    sub = {"secret": new, "previous_secret": old, "previous_until": now + timedelta(hours=23)}
    signed = webhooks.headers("wh_1.ev-1", BODY, webhooks.signing_secrets(sub, now), now)

    assert len(signed["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, signed) == json.loads(BODY)
    assert Webhook(old).verify(BODY, signed) == json.loads(BODY)


def test_after_the_rotation_the_old_secret_no_longer_verifies():
    old, new = webhooks.new_secret(), webhooks.new_secret()
    now = datetime.now(UTC)
    sub = {"secret": new, "previous_secret": old, "previous_until": now - timedelta(minutes=1)}
    signed = webhooks.headers("wh_1.ev-1", BODY, webhooks.signing_secrets(sub, now), now)

    assert Webhook(new).verify(BODY, signed) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, signed)


def test_an_old_attempt_is_refused_by_the_receiver():
    secret = webhooks.new_secret()
    signed = webhooks.headers("wh_1.ev-1", BODY, [secret], datetime.now(UTC) - timedelta(hours=1))

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, signed)


def test_a_time_in_another_zone_signs_the_same_instant():
    secret = webhooks.new_secret()
    wib = datetime.now(UTC).astimezone(timezone(timedelta(hours=7)))
    signed = webhooks.headers("wh_1.ev-1", BODY, [secret], wib)

    assert Webhook(secret).verify(BODY, signed) == json.loads(BODY)


# ---------------------------------------------------------------- which events go where

CASE = {"category": "roads", "kecamatan": "Pekalongan Barat"}


@pytest.mark.parametrize(
    ("overrides", "event_type", "case", "expected"),
    [
        ({}, "feedback.categorized", CASE, True),
        ({}, "feedback.rated", CASE, False),  # not subscribed to
        ({"active": False}, "feedback.categorized", CASE, False),
        ({"filters": {"category": "roads"}}, "feedback.status_changed", CASE, True),
        ({"filters": {"category": "flooding"}}, "feedback.status_changed", CASE, False),
        ({"filters": {"kecamatan": "Pekalongan Barat"}}, "feedback.categorized", CASE, True),
        ({"filters": {"kecamatan": "Pekalongan Utara"}}, "feedback.categorized", CASE, False),
        ({"filters": CASE}, "feedback.categorized", CASE, True),
        (
            {"filters": {**CASE, "kecamatan": "Pekalongan Timur"}},
            "feedback.categorized",
            CASE,
            False,
        ),
        ({"filters": {"category": "roads"}}, "feedback.categorized", {}, False),
        ({"filters": {"category": "roads"}}, "feedback.categorized", {"category": None}, False),
        ({}, "feedback.categorized", {}, True),  # no filter: every case
    ],
    ids=[
        "subscribed",
        "other-type",
        "inactive",
        "category-matches",
        "category-differs",
        "kecamatan-matches",
        "kecamatan-differs",
        "both-match",
        "one-of-two-differs",
        "category-unknown-yet",
        "category-none",
        "no-filter-no-case",
    ],
)
def test_matches(overrides, event_type, case, expected):
    assert webhooks.matches(subscription(**overrides), event_type, case) is expected


def test_a_category_filter_never_matches_a_received_feedback():
    sub = subscription(event_types=["feedback.received"], filters={"category": "roads"})

    assert not webhooks.matches(sub, "feedback.received", {"kecamatan": "Pekalongan Barat"})
    assert webhooks.matches({**sub, "filters": {}}, "feedback.received", {})


def test_a_subscription_without_active_gets_nothing():
    sub = subscription()
    del sub["active"]

    assert not webhooks.matches(sub, "feedback.categorized", CASE)


# ---------------------------------------------------------------- ids and what the owner sees


def test_the_delivery_id_is_the_same_for_a_subscription_and_event():
    assert webhooks.delivery_id("wh_1", "ev-1") == "wh_1.ev-1"
    assert webhooks.delivery_id("wh_1", "ev-1") == webhooks.delivery_id("wh_1", "ev-1")
    assert webhooks.delivery_id("wh_1", "ev-2") != webhooks.delivery_id("wh_2", "ev-1")


def test_public_shows_the_subscription_without_its_secrets():
    sub = subscription(
        previous_secret=webhooks.new_secret(),
        previous_until=NOW + timedelta(hours=24),
        rotated_at=NOW,
        failing_since=datetime(2026, 3, 1, 7, 30, 15, 123456, tzinfo=UTC),
        disabled_reason=None,
        owner_email="ops@integrator.example.org",
    )

    shown = webhooks.public(sub)

    assert shown == {
        "id": "wh_1",
        "url": URL,
        "event_types": ["feedback.categorized", "feedback.status_changed"],
        "filters": {},
        "description": "Dashboard kecamatan",
        "owner": "integrator-1",
        "active": True,
        "disabled_reason": None,
        "failing_since": "2026-03-01T07:30:15Z",
        "created_at": "2026-02-20T09:00:00Z",
        "rotated_at": "2026-03-02T09:00:00Z",
    }
    text = json.dumps(shown)
    assert sub["secret"] not in text
    assert sub["previous_secret"] not in text
    assert "whsec_" not in text


def test_public_of_a_new_subscription_has_no_times_but_its_creation():
    sub = subscription()

    shown = webhooks.public(sub)

    assert shown["failing_since"] is None
    assert shown["rotated_at"] is None
    assert shown["disabled_reason"] is None
    assert "secret" not in shown


def test_iso_is_utc_in_seconds():
    assert webhooks.iso(datetime(2026, 3, 2, 9, 0, 1, 999999, tzinfo=UTC)) == (
        "2026-03-02T09:00:01Z"
    )
    assert webhooks.iso(None) is None


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("2002:7f00:1::", "127.0.0.1 is loopback"),  # 6to4 wrapping loopback
        ("2002:a9fe:a9fe::", "169.254.169.254 is link-local (cloud metadata)"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_tunnelled_ipv4_addresses_are_judged_as_what_they_wrap(address, says):
    assert says in webhooks.refused_address(address)
