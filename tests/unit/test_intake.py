"""Intake's pure logic: boundary schemas, redaction, the feedback record and what leaves it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from services.intake import feedback, lifecycle, privacy, sla
from services.intake.schemas import FEEDBACK_ID, FeedbackSubmission, SubmitCommand
from shared import events, workcalendar
from shared.taxonomy import TAXONOMY

NOW = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
TEXT = "Banjir rob di Jl. Merdeka 12 sudah 2 minggu, RT 03 RW 05. Hubungi budi@example.co.id"
CONTACT = {
    "name": "Budi Santoso",
    "email": "budi.santoso@example.co.id",
    "phone": "+62 812-3456-7890",
    "language": "jv",
}
LOCATION = {
    "lat": -6.8886,
    "lon": 109.6753,
    "address": "Jl. Kenanga 7, rumah cat hijau",
    "kecamatan": "Pekalongan Utara",
    "kelurahan": "Panjang Wetan",
}


def full_body(**overrides) -> dict:
    body = {
        "text": TEXT,
        "location": dict(LOCATION),
        "contact": dict(CONTACT),
        "category_hint": "flooding",
    }
    return {**body, **overrides}


def errors_of(schema, body: dict) -> dict:
    with pytest.raises(ValidationError) as err:
        schema.load(body)
    return err.value.messages


def dollar_keys(value) -> list[str]:
    """Every key starting with '$' anywhere in a loaded value."""
    if isinstance(value, dict):
        found = [k for k in value if str(k).startswith("$")]
        for inner in value.values():
            found.extend(dollar_keys(inner))
        return found
    if isinstance(value, list):
        return [k for item in value for k in dollar_keys(item)]
    return []


# --- FeedbackSubmission (POST /api/v1/feedback) ---


def test_submission_accepts_a_full_valid_body():
    loaded = FeedbackSubmission().load(full_body())
    assert loaded == full_body()


def test_submission_needs_only_text_and_defaults_the_contact_language():
    assert FeedbackSubmission().load({"text": "abc"}) == {"text": "abc"}
    loaded = FeedbackSubmission().load({"text": "abc", "contact": {"name": "Siti"}})
    assert loaded["contact"] == {"name": "Siti", "language": "id"}


def test_submission_accepts_null_optionals():
    body = {"text": "Lampu mati", "location": None, "contact": None, "category_hint": None}
    assert FeedbackSubmission().load(body) == body


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, ("text",)),
        ({"text": None}, ("text",)),
        ({"text": "ab"}, ("text",)),
        ({"text": "  ab   "}, ("text",)),  # padding is not words
        ({"text": "\n\t \n"}, ("text",)),
        ({"text": "x" * 5001}, ("text",)),
        ({"text": 12345}, ("text",)),
        (full_body(priority="urgent"), ("priority",)),
        (full_body(contact={**CONTACT, "email": "budi@"}), ("contact", "email")),
        (full_body(contact={**CONTACT, "email": "not an email"}), ("contact", "email")),
        (full_body(contact={**CONTACT, "phone": "call me"}), ("contact", "phone")),
        (full_body(contact={**CONTACT, "phone": "12"}), ("contact", "phone")),
        (
            full_body(contact={**CONTACT, "phone": "0812345678901234567890123"}),
            ("contact", "phone"),
        ),
        (full_body(contact={**CONTACT, "language": "fr"}), ("contact", "language")),
        (full_body(contact={**CONTACT, "nik": "3375012345678901"}), ("contact", "nik")),
        (full_body(location={"lat": 91}), ("location", "lat")),
        (full_body(location={"lat": -90.5}), ("location", "lat")),
        (full_body(location={"lon": 180.01}), ("location", "lon")),
        (full_body(location={"lat": "NaN"}), ("location", "lat")),
        (full_body(location={"address": "x" * 301}), ("location", "address")),
        (full_body(location={"rt": "03"}), ("location", "rt")),
        (full_body(category_hint="potholes"), ("category_hint",)),
        (full_body(category_hint="Roads"), ("category_hint",)),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
)
def test_submission_rejects_invalid_bodies(body, path):
    messages = errors_of(FeedbackSubmission(), body)
    for key in path:
        assert key in messages, messages
        messages = messages[key]


def test_submission_text_boundaries():
    assert FeedbackSubmission().load({"text": "abc"})["text"] == "abc"
    assert len(FeedbackSubmission().load({"text": "y" * 5000})["text"]) == 5000


@pytest.mark.parametrize(
    "body",
    [
        {"text": {"$gt": ""}},
        {"text": {"$regex": ".*"}},
        {"text": ["$where", "sleep(1000)"]},
        {"text": "Lampu mati", "location": {"kecamatan": {"$ne": None}}},
        {"text": "Lampu mati", "location": {"lat": {"$gt": 0}}},
        {"text": "Lampu mati", "location": {"$where": "this.lat > 0"}},
        {"text": "Lampu mati", "contact": {"email": {"$ne": None}}},
        {"text": "Lampu mati", "contact": {"phone": {"$exists": True}}},
        {"text": "Lampu mati", "category_hint": {"$in": ["roads", "water"]}},
        {"text": "Lampu mati", "$where": "1 == 1"},
        {"text": "Lampu mati", "status": {"$ne": "resolved"}},
        {"text": "Lampu mati", "location": "{'$ne': null}", "contact": {"$gt": ""}},
    ],
    ids=lambda b: json.dumps(b)[:60],
)
def test_submission_rejects_nosql_injection_shapes(body):
    with pytest.raises(ValidationError):
        FeedbackSubmission().load(body)


# --- SubmitCommand (the feedback.submit AMQP command) ---


def command(**overrides) -> dict:
    body = {"source": "lapor-go.id", "external_id": "LAPOR-2025-0001", "text": "Sampah menumpuk"}
    return {**body, **overrides}


def test_command_accepts_a_valid_command_and_ignores_unknown_fields():
    loaded = SubmitCommand().load(
        command(
            location={"kecamatan": "Pekalongan Barat", "rt": "03"},
            category_hint="waste",
            priority="urgent",
            reporter={"name": "Budi"},
            contact={"email": "budi@example.co.id"},
        )
    )
    assert loaded == {
        **command(),
        "location": {"kecamatan": "Pekalongan Barat"},
        "category_hint": "waste",
        "imported": False,
    }


@pytest.mark.parametrize("source", ["a", "city-app", "lapor.v2_1", "0sms", "x" * 64])
def test_command_source_pattern_accepts(source):
    assert SubmitCommand().load(command(source=source))["source"] == source


@pytest.mark.parametrize(
    "source", ["", "City-App", "-app", ".app", "city app", "city/app", "x" * 65, "café"]
)
def test_command_source_pattern_rejects(source):
    assert "source" in errors_of(SubmitCommand(), command(source=source))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "X1", "text": "Sampah menumpuk"}, "source"),
        ({"source": "city-app", "text": "Sampah menumpuk"}, "external_id"),
        (command(external_id=""), "external_id"),
        (command(external_id="x" * 129), "external_id"),
        ({"source": "city-app", "external_id": "X1"}, "text"),
        (command(text="ab"), "text"),
        (command(text="z" * 5001), "text"),
        (command(category_hint="potholes"), "category_hint"),
        (command(location={"lat": 100}), "location"),
    ],
)
def test_command_rejects_invalid_commands(body, field):
    assert field in errors_of(SubmitCommand(), body)


@pytest.mark.parametrize(
    "body",
    [
        command(text={"$gt": ""}),
        command(source={"$ne": ""}),
        command(external_id={"$gt": ""}),
        command(location={"kecamatan": {"$ne": None}}),
        command(category_hint={"$in": ["roads"]}),
    ],
    ids=lambda b: json.dumps(b)[:60],
)
def test_command_rejects_nosql_injection_shapes(body):
    with pytest.raises(ValidationError):
        SubmitCommand().load(body)


def test_command_drops_operator_keys_it_does_not_know():
    loaded = SubmitCommand().load(command(**{"$where": "1", "location": {"$ne": 1, "lat": 1.0}}))
    assert dollar_keys(loaded) == []
    assert loaded["location"] == {"lat": 1.0}


# --- privacy.redact ---


@pytest.mark.parametrize(
    ("text", "secret", "mark"),
    [
        ("email saya budi.s+lapor@example.co.id ya", "budi.s+lapor@example.co.id", "[email]"),
        ("kirim ke SITI_99@mail-server.pekalongankota.go.id.", "SITI_99@", "[email]"),
        ("hubungi +62 812-3456-7890 ya", "3456", "[phone]"),
        ("hubungi +6281234567890", "81234567890", "[phone]"),
        ("wa 6281234567890 kapan saja", "81234567890", "[phone]"),
        ("hp 081234567890", "081234567890", "[phone]"),
        ("hp 0812 3456 7890", "3456 7890", "[phone]"),
        ("telp 0285 421234", "421234", "[phone]"),
        ("telp 0285-421234", "421234", "[phone]"),
        ("NIK 3375012345678901 saya", "3375012345678901", "[nik]"),
        ("nik:3375012345678901", "3375012345678901", "[nik]"),
    ],
)
def test_redact_removes_personal_data(text, secret, mark):
    redacted = privacy.redact(text)
    assert secret not in redacted
    assert mark in redacted


def test_redact_keeps_the_rest_of_the_sentence():
    text = "Lampu PJU mati di Jl. Merdeka 12, hubungi 081234567890 atau a@b.id. Terima kasih"
    assert privacy.redact(text) == (
        "Lampu PJU mati di Jl. Merdeka 12, hubungi [phone] atau [email]. Terima kasih"
    )


@pytest.mark.parametrize(
    "text",
    [
        "RT 03 RW 05",
        "RT 003/RW 005 Kelurahan Panjang Wetan",
        "Jl. Merdeka 12",
        "Jl. Hayam Wuruk No. 120",
        "sejak tahun 2019",
        "tahun 2020 - 2024",
        "sudah 2 minggu",
        "10 rumah dan 200 jiwa terdampak",
        "tinggi air 0,5 meter pukul 08.00",
        "kode pos 51111",
        "bantuan Rp 600.000 belum cair",
        "tgl 12-03-2024",
    ],
)
def test_redact_leaves_ordinary_numbers(text):
    assert privacy.redact(text) == text


@pytest.mark.parametrize("text", ["telp (0285) 421234", "telp (021) 7654321"])
def test_redact_removes_a_landline_with_area_code_in_parentheses(text):
    assert re.search(r"\d{5,}", privacy.redact(text)) is None


def test_redact_leaves_a_date_starting_with_zero():
    assert privacy.redact("banjir sejak 01-02-2024") == "banjir sejak 01-02-2024"


def test_event_location_drops_the_address_and_empty_values():
    assert privacy.event_location(LOCATION) == {k: v for k, v in LOCATION.items() if k != "address"}
    assert privacy.event_location({"address": "Jl. Kenanga 7", "kecamatan": None}) is None
    assert privacy.event_location(None) is None
    assert privacy.event_location({}) is None


# --- feedback: the record, its staged event, what the public sees ---


def record(**kwargs) -> dict:
    submission = FeedbackSubmission().load(kwargs.pop("body", full_body()))
    kwargs.setdefault("channel", "http")
    return feedback.new_record(submission, now=NOW, **kwargs)


def staged_event(rec: dict) -> dict:
    assert len(rec["outbox"]) == 1
    return rec["outbox"][0]["event"]


def test_new_ids_are_readable_tracking_ids():
    ids = [feedback.new_id() for _ in range(500)]
    assert all(re.fullmatch(FEEDBACK_ID, i) for i in ids)
    assert all(re.fullmatch(r"SU-[0-9A-HJKMNP-TV-Z]{10}", i) for i in ids)  # no I, L, O, U
    assert len(set(ids)) == 500


def test_new_record_keeps_everything_in_intake():
    rec = record(correlation_id="corr-7")

    assert re.fullmatch(r"^SU-[0-9A-Z]{10}$", rec["_id"])
    assert rec["status"] == "received"
    assert rec["text"] == TEXT  # the original, unredacted
    assert rec["contact"] == CONTACT
    assert rec["location"] == LOCATION
    assert rec["category_hint"] == "flooding"
    assert rec["channel"] == "http"
    assert rec["categorization_revision"] == 0
    assert (rec["category"], rec["department"], rec["priority"]) == (None, None, None)
    assert rec["correlation_id"] == "corr-7"
    assert rec["created_at"] == rec["updated_at"] == rec["outbox_at"] == NOW


def test_new_record_stages_a_feedback_received_event():
    rec = record(correlation_id="corr-7")
    entry = rec["outbox"][0]

    assert entry["exchange"] == "intake.events"
    assert entry["routing_key"] == "feedback.received"
    assert entry["id"] == entry["event"]["id"]
    event = events.decode(
        events.encode(entry["event"]), expected=events.spec("intake", "feedback.received")
    )
    assert event.subject == rec["_id"]
    assert event.correlation_id == "corr-7"
    assert event.data["feedback_id"] == rec["_id"]
    assert event.data["channel"] == "http"
    assert event.data["category_hint"] == "flooding"
    assert event.data["language"] == "jv"  # the citizen's language, not their contact


def test_staged_event_carries_no_personal_data():
    rec = record()
    event = staged_event(rec)
    body = events.encode(event).decode()

    assert "contact" not in event["data"]
    assert "address" not in (event["data"]["location"] or {})
    assert event["data"]["location"] == {
        "lat": LOCATION["lat"],
        "lon": LOCATION["lon"],
        "kecamatan": LOCATION["kecamatan"],
        "kelurahan": LOCATION["kelurahan"],
    }
    assert event["data"]["text"] == privacy.redact(TEXT)
    assert "[email]" in event["data"]["text"]
    for secret in (*CONTACT.values(), "budi@example.co.id", LOCATION["address"], "Kenanga"):
        if secret not in ("jv",):
            assert secret not in body, secret


def test_staged_event_redacts_phone_and_nik_in_the_text():
    body = full_body(text="Pak RT minta KTP 3375012345678901 dan hp 081298765432 untuk data")
    event = staged_event(record(body=body))
    text = event["data"]["text"]
    assert "3375012345678901" not in text and "081298765432" not in text
    assert text == "Pak RT minta KTP [nik] dan hp [phone] untuk data"


def test_new_record_without_contact_or_location():
    rec = record(body={"text": "Sampah menumpuk di pasar"})
    event = events.decode(events.encode(staged_event(rec)))
    assert rec["contact"] is None
    assert event.data["language"] is None
    assert event.data["location"] is None


def test_new_record_from_a_command_has_an_external_key():
    submission = SubmitCommand().load(command())
    rec = feedback.new_record(
        submission, channel="amqp", source="lapor-go.id", external_id="LAPOR-2025-0001", now=NOW
    )
    assert rec["external_key"] == "lapor-go.id/LAPOR-2025-0001"
    assert rec["external_id"] == "LAPOR-2025-0001"
    event = events.decode(events.encode(staged_event(rec)))
    assert (event.data["channel"], event.data["source"]) == ("amqp", "lapor-go.id")


def test_new_record_remembers_the_idempotency_key():
    rec = record(idempotency_key="key-1", request_fingerprint="f" * 64)
    assert (rec["idempotency_key"], rec["request_fingerprint"]) == ("key-1", "f" * 64)
    assert "idempotency_key" not in record()
    assert "external_key" not in record()


def test_new_record_makes_a_correlation_id_when_none_is_given():
    first, second = record(), record()
    assert first["correlation_id"] and first["correlation_id"] != second["correlation_id"]
    assert staged_event(first)["correlationid"] == first["correlation_id"]
    assert first["_id"] != second["_id"]


def test_fingerprint_ignores_key_order_but_not_content():
    a = {"text": "abc", "contact": {"name": "x", "email": "y@z.id"}}
    b = {"contact": {"email": "y@z.id", "name": "x"}, "text": "abc"}
    assert feedback.fingerprint(a) == feedback.fingerprint(b)
    assert feedback.fingerprint(a) != feedback.fingerprint({**a, "text": "abd"})


def assert_no_personal_data(view: dict) -> None:
    dumped = json.dumps(view, default=str)
    for forbidden in ("contact", "text", "email", "phone", "address", "location"):
        assert forbidden not in view
    for secret in (*CONTACT.values(), TEXT, LOCATION["address"]):
        if secret not in ("jv",):
            assert secret not in dumped


def test_receipt_carries_the_citizen_token_and_the_tracking_link():
    rec = record()
    receipt = feedback.receipt(rec, "tok-123")
    assert receipt == {
        "id": rec["_id"],
        "status": "received",
        "submitted_at": "2025-01-02T03:04:05.678Z",
        "citizen_token": "tok-123",
        "links": {
            "self": f"/api/v1/feedback/{rec['_id']}",
            "track": f"/track/{rec['_id']}?token=tok-123",
        },
    }
    assert_no_personal_data(receipt)


def test_public_view_shows_progress_but_no_personal_data():
    rec = {
        **record(),
        "status": "categorized",
        "category": "flooding",
        "department": "BPBD",
        "department_id": "bpbd",
        "priority": "urgent",
        "due_at": datetime(2025, 1, 2, 6, 0),
        "updated_at": datetime(2025, 1, 2, 4, 0),  # naive: read as UTC
    }
    view = feedback.public_view(rec)
    assert view == {
        "id": rec["_id"],
        "status": "categorized",
        "category": "flooding",
        "department": "BPBD",
        "department_id": "bpbd",
        "priority": "urgent",
        "channel": "http",
        "submitted_at": "2025-01-02T03:04:05.678Z",
        "updated_at": "2025-01-02T04:00:00.000Z",
        "due_at": "2025-01-02T06:00:00.000Z",
        "overdue": False,
        "resolved_at": None,
        "rating": None,
        "history": [],
        "me_too_count": 0,
        "already_reported": None,
    }
    assert_no_personal_data(view)


def test_staff_see_internal_notes_the_public_does_not():
    step = {
        "status": "acknowledged",
        "at": NOW,
        "by": "bpbd",
        "note": "x",
        "visibility": "internal",
    }
    rec = {**record(), "history": [step]}
    assert "note" not in feedback.public_view(rec)["history"][0]
    assert feedback.staff_view(rec)["history"][0]["note"] == "x"


def categorized(**overrides) -> dict:
    data = {
        "feedback_id": "SU-0123456789",
        "category": "flooding",
        "department": "BPBD",
        "confidence": 0.91,
        "priority": "urgent",
        "method": "model",
        "needs_review": False,
        "revision": 2,
        "categorized_at": "2025-01-02T03:04:06.000Z",
        **overrides,
    }
    event = events.build(
        "categorization",
        "feedback.categorized",
        data,
        subject=data["feedback_id"],
        correlation_id="c",
    )
    return events.decode(events.encode(event)).data


# every hour counts: due times are plain sums
POLICY = sla.Policy(workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None))


def case(**fields) -> dict:
    return {**record(feedback_id="SU-0123456789"), **fields}


def test_categorization_update_is_guarded_by_the_version_and_sets_the_due_time():
    query, update = feedback.categorization_update(case(), categorized(), POLICY, now=NOW)
    assert query == {"_id": "SU-0123456789", "version": 0}
    assert update == {
        "$set": {
            "status": "categorized",
            "category": "flooding",
            "department": "BPBD",
            "department_id": "bpbd",  # an event of before department ids: found by the name
            "priority": "urgent",
            "categorization_revision": 2,
            "updated_at": NOW,
            "due_at": NOW + timedelta(hours=2),  # flooding, urgent: 2 calendar hours
            "due_soon_at": None,  # a new due time: warned of anew
            "version": 1,
        }
    }


def test_categorization_update_ignores_a_repeated_or_older_revision():
    assert (
        feedback.categorization_update(case(categorization_revision=2), categorized(), POLICY)
        is None
    )
    no_revision = {k: v for k, v in categorized().items() if k != "revision"}
    _, update = feedback.categorization_update(case(), no_revision, POLICY)
    assert update["$set"]["categorization_revision"] == 1


def test_categorization_update_keeps_the_events_department_id():
    data = categorized(department="UPT PJU Kota", department_id="upt-pju")
    _, update = feedback.categorization_update(case(), data, POLICY, now=NOW)
    assert (update["$set"]["department"], update["$set"]["department_id"]) == (
        "UPT PJU Kota",
        "upt-pju",
    )


def test_categorization_update_sends_uncertain_feedback_to_review():
    data = categorized(needs_review=True, revision=1, priority="normal")
    _, update = feedback.categorization_update(case(), data, POLICY, now=NOW)
    assert update["$set"]["status"] == "in_review"
    assert update["$set"]["due_at"] == NOW + timedelta(hours=24)  # flooding: 24 working hours


def test_a_recategorization_keeps_a_worked_case_its_state_and_a_transferred_one_its_department():
    worked = case(status="in_progress", department_pinned=True, department_id="dlh", version=7)
    query, update = feedback.categorization_update(worked, categorized(), POLICY, now=NOW)
    assert query["version"] == 7 and update["$set"]["version"] == 8
    assert update["$set"]["status"] == "in_progress" and "department_id" not in update["$set"]


def test_imported_history_is_not_due():
    _, update = feedback.categorization_update(case(imported=True), categorized(), POLICY)
    assert "due_at" not in update["$set"]


def test_a_move_is_recorded_guarded_and_announced_without_internal_notes():
    rec = case(status="categorized", department_id="bpbd", correlation_id="c")
    move = lifecycle.Move("acknowledged", "cek lokasi, hubungi 0812-3456-7890", "internal")
    query, update, staged = feedback.status_change(rec, move, "bpbd", "department", now=NOW)
    assert query == {"_id": rec["_id"], "version": 0}
    assert update["$set"]["status"] == "acknowledged" and update["$set"]["status_seq"] == 1
    assert update["$push"]["history"]["visibility"] == "internal"
    assert update["$push"]["outbox"]["$each"] == staged
    data = events.decode(events.encode(staged[0]["event"])).data
    assert (data["from_"], data["to"], data["sequence"], data["note"], data["actor"]) == (
        "categorized",
        "acknowledged",
        1,
        None,
        "department",
    )
    public = lifecycle.Move("resolved", "Sudah ditambal. Info: 0812-3456-7890")
    moved = {**rec, "status": "in_progress", "status_seq": 2, "version": 5}
    query, update, staged = feedback.status_change(moved, public, "bpbd", "department", now=NOW)
    assert query["version"] == 5 and update["$set"]["resolved_at"] == NOW
    data = events.decode(events.encode(staged[0]["event"])).data
    assert data["sequence"] == 3 and "0812" not in data["note"]


def test_a_transfer_hands_the_case_over_and_the_new_department_acknowledges_it_afresh():
    rec = case(status="acknowledged", department_id="dinas-pupr", status_seq=1, version=3)
    target = TAXONOMY.department("bpbd")
    query, update, staged = feedback.transfer(rec, target, "rob, bukan jalan rusak", "pupr", NOW)
    assert query["version"] == 3
    changes = update["$set"]
    assert (changes["department_id"], changes["department_pinned"], changes["status"]) == (
        "bpbd",
        True,
        "categorized",
    )
    assert [e["routing_key"] for e in staged] == ["feedback.status_changed", "feedback.reassigned"]
    reassigned = events.decode(events.encode(staged[1]["event"])).data
    assert (reassigned["from_department_id"], reassigned["sequence"]) == ("dinas-pupr", 3)
    assert changes["status_seq"] == 3
    moved = feedback.applied(rec, update)
    assert moved["history"][-1]["transfer"] == {"from": "dinas-pupr", "to": "bpbd"}
    public = feedback.public_view(moved)["history"]
    assert public[-1] == {"status": "categorized", "at": public[-1]["at"], "department_id": "bpbd"}


def test_a_transfer_of_a_case_not_yet_acknowledged_keeps_its_state():
    rec = case(status="categorized", department_id="dinas-pupr")
    _, update, staged = feedback.transfer(rec, TAXONOMY.department("bpbd"), "rob", "pupr", NOW)
    assert "status" not in update["$set"] and len(staged) == 1
    assert update["$set"]["status_seq"] == 1


def test_a_rating_closes_a_resolved_case_and_redacts_the_comment():
    rec = case(status="resolved", department_id="bpbd", category="flooding", status_seq=3)
    _, update, staged = feedback.rating(rec, 5, "mantap, wa saya 0812-3456-7890", NOW)
    assert update["$set"]["status"] == "closed" and update["$set"]["rating"]["score"] == 5
    rated = events.decode(events.encode(staged[0]["event"])).data
    assert rated["score"] == 5 and "0812" not in rated["comment"]
    assert staged[1]["routing_key"] == "feedback.status_changed"


def test_overdue_is_staged_in_the_write_that_records_it():
    rec = case(status="acknowledged", due_at=NOW - timedelta(hours=1), department_id="bpbd")
    query, update, staged = feedback.overdue(rec, NOW)
    assert query == {"_id": rec["_id"], "version": 0, "overdue_at": None}
    assert update["$set"]["overdue_at"] == NOW
    data = events.decode(events.encode(staged[0]["event"])).data
    assert (data["status"], data["department_id"]) == ("acknowledged", "bpbd")


def test_the_work_list_entry_wakes_the_sweep_at_the_warning_the_due_time_then_the_window_end():
    due = NOW + timedelta(hours=3)
    created = case()["created_at"]
    entry = feedback.worklist_entry(case(status="categorized", due_at=due), POLICY)
    # first at the warning (three quarters of the way from the report), then at the due time
    warn = created + (due - created) * 0.75
    assert entry["open"] and entry["wake_at"] == warn and entry["order"].startswith("2025-01-02T06")
    warned = feedback.worklist_entry(
        case(status="categorized", due_at=due, due_soon_at=warn), POLICY
    )
    assert warned["wake_at"] == due
    late = feedback.worklist_entry(case(status="in_progress", due_at=due, overdue_at=NOW), POLICY)
    assert late["overdue"] and late["wake_at"] is None
    resolved = feedback.worklist_entry(case(status="resolved", resolved_at=NOW), POLICY)
    assert resolved["wake_at"] == NOW + timedelta(days=14)
    closed = feedback.worklist_entry(case(status="closed"), POLICY)
    assert not closed["open"] and closed["wake_at"] is None and "closed_at" in closed
    assert feedback.worklist_entry(case(), POLICY)["order"].startswith("~|")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42:abc", "req-42:abc"),
        ("x" * 101, None),
        ("has space", None),
        ("", None),
        (None, None),
        ('{"$gt": 1}', None),
    ],
)
def test_only_sane_correlation_ids_are_taken_from_callers(given, kept):
    assert feedback.valid_correlation_id(given) == kept


def test_keyed_ids_are_stable_distinct_and_look_like_tracking_ids():
    a = feedback.keyed_id("http", "key-1")
    assert a == feedback.keyed_id("http", "key-1")
    assert re.fullmatch(r"SU-[0-9A-Z]{10}", a) and not set(a[3:]) & set("ILOU")
    assert a != feedback.keyed_id("http", "key-2")
    assert feedback.keyed_id("amqp", "a", "b/c") != feedback.keyed_id("amqp", "a/b", "c")
    assert feedback.submission_id("sipadu", "9", None) == feedback.keyed_id("amqp", "sipadu", "9")
    assert feedback.submission_id(None, None, "k") == feedback.keyed_id("http", "k")
    assert feedback.submission_id(None, None, None) != feedback.submission_id(None, None, None)
