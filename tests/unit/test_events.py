"""The event contracts (shared/events.py): CloudEvents 1.0 envelopes, validation, privacy."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import pytest
from marshmallow import Schema, fields

from shared import events

FID = "SU-0123456789"


def received_data(**overrides) -> dict:
    data = {
        "feedback_id": FID,
        "channel": "http",
        "source": None,
        "text": "Jalan berlubang di depan pasar, sudah 2 minggu",
        "language": "id",
        "category_hint": "roads",
        "location": {"lat": -6.89, "lon": 109.67, "kecamatan": "Pekalongan Barat"},
        "submitted_at": "2025-01-02T03:04:05.678Z",
    }
    return {**data, **overrides}


def categorized_data(**overrides) -> dict:
    data = {
        "feedback_id": FID,
        "category": "roads",
        "department": "Dinas PUPR",
        "confidence": 0.87,
        "priority": "normal",
        "method": "model",
        "model_version": "m-2025-01",
        "needs_review": False,
        "language": "id",
        "revision": 1,
        "categorized_at": "2025-01-02T03:04:06.000Z",
    }
    return {**data, **overrides}


def urgent_data(**overrides) -> dict:
    data = {
        "feedback_id": FID,
        "category": "flooding",
        "department": "BPBD",
        "reasons": ["banjir setinggi dada"],
        "flagged_at": "2025-01-02T03:04:06.000Z",
    }
    return {**data, **overrides}


VALID = {
    ("intake", "feedback.received"): received_data,
    ("categorization", "feedback.categorized"): categorized_data,
    ("categorization", "feedback.urgent"): urgent_data,
    ("intake", "feedback.status_changed"): lambda: {
        "feedback_id": FID,
        "from": "acknowledged",
        "to": "in_progress",
        "department_id": "bpbd",
        "note": "tim menuju lokasi",
        "duplicate_of": None,
        "sequence": 2,
        "changed_at": "2026-12-02T03:00:00.000Z",
        "actor": "department",
    },
    ("categorization", "feedback.duplicate_suspected"): lambda: {
        "feedback_id": FID,
        "similar_to": "SU-0000000001",
        "cluster_id": "SU-0000000001",
        "similarity": 0.83,
        "distance_m": 42.0,
        "kelurahan": "Panjang Wetan",
        "category": "flooding",
        "department_id": "bpbd",
        "suspected_at": "2026-12-02T03:00:00.000Z",
    },
    ("intake", "feedback.duplicate_reviewed"): lambda: {
        "feedback_id": FID,
        "similar_to": "SU-0000000001",
        "cluster_id": "SU-0000000001",
        "decision": "undone",
        "department_id": "bpbd",
        "reviewed_at": "2026-12-02T04:00:00.000Z",
    },
    ("intake", "feedback.reassigned"): lambda: {
        "feedback_id": FID,
        "from_department_id": "dinas-pupr",
        "department_id": "bpbd",
        "department": "BPBD",
        "reason": "genangan rob, bukan kerusakan jalan",
        "status": "categorized",
        "sequence": 3,
        "reassigned_at": "2026-12-02T03:00:00.000Z",
    },
    ("intake", "feedback.rated"): lambda: {
        "feedback_id": FID,
        "score": 4,
        "comment": "cepat, terima kasih",
        "department_id": "bpbd",
        "category": "flooding",
        "rated_at": "2026-12-02T03:00:00.000Z",
    },
    ("intake", "feedback.status_requested"): lambda: {
        "feedback_id": FID,
        "question_id": "Q-0123456789",
        "channel": "whatsapp",
        "found": True,
        "status": "in_progress",
        "department_id": "bpbd",
        "due_at": "2026-12-02T03:00:00.000Z",
        "asked_at": "2026-12-02T03:00:01.000Z",
    },
    ("notification", "notification.sent"): lambda: {
        "delivery_id": f"wh_0123456789abcdef0123.{FID}",
        "feedback_id": FID,
        "channel": "webhook",
        "audience": "integrator",
        "kind": "feedback.received",
        "webhook_id": "wh_0123456789abcdef0123",
        "attempts": 1,
        "sent_at": "2026-12-02T03:00:00.000Z",
    },
    ("notification", "notification.failed"): lambda: {
        "delivery_id": f"{FID}:received:citizen",
        "feedback_id": FID,
        "channel": "email",
        "audience": "citizen",
        "kind": "received",
        "recipient_hash": "0123456789abcdef",
        "attempts": 8,
        "reason": "failed 8 time(s); last: SMTP 127.0.0.1:1025: refused",
        "failed_at": "2026-12-02T03:00:00.000Z",
    },
    ("intake", "feedback.erased"): lambda: {
        "feedback_id": FID,
        "erased_at": "2026-12-02T03:00:00.000Z",
    },
    ("intake", "feedback.due_soon"): lambda: {
        "feedback_id": FID,
        "department_id": "bpbd",
        "department": "BPBD",
        "category": "flooding",
        "priority": "normal",
        "status": "acknowledged",
        "due_at": "2026-12-02T03:00:00.000Z",
        "warned_at": "2026-12-02T01:00:00.000Z",
    },
    ("intake", "feedback.overdue"): lambda: {
        "feedback_id": FID,
        "department_id": "bpbd",
        "department": "BPBD",
        "category": "flooding",
        "priority": "normal",
        "status": "acknowledged",
        "due_at": "2026-12-02T03:00:00.000Z",
        "overdue_at": "2026-12-02T03:00:01.000Z",
    },
    ("reporting", "alert.spike_detected"): lambda: {
        "alert_id": "spike-0123456789abcdef",
        "kelurahan": "Degayu",
        "kecamatan": "Pekalongan Utara",
        "category": "flooding",
        "department_id": "bpbd",
        "count": 5,
        "window_minutes": 60,
        "baseline_per_hour": 0.0119,
        "threshold": 5,
        "started_at": "2026-12-02T02:10:00.000Z",
        "detected_at": "2026-12-02T03:00:00.000Z",
    },
}


def build(service: str, event_type: str, data: dict | None = None) -> dict:
    data = VALID[(service, event_type)]() if data is None else data
    return events.build(service, event_type, data, subject=FID, correlation_id="corr-1")


def envelope(**overrides) -> dict:
    """A valid categorized event as a dict, with attributes replaced (None removes one)."""
    doc = build("categorization", "feedback.categorized")
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def test_every_contract_has_valid_sample_data():
    # keeps the parametrized tests below honest: a new contract must get sample data here
    assert set(VALID) == set(events.EVENTS)


@pytest.mark.parametrize("key", sorted(VALID), ids=lambda k: f"{k[0]}/{k[1]}")
def test_build_makes_a_cloudevents_1_0_envelope(key):
    service, event_type = key
    data = VALID[key]()

    event = events.build(service, event_type, data, subject=FID, correlation_id="corr-42")

    assert event["specversion"] == "1.0"
    assert str(uuid.UUID(event["id"])) == event["id"]
    assert event["source"] == f"/suara/{service}"
    assert event["type"] == f"id.go.pekalongankota.suara.{event_type}"
    assert event["subject"] == FID
    assert event["datacontenttype"] == "application/json"
    assert event["dataschema"] == f"urn:suara:schema:{event_type}:v1"
    assert event["correlationid"] == "corr-42"
    assert event["data"] == data
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"])
    assert datetime.fromisoformat(event["time"]).utcoffset().total_seconds() == 0


def test_build_gives_every_event_its_own_id():
    ids = {build("categorization", "feedback.urgent")["id"] for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("key", "data", "field"),
    [
        (("intake", "feedback.received"), received_data(text=""), "text"),
        (("intake", "feedback.received"), received_data(channel="Fax Machine!"), "channel"),
        (("intake", "feedback.received"), received_data(location={"lat": 123.0}), "location"),
        (("categorization", "feedback.categorized"), categorized_data(category="x"), "category"),
        (
            ("categorization", "feedback.categorized"),
            categorized_data(confidence=1.5),
            "confidence",
        ),
        (("categorization", "feedback.categorized"), categorized_data(revision=0), "revision"),
        (("categorization", "feedback.categorized"), categorized_data(method="guess"), "method"),
        (("categorization", "feedback.urgent"), urgent_data(reasons="banjir"), "reasons"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_build_rejects_data_breaking_the_contract(key, data, field):
    with pytest.raises(events.ContractBroken) as err:
        events.build(*key, data, subject=FID, correlation_id="c")
    # our own bug: never an InvalidMessage, which would blame the message being handled
    assert not isinstance(err.value, events.InvalidMessage)
    assert "breaks its contract" in str(err.value)
    assert field in str(err.value)


@pytest.mark.parametrize("missing", ["feedback_id", "text", "channel", "submitted_at"])
def test_build_rejects_data_without_a_required_field(missing):
    data = received_data()
    del data[missing]
    with pytest.raises(events.ContractBroken, match=missing):
        events.build("intake", "feedback.received", data, subject=FID, correlation_id="c")


def test_build_refuses_an_event_without_a_contract():
    with pytest.raises(KeyError, match="feedback.deleted"):
        events.build("intake", "feedback.deleted", {}, subject=FID, correlation_id="c")
    with pytest.raises(KeyError):  # right type, wrong publisher
        events.build(
            "intake", "feedback.categorized", categorized_data(), subject=FID, correlation_id="c"
        )


@pytest.mark.parametrize("key", sorted(VALID), ids=lambda k: f"{k[0]}/{k[1]}")
def test_encode_decode_round_trip(key):
    event = build(*key)

    decoded = events.decode(events.encode(event), expected=events.spec(*key))

    assert decoded.id == event["id"]
    assert decoded.type == key[1]
    assert decoded.source == event["source"]
    assert decoded.subject == FID
    assert decoded.time == event["time"]
    assert decoded.correlation_id == "corr-1"
    assert decoded.data == events.spec(*key).schema().load(event["data"])


def test_encode_is_compact_utf8_json():
    event = build("intake", "feedback.received", received_data(text="Lampu jalan mati — gelap"))
    body = events.encode(event)
    assert isinstance(body, bytes)
    assert "— gelap".encode() in body  # not \u escaped
    assert json.loads(body) == event


def test_decode_accepts_text_as_well_as_bytes():
    event = build("categorization", "feedback.urgent")
    assert events.decode(events.encode(event).decode()).id == event["id"]


def test_decode_fills_contract_defaults():
    data = categorized_data()
    del data["revision"], data["needs_review"]
    decoded = events.decode(events.encode(build("categorization", "feedback.categorized", data)))
    assert decoded.data["revision"] == 1
    assert decoded.data["needs_review"] is False


def test_decode_ignores_unknown_data_fields_and_attributes():
    data = {**received_data(), "sentiment": "angry", "location": {"kecamatan": "X", "rw": "05"}}
    event = {**build("intake", "feedback.received", data), "traceparent": "00-abc-def-01"}

    decoded = events.decode(events.encode(event))

    assert "sentiment" not in decoded.data
    assert decoded.data["location"] == {"kecamatan": "X"}
    assert decoded.data["text"] == data["text"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"a string"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (events.encode(envelope(specversion="0.3")), "specversion"),
        (events.encode(envelope(specversion=None)), "specversion"),
        (events.encode(envelope(specversion=1.0)), "specversion"),
        (events.encode(envelope(id=None)), "'id'"),
        (events.encode(envelope(id="")), "'id'"),
        (events.encode(envelope(id=42)), "'id'"),
        (events.encode(envelope(source=None)), "'source'"),
        (events.encode(envelope(type=None)), "'type'"),
        (events.encode(envelope(type=["x"])), "'type'"),
        (events.encode(envelope(type="feedback.categorized")), "unexpected event type"),
        (
            events.encode(envelope(type="id.go.pekalongankota.suara.feedback.deleted")),
            "unexpected event type",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_decode_rejects_what_is_not_a_suara_cloudevent(body, message):
    with pytest.raises(events.InvalidEvent) as err:
        events.decode(body)
    assert message in str(err.value)


def test_decode_rejects_an_event_of_another_type_than_expected():
    body = events.encode(build("categorization", "feedback.urgent"))
    with pytest.raises(events.InvalidEvent, match="unexpected event type .*feedback.urgent"):
        events.decode(body, expected=events.spec("categorization", "feedback.categorized"))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (categorized_data(category="potholes"), "category"),
        (categorized_data(confidence="very"), "confidence"),
        (categorized_data(priority="critical"), "priority"),
        ({k: v for k, v in categorized_data().items() if k != "feedback_id"}, "feedback_id"),
        (None, "feedback_id"),  # no data at all
        ([categorized_data()], "_schema"),  # data is not an object
    ],
    ids=["category", "confidence", "priority", "no-id", "no-data", "list"],
)
def test_decode_rejects_data_breaking_the_contract(data, field):
    body = events.encode(envelope(data=data))  # data=None: no data attribute at all
    with pytest.raises(events.InvalidEvent) as err:
        events.decode(body)
    assert "feedback.categorized data breaks its contract" in str(err.value)
    assert field in str(err.value)


# --- interoperability: the official CloudEvents SDK reads what we write, and vice versa ---
# cloudevents 2.2.0 has no top-level ``cloudevents.http``/``cloudevents.conversion``: the 1.x
# API lives on under ``cloudevents.v1`` and the new one under ``cloudevents.core``.


@pytest.mark.parametrize("key", sorted(VALID), ids=lambda k: f"{k[0]}/{k[1]}")
def test_cloudevents_sdk_v1_http_reads_an_encoded_event(key):
    from cloudevents.v1.http import from_http

    event = build(*key)
    ce = from_http({"content-type": events.CONTENT_TYPE}, events.encode(event))

    assert ce["specversion"] == "1.0"
    assert ce["id"] == event["id"]
    assert ce["type"] == event["type"]
    assert ce["source"] == event["source"]
    assert ce["subject"] == FID
    assert ce["correlationid"] == "corr-1"
    assert ce.data == event["data"]


def test_cloudevents_sdk_v1_conversion_from_json_reads_an_encoded_event():
    from cloudevents.v1.conversion import from_json
    from cloudevents.v1.http import CloudEvent

    event = build("intake", "feedback.received")
    ce = from_json(CloudEvent, events.encode(event))

    assert (ce["id"], ce["type"], ce["source"]) == (event["id"], event["type"], event["source"])
    assert ce.data == event["data"]


def test_cloudevents_sdk_core_reads_an_encoded_event_over_http_and_rabbitmq():
    from cloudevents.core.bindings import http, rabbitmq
    from cloudevents.core.formats.json import JSONFormat

    event = build("categorization", "feedback.categorized")
    body = events.encode(event)

    over_http = http.from_http(
        http.HTTPMessage(headers={"content-type": events.CONTENT_TYPE}, body=body), JSONFormat()
    )
    over_amqp = rabbitmq.from_rabbitmq(
        rabbitmq.RabbitMQMessage(headers={}, content_type=events.CONTENT_TYPE, body=body),
        JSONFormat(),
    )

    for ce in (over_http, over_amqp):
        assert ce.get_specversion() == "1.0"
        assert ce.get_id() == event["id"]
        assert ce.get_type() == event["type"]
        assert ce.get_source() == event["source"]
        assert ce.get_dataschema() == event["dataschema"]
        assert ce.get_extension("correlationid") == "corr-1"
        assert ce.get_time() == datetime.fromisoformat(event["time"])
        assert ce.get_data() == event["data"]


def test_decode_reads_an_event_written_by_the_cloudevents_sdk():
    from cloudevents.core.bindings import http
    from cloudevents.core.v1.event import CloudEvent

    spec = events.spec("categorization", "feedback.urgent")
    ce = CloudEvent(
        attributes={"type": spec.ce_type, "source": "/other/publisher", "subject": FID},
        data=urgent_data(),
    )
    message = http.to_structured_event(ce)

    decoded = events.decode(message.body, expected=spec)

    assert decoded.id == ce.get_id()
    assert decoded.source == "/other/publisher"
    assert decoded.type == "feedback.urgent"
    assert decoded.data == urgent_data()


# --- privacy: no contract has a field for personal data ---

PERSONAL = ("name", "email", "mail", "phone", "address", "contact", "nik")


def schema_fields(schema: type[Schema] | Schema, prefix: str = "") -> list[str]:
    """Every field path of a schema, nested schemas included."""
    instance = schema() if isinstance(schema, type) else schema
    paths = []
    for name, field in instance.fields.items():
        path = prefix + name
        paths.append(path)
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            paths.extend(schema_fields(inner.schema, path + "."))
    return paths


def test_schema_fields_walks_nested_schemas():
    paths = schema_fields(events.FeedbackReceived)
    assert "location.kecamatan" in paths
    assert "feedback_id" in paths


@pytest.mark.parametrize(
    "spec", list(events.EVENTS.values()), ids=lambda s: f"{s.service}/{s.type}"
)
def test_no_contract_has_a_personal_data_field(spec):
    offending = [
        path
        for path in schema_fields(spec.schema)
        if any(word in path.lower() for word in PERSONAL)
    ]
    assert offending == []


def test_spec_lookup_and_derived_names():
    spec = events.spec("intake", "feedback.received")
    assert spec.exchange == "intake.events"
    assert spec.ce_type == "id.go.pekalongankota.suara.feedback.received"
    assert {"categorization", "notification", "reporting"} <= set(spec.consumers)
    with pytest.raises(KeyError, match="no contract"):
        events.spec("reporting", "feedback.received")
