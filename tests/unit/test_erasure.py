"""The erasure of a citizen's personal data from a case: what the guarded write takes away and
keeps (services/intake/feedback.py, pure), its event's contract, and the endpoint's answers
(the service class through nameko's worker_factory, the use case replaced)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.intake import feedback, handlers, lifecycle
from services.intake.service import IntakeService
from shared import events

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
TEXT = (
    "Banjir di depan rumah saya, hubungi budi@example.co.id atau 0812-3456-7890, "
    "NIK 3375012345678901"
)
CONTACT = {"name": "Budi Santoso", "email": "budi@example.co.id", "phone": "+62 812-3456-7890"}
LOCATION = {
    "lat": -6.888612,
    "lon": 109.675349,
    "address": "Jl. Kenanga 7, rumah cat hijau",
    "kecamatan": "Pekalongan Utara",
    "kelurahan": "Panjang Wetan",
}
PERSONAL = (
    "Budi Santoso",
    "budi@example.co.id",
    "0812-3456-7890",
    "812-3456-7890",
    "3375012345678901",
    "Jl. Kenanga",
    "6281234567890",
    "-6.888612",
    "109.675349",
)


def case(**overrides) -> dict:
    """A stored case with everything personal a case can hold: a contact, a reply address
    (WhatsApp), photos, a street address and exact pin, a fingerprinted request, a history
    whose notes name a phone number, a rating with a comment."""
    submission = {
        "text": TEXT,
        "location": dict(LOCATION),
        "contact": {**CONTACT, "language": "jv"},
        "reply_to": {"channel": "whatsapp", "address": "6281234567890"},
        "media": ["M-aaaaaaaaaaaaaaaaaaaaaaaa", "M-bbbbbbbbbbbbbbbbbbbbbbbb"],
    }
    record = feedback.new_record(
        submission,
        channel="whatsapp",
        idempotency_key="whatsapp:wamid.1",
        request_fingerprint="f" * 64,
        now=NOW,
    )
    record.pop("outbox"), record.pop("outbox_at")  # relayed long ago
    record.update(
        status="closed",
        category="flooding",
        department="BPBD",
        department_id="bpbd",
        priority="normal",
        version=6,
        status_seq=3,
        resolved_at=NOW + timedelta(days=1),
        rating={"score": 4, "comment": "cepat, telp saya 081234567890", "at": NOW},
        history=[
            {"status": "acknowledged", "from": "categorized", "at": NOW, "by": "bpbd"},
            {
                "status": "in_progress",
                "from": "acknowledged",
                "at": NOW,
                "by": "bpbd",
                "note": "sudah telepon warga di 0812-3456-7890",
                "visibility": "internal",
            },
            {
                "status": "resolved",
                "from": "in_progress",
                "at": NOW,
                "by": "bpbd",
                "note": "pompa dipasang",
                "visibility": "public",
            },
        ],
    )
    return {**record, **overrides}


def erased(record: dict) -> tuple[dict, dict, list[dict], dict]:
    query, update, staged = feedback.erasure(record, LATER)
    return query, update, staged, feedback.applied(record, update)


def test_erasure_takes_the_contact_the_reply_address_photos_and_identifiers():
    _, update, _, after = erased(case())
    changes = update["$set"]
    assert changes["contact"] == {"language": "jv"} and changes["reply_to"] is None  # language kept
    assert changes["media"] is None and changes["media_url"] is None
    assert changes["request_fingerprint"] is None
    assert changes["text"] == (
        "Banjir di depan rumah saya, hubungi [email] atau [phone], NIK [nik]"
    )
    assert changes["location"] == {
        "kecamatan": "Pekalongan Utara",
        "kelurahan": "Panjang Wetan",
        "lat": -6.889,
        "lon": 109.675,
    }
    assert changes["rating"] == {"score": 4, "comment": None, "at": NOW}
    assert [s.get("note") for s in changes["history"]] == [
        None,
        "sudah telepon warga di [phone]",
        "pompa dipasang",
    ]
    assert changes["erased_at"] == LATER
    # nothing personal is left in what the case becomes
    left = json.dumps(after, default=str)
    assert [p for p in PERSONAL if p in left] == []


def test_erasure_keeps_the_lifecycle_the_category_and_the_area():
    before = case()
    _, update, _, after = erased(before)
    kept = (
        "status",
        "category",
        "department",
        "department_id",
        "priority",
        "channel",
        "created_at",
        "updated_at",
        "resolved_at",
        "status_seq",
        "correlation_id",
        "idempotency_key",
        "due_at",
    )
    assert not set(kept) & set(update["$set"])
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert after["location"]["kecamatan"] == "Pekalongan Utara"
    assert [(s["status"], s["by"], s["at"]) for s in after["history"]] == [
        (s["status"], s["by"], s["at"]) for s in before["history"]
    ]
    assert after["rating"]["score"] == 4
    # the public view and the tracking page's history are as before
    assert lifecycle.public_history(feedback.history_view(after)) == lifecycle.public_history(
        feedback.history_view(before)
    )
    view, was = feedback.public_view(after), feedback.public_view(before)
    assert view == was


def test_erasure_is_one_write_guarded_by_the_version_with_its_event_staged():
    record = case()
    query, update, staged, _ = erased(record)
    assert query == {"_id": record["_id"], "version": 6}
    assert update["$set"]["version"] == 7
    (entry,) = staged
    assert update["$push"]["outbox"] == {"$each": [entry]}
    assert update["$set"]["outbox_at"] == LATER
    assert (entry["exchange"], entry["routing_key"]) == ("intake.events", "feedback.erased")
    event = entry["event"]
    assert event["subject"] == record["_id"]
    assert event["correlationid"] == record["correlation_id"]
    assert event["data"] == {"feedback_id": record["_id"], "erased_at": "2026-12-04T01:00:00.000Z"}
    assert events.decode(events.encode(event)).data == event["data"]


def test_erasure_keeps_the_photos_ids_for_their_deletion():
    _, update, _, after = erased(case())
    assert update["$set"]["erased_media"] == [
        "M-aaaaaaaaaaaaaaaaaaaaaaaa",
        "M-bbbbbbbbbbbbbbbbbbbbbbbb",
    ]
    assert feedback.staff_view(after)["photos"] == []
    assert feedback.staff_view(after)["erased_at"] == "2026-12-04T01:00:00.000Z"
    assert feedback.staff_view(case())["erased_at"] is None


def test_a_second_erasure_changes_and_announces_nothing():
    _, _, _, after = erased(case())
    assert feedback.is_erased(after)
    assert feedback.erasure(after, LATER + timedelta(hours=1)) is None
    assert feedback.erasure_receipt(after) == {
        "id": after["_id"],
        "erased_at": "2026-12-04T01:00:00.000Z",
    }


def test_the_receipt_reads_a_stored_naive_time_as_utc():
    stored = {"_id": "SU-0123456789", "erased_at": datetime(2026, 12, 4, 1, 0, 0, 123000)}
    assert feedback.erasure_receipt(stored)["erased_at"] == "2026-12-04T01:00:00.123Z"


def test_a_case_without_contact_location_history_or_photos_is_erased_too():
    record = feedback.new_record({"text": "Lampu PJU mati di gang Melati"}, channel="http", now=NOW)
    query, update, staged = feedback.erasure(record, LATER)
    changes = update["$set"]
    assert changes["location"] is None and changes["erased_media"] == []
    assert "history" not in changes and "rating" not in changes
    assert changes["text"] == "Lampu PJU mati di gang Melati"
    assert query == {"_id": record["_id"], "version": 0}
    # the feedback.received still staged is kept: the erasure's event is pushed after it
    assert update["$push"]["outbox"]["$each"] == staged
    assert len(staged) == 1


@pytest.mark.parametrize(
    ("location", "area"),
    [
        (None, None),
        ({}, None),
        ({"address": "Jl. Kenanga 7"}, None),
        ({"lat": -6.8886, "lon": 109.6753}, {"lat": -6.889, "lon": 109.675}),
        ({"kelurahan": "Kuripan", "lat": None}, {"kelurahan": "Kuripan"}),
    ],
)
def test_an_erased_location_is_the_area_and_a_rounded_pin(location, area):
    assert feedback.erased_location(location) == area


def test_an_erased_case_or_question_has_no_reply_address():
    assert feedback.is_erased({"erased_at": LATER})
    assert not feedback.is_erased({"erased_at": None})
    assert not feedback.is_erased({})


# --- the event's contract


def test_feedback_erased_is_intakes_event_and_intake_follows_it():
    spec = events.spec("intake", "feedback.erased")
    assert spec.schema is events.FeedbackErased
    assert spec.exchange == "intake.events"
    assert spec.dataschema == "urn:suara:schema:feedback.erased:v1"
    assert "intake" in spec.consumers
    assert callable(IntakeService.on_erased)


def test_feedback_erased_carries_only_the_id_and_the_time():
    assert set(events.FeedbackErased().fields) == {"feedback_id", "erased_at"}
    data = {"feedback_id": "SU-0123456789", "erased_at": "2026-12-04T01:00:00.000Z"}
    event = events.build(
        "intake", "feedback.erased", data, subject="SU-0123456789", correlation_id="c"
    )
    decoded = events.decode(events.encode(event), expected=events.spec("intake", "feedback.erased"))
    assert decoded.data == data
    with pytest.raises(events.ContractBroken, match="erased_at"):
        events.build(
            "intake",
            "feedback.erased",
            {"feedback_id": "SU-0123456789"},
            subject="SU-0123456789",
            correlation_id="c",
        )


# --- the endpoint: POST /api/v1/feedback/{id}/erase

ADMIN_KEY, BPBD_KEY = "admin-secret", "bpbd-secret"
FID = "SU-0123456789"


@pytest.fixture
def service(monkeypatch):
    calls = []

    def erase(db, publish, policy, feedback_id, now=None):
        calls.append(feedback_id)
        if feedback_id == "SU-UNKNOWN000":
            raise handlers.NotFound(feedback_id)
        if feedback_id == "SU-BUSY000000":
            raise handlers.ChangedMeanwhile(feedback_id)
        return {"_id": feedback_id, "erased_at": LATER}

    monkeypatch.setattr(handlers, "erase", erase)
    worker = worker_factory(
        IntakeService,
        config={"API_KEYS": {ADMIN_KEY: "ops"}, "DEPARTMENT_KEYS": {BPBD_KEY: "bpbd"}},
    )
    worker.calls = calls
    return worker


def post(service, feedback_id: str, key: str | None = None):
    headers = {"X-API-Key": key} if key else {}
    builder = EnvironBuilder(
        path=f"/api/v1/feedback/{feedback_id}/erase", method="POST", headers=headers
    )
    response = service.erase(Request(builder.get_environ()), feedback_id)
    return response.status_code, json.loads(response.get_data())


def test_the_endpoint_answers_the_erasure_to_an_admin(service):
    status, body = post(service, FID, ADMIN_KEY)
    assert (status, body) == (200, {"id": FID, "erased_at": "2026-12-04T01:00:00.000Z"})
    assert service.calls == [FID]


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("wrong", 401), (BPBD_KEY, 403)], ids=["none", "wrong", "dept"]
)
def test_the_endpoint_refuses_without_an_admin_key(service, key, status):
    got, body = post(service, FID, key)
    assert got == status
    assert body["error"] == ("unauthorized" if status == 401 else "forbidden")
    assert service.calls == []


@pytest.mark.parametrize("feedback_id", ["SU-UNKNOWN000", "not-an-id", "SU-0123"])
def test_the_endpoint_answers_404_for_an_unknown_case(service, feedback_id):
    status, body = post(service, feedback_id, ADMIN_KEY)
    assert (status, body["error"]) == (404, "not_found")


def test_the_endpoint_answers_409_when_the_case_keeps_changing(service):
    status, body = post(service, "SU-BUSY000000", ADMIN_KEY)
    assert (status, body["error"]) == (409, "conflict")
