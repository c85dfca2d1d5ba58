"""The erasure of a citizen's personal data (services/intake/handlers.erase) against the real
FerretDB: one write guarded by the case's version with ``feedback.erased`` staged in it, the
photos and the questions' senders deleted after it (and again after a crash), idempotent, and
the reply-address door closed."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from services.intake import channels, feedback, handlers, lifecycle, open311, photos, sla, store
from shared import outbox, workcalendar
from shared.http import Caller
from shared.taxonomy import TAXONOMY

CALENDAR = workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None)
POLICY = sla.Policy(CALENDAR, reopen_window=timedelta(days=14))
BPBD = Caller("bpbd", "bpbd")
KEYS = ("k" * 32,)
PHONE = "6281234567890"
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
ERASED_AT = T0 + timedelta(days=2)
SECRETS = (PHONE, "0812-3456-7890", "Budi Santoso", "3375012345678901")


class Published(list):
    def __call__(self, entry):
        self.append(entry["event"])

    def of(self, event_type):
        return [e for e in self if e["type"].endswith("." + event_type)]


class BrokerDown:
    def __call__(self, entry):
        raise OSError("broker unreachable")


@pytest.fixture
def intake_db(db):
    store.ensure_indexes(db)
    return db


def a_photo() -> photos.Photo:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return photos.clean(buffer.getvalue(), 5_000_000)


def a_case_message(message_id: str) -> channels.Inbound:
    return channels.Inbound(
        channel="whatsapp",
        message_id=message_id,
        sender=PHONE,
        name="Budi Santoso",
        text="Banjir di Jl. Kenanga 7, NIK saya 3375012345678901, telp 0812-3456-7890",
    )


def a_case(db, published, message_id="wamid.erase-1") -> str:
    """A WhatsApp report with two photos, categorized, moved with a note naming a number."""
    message = a_case_message(message_id)
    kind, record = handlers.receive_message(db, published, message, [a_photo(), a_photo()])
    assert kind == "report" and len(record["media"]) == 2
    fid = record["_id"]
    handlers.apply_categorization(
        db,
        POLICY,
        {
            "feedback_id": fid,
            "category": "flooding",
            "department": "BPBD",
            "confidence": 0.9,
            "priority": "normal",
            "method": "model",
            "categorized_at": T0.isoformat(),
            "revision": 1,
        },
    )
    move = lifecycle.Move("acknowledged", "warga dihubungi di 0812-3456-7890", "internal")
    handlers.change_status(db, published, POLICY, fid, move, BPBD)
    return fid


def a_question(db, published, about: str, sender: str, message_id: str) -> str:
    message = channels.Inbound("whatsapp", message_id, sender, f"STATUS {about}")
    kind, question = handlers.receive_message(db, published, message, [])
    assert kind == "question"
    return question["_id"]


def raw(db, fid) -> dict:
    return db.feedback.find_one({"_id": fid})


def test_erasure_takes_the_personal_data_and_keeps_the_case(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    before = raw(intake_db, fid)
    media = list(before["media"])
    public_before = feedback.public_view(store.get(intake_db, fid))
    assert handlers.reply_address(intake_db, fid, KEYS)["address"] == PHONE

    record = handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)

    after = raw(intake_db, fid)
    assert after["version"] == before["version"] + 1
    assert after["erased_at"].replace(tzinfo=UTC) == ERASED_AT
    assert feedback.erasure_receipt(record) == {"id": fid, "erased_at": "2026-12-03T01:00:00.000Z"}
    # gone, from the stored document itself
    stored = json.dumps(after, default=str)
    assert [s for s in SECRETS if s in stored] == []
    assert set(after["contact"] or {}) <= {"language"}  # only the language the citizen chose
    assert after["reply_to"] is None and after["media"] is None
    for media_id in media:
        assert store.photo(intake_db, media_id) is None
    # kept: the lifecycle, the category, the department, the public history
    for field in ("status", "category", "department_id", "priority", "channel", "created_at"):
        assert after[field] == before[field]
    assert [h["status"] for h in after["history"]] == [h["status"] for h in before["history"]]
    assert after["history"][-1]["note"] == "warga dihubungi di [phone]"
    assert feedback.public_view(store.get(intake_db, fid)) == public_before
    view = open311.request_view(store.get(intake_db, fid), TAXONOMY, True, "")
    assert view["media_url"] is None and "[nik]" in view["description"]
    # the doors: no reply address, no photo
    assert handlers.reply_address(intake_db, fid, KEYS) is None
    with pytest.raises(handlers.NotFound):
        handlers.photo_for(intake_db, KEYS, media[0], None, Caller("ops"))
    # announced once, then relayed (nothing left staged or noted)
    (event,) = published.of("feedback.erased")
    assert event["subject"] == fid
    assert event["data"] == {"feedback_id": fid, "erased_at": "2026-12-03T01:00:00.000Z"}
    assert after["outbox"] == []
    assert intake_db[outbox.PENDING].count_documents({"doc_id": fid}) == 0
    # the work list follows the case's version
    assert intake_db.worklist.find_one({"_id": fid})["version"] == after["version"]


def test_the_text_keeps_the_words_and_loses_the_identifiers(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)
    # the redactor knows e-mail addresses, phone numbers and NIK; a street in prose stays
    assert raw(intake_db, fid)["text"] == "Banjir di Jl. Kenanga 7, NIK saya [nik], telp [phone]"


def test_a_second_erasure_answers_the_first_and_announces_nothing(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)
    version = raw(intake_db, fid)["version"]

    again = handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT + timedelta(days=1))

    assert feedback.erasure_receipt(again)["erased_at"] == "2026-12-03T01:00:00.000Z"
    assert raw(intake_db, fid)["version"] == version
    assert len(published.of("feedback.erased")) == 1


def test_a_providers_late_retry_of_the_message_brings_nothing_back(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    media = list(raw(intake_db, fid)["media"])
    handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)
    erased = raw(intake_db, fid)

    again = a_case_message("wamid.erase-1")  # WhatsApp delivers the webhook once more
    kind, record = handlers.receive_message(intake_db, published, again, [a_photo(), a_photo()])

    assert (kind, record["_id"]) == ("report", fid)
    assert [store.photo(intake_db, m) for m in media] == [None, None]
    assert raw(intake_db, fid) == erased
    assert handlers.reply_address(intake_db, fid, KEYS) is None


def test_an_unknown_case_is_not_found(intake_db):
    with pytest.raises(handlers.NotFound):
        handlers.erase(intake_db, Published(), POLICY, "SU-0000000000")


def test_the_questions_about_the_case_lose_their_sender_and_others_keep_theirs(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    other = a_case(intake_db, published, message_id="wamid.erase-other")
    about = a_question(intake_db, published, fid, PHONE, "wamid.q1")
    about_other = a_question(intake_db, published, other, "6289999999999", "wamid.q2")
    assert handlers.reply_address(intake_db, about, KEYS)["address"] == PHONE

    handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)

    question = intake_db.replies.find_one({"_id": about})
    assert question["reply_to"] == {"channel": "whatsapp", "address": None}
    assert question["asked"] == fid and question["erased_at"] is not None
    assert handlers.reply_address(intake_db, about, KEYS) is None
    assert handlers.reply_address(intake_db, about_other, KEYS)["address"] == "6289999999999"
    # erasure is per case: the same citizen's other case keeps its address
    assert handlers.reply_address(intake_db, other, KEYS)["address"] == PHONE


def test_a_crash_after_the_write_is_finished_by_intakes_own_event(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    question = a_question(intake_db, published, fid, PHONE, "wamid.q3")
    media = list(raw(intake_db, fid)["media"])
    # the guarded write and nothing after it (the process died there)
    case = store.get(intake_db, fid)
    query, update, staged = feedback.erasure(case, ERASED_AT)
    assert store.write(intake_db, (query, update), staged)
    assert store.photo(intake_db, media[0]) is not None
    with pytest.raises(handlers.NotFound):  # a leftover photo is not served meanwhile
        handlers.photo_for(intake_db, KEYS, media[0], None, Caller("ops"))
    assert handlers.reply_address(intake_db, fid, KEYS) is None

    # the sweep publishes the staged event; intake, following it, deletes what was left
    outbox.sweep(intake_db.feedback, published, older_than_s=-1)
    (event,) = published.of("feedback.erased")
    handlers.finish_erasure(intake_db, POLICY, event["data"]["feedback_id"])

    assert [store.photo(intake_db, m) for m in media] == [None, None]
    assert intake_db.replies.find_one({"_id": question})["reply_to"]["address"] is None
    assert intake_db.worklist.find_one({"_id": fid})["version"] == raw(intake_db, fid)["version"]
    handlers.finish_erasure(intake_db, POLICY, fid)  # a redelivery changes nothing
    handlers.finish_erasure(intake_db, POLICY, "SU-0000000000")  # nor an unknown case


def test_with_the_broker_down_the_event_stays_staged_and_is_published_once(intake_db):
    published = Published()
    fid = a_case(intake_db, published)

    handlers.erase(intake_db, BrokerDown(), POLICY, fid, now=ERASED_AT)
    assert [e["event"]["type"] for e in raw(intake_db, fid)["outbox"]] == [
        "id.go.pekalongankota.suara.feedback.erased"
    ]
    handlers.erase(intake_db, BrokerDown(), POLICY, fid)  # a repeat stages nothing more
    assert len(raw(intake_db, fid)["outbox"]) == 1

    outbox.sweep(intake_db.feedback, published, older_than_s=-1)
    outbox.sweep(intake_db.feedback, published, older_than_s=-1)
    assert len(published.of("feedback.erased")) == 1
    assert raw(intake_db, fid)["outbox"] == []


def test_an_erasure_racing_moves_is_applied_once_and_loses_none_of_them(intake_db):
    published = Published()
    fid = a_case(intake_db, published)
    done: list = []

    def erase():
        handlers.erase(intake_db, published, POLICY, fid, now=ERASED_AT)
        done.append("erased")

    def move(status, note):
        handlers.change_status(
            intake_db, published, POLICY, fid, lifecycle.Move(status, note, "public"), BPBD
        )
        done.append(status)

    threads = [
        threading.Thread(target=erase),
        threading.Thread(target=erase),
        threading.Thread(target=move, args=("in_progress", "tim ke lokasi, 0812-3456-7890")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(done) == ["erased", "erased", "in_progress"]
    after = raw(intake_db, fid)
    assert after["status"] == "in_progress" and after["erased_at"] is not None
    assert len(published.of("feedback.erased")) == 1
    assert after["version"] == 4  # categorized, acknowledged, in_progress, erased: each once
    assert set(after["contact"] or {}) <= {"language"}
    # a move after the erasure may still write a note with a number in it: the erasure takes
    # what was there, not what staff write later
    steps = [h["status"] for h in after["history"]]
    assert steps == ["acknowledged", "in_progress"]
