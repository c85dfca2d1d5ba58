""" "Me too" against the real servers: categorization's place documents on FerretDB (read by
``_id``, written with ``$set``/``$unset`` of one case's field), its use cases on them, and the
categorization service itself through the real broker: a WhatsApp report and an English one
of one blocked culvert end in one cluster, another problem at the same spot does not, and once
the first case is resolved a new report starts a cluster of its own."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kombu import Connection, Exchange, Producer, Queue

from services.categorization import duplicates, handlers, store
from services.categorization.service import CategorizationService
from services.categorization.triage import Decision
from shared import events, topology
from tests.helpers import wait_for

SCHOOL = (-6.8905, 109.6702)  # SD Negeri 2 Kergon
NEAR = (SCHOOL[0] + 40 / duplicates.METRES_PER_DEGREE, SCHOOL[1])  # 40 m north
WHATSAPP = "min gorong2 dpn SDN 2 Kergon mampet, tiap ujan banyune luber ke jalan. tlg dicek"
ENGLISH = (
    "The culvert in front of SD Negeri 2 Kergon is blocked; whenever it rains the water "
    "overflows onto the road"
)
FENCE = "Pagar sekolah SD Negeri 2 Kergon roboh kena angin, bahaya buat anak-anak"
# the same culvert, another failure: its concrete cover broke (a problem of its own)
COVER = "Tutup gorong-gorong depan SDN 2 Kergon pecah dan ambrol, ada anak hampir terperosok"
SETTINGS = duplicates.Settings()
STATUS_QUEUE = topology.event_queue_name("categorization", "feedback.status_changed")
RECEIVED_QUEUE = topology.event_queue_name("categorization", "feedback.received")
REVIEWED_QUEUE = topology.event_queue_name("categorization", "feedback.duplicate_reviewed")


def fid() -> str:
    return "SU-" + uuid.uuid4().hex[:10].upper()


def received(
    feedback_id: str, text: str, where=SCHOOL, *, hours_ago: float = 0, **more
) -> events.Event:
    data = {
        "feedback_id": feedback_id,
        "channel": "whatsapp",
        "text": text,
        "location": {
            "lat": where[0] if where else None,
            "lon": where[1] if where else None,
            "kelurahan": "Bendan Kergon",
        },
        "submitted_at": events.iso(datetime.now(UTC) - timedelta(hours=hours_ago)),
        **more,
    }
    return decoded("intake", "feedback.received", data, feedback_id)


def status(feedback_id: str, to: str, sequence: int, followers=()) -> events.Event:
    data = {
        "feedback_id": feedback_id,
        "from": "in_progress" if to != "reopened" else "resolved",
        "to": to,
        "department_id": "bpbd",
        "sequence": sequence,
        "changed_at": events.now_iso(),
        "followers": list(followers),
    }
    return decoded("intake", "feedback.status_changed", data, feedback_id)


def reviewed(feedback_id: str, similar_to: str, decision: str) -> events.Event:
    data = {
        "feedback_id": feedback_id,
        "similar_to": similar_to,
        "cluster_id": similar_to,
        "decision": decision,
        "department_id": "bpbd",
        "reviewed_at": events.now_iso(),
    }
    return decoded("intake", "feedback.duplicate_reviewed", data, feedback_id)


def decoded(service: str, event_type: str, data: dict, feedback_id: str) -> events.Event:
    built = events.build(service, event_type, data, subject=feedback_id, correlation_id="it")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def flooding(text: str) -> Decision:
    return Decision(
        category="flooding",
        confidence=0.9,
        department="BPBD",
        priority="normal",
        urgency_reasons=[],
        language="id",
        alternatives=[],
        needs_review=False,
        model_version="it",
        method="model",
    )


class Published(list):
    def of(self, event_type: str, feedback_id: str) -> list[dict]:
        return [
            e["event"]["data"]
            for e in self
            if e["routing_key"] == event_type and e["event"]["subject"] == feedback_id
        ]


@pytest.fixture
def categorize(db):
    store.ensure_indexes(db)
    published = Published()

    def run(event: events.Event, settings: duplicates.Settings = SETTINGS) -> bool:
        return handlers.categorize(
            db, published.append, event, flooding, {"flooding": "BPBD"}, settings
        )

    run.published = published
    return run


def place_ids(db, feedback_id: str) -> dict[str, dict]:
    """The place documents holding a case: key -> its entry."""
    record = store.get(db, feedback_id)["duplicates"]
    return {
        doc["_id"]: doc["cases"][duplicates.slot(feedback_id)]
        for doc in store.places(db, record["nearby_keys"])
        if duplicates.slot(feedback_id) in (doc.get("cases") or {})
    }


# the store and the use cases on FerretDB


def test_place_documents_are_written_by_id_idempotently_and_pruned(db):
    now = datetime.now(UTC)
    keys = ["geo:150:1:2", "kel:bendan kergon"]
    entry = {"id": "SU-A", "at": now, "cluster_id": "SU-A", "sig": [5, 9], "lat": 1.0, "lon": 2.0}
    store.file_case(db, keys, entry, {}, now)
    store.file_case(db, keys, entry, {}, now)  # a repeat changes nothing
    old = {**entry, "id": "SU-OLD", "at": now - timedelta(days=30)}
    store.file_case(db, keys[:1], old, {}, now)
    docs = {d["_id"]: d for d in store.places(db, [*keys, "geo:150:9:9"])}
    assert set(docs) == set(keys)
    assert set(docs["geo:150:1:2"]["cases"]) == {"SU-A", "SU-OLD"}
    assert docs["kel:bendan kergon"]["cases"]["SU-A"]["sig"] == [5, 9]

    evict = duplicates.evictions(docs["geo:150:1:2"]["cases"], "SU-B", now, SETTINGS)
    assert evict == ["SU-OLD"]
    store.file_case(db, keys[:1], {**entry, "id": "SU-B"}, {keys[0]: evict}, now)
    (cell,) = store.places(db, keys[:1])
    assert set(cell["cases"]) == {"SU-A", "SU-B"}

    store.unfile_cases(db, keys, ["SU-A", "SU-NONE"])
    store.unfile_cases(db, keys, ["SU-A"])  # idempotent
    docs = {d["_id"]: d for d in store.places(db, keys)}
    assert (
        set(docs["geo:150:1:2"]["cases"]) == {"SU-B"} and docs["kel:bendan kergon"]["cases"] == {}
    )


def test_a_place_document_keeps_at_most_its_cap(db):
    now = datetime.now(UTC)
    key = "geo:150:0:0"
    for i in range(6):
        entry = {"id": f"SU-{i}", "at": now - timedelta(minutes=10 - i), "cluster_id": f"SU-{i}"}
        (doc,) = store.places(db, [key]) or [{"cases": {}}]
        evict = duplicates.evictions(doc["cases"], entry["id"], now, SETTINGS, cap=3)
        store.file_case(db, [key], {**entry, "sig": []}, {key: evict}, now)
    (doc,) = store.places(db, [key])
    assert set(doc["cases"]) == {"SU-3", "SU-4", "SU-5"}


def test_a_repeat_links_nothing_new_and_publishes_nothing_new(db, categorize):
    first, second = fid(), fid()
    assert categorize(received(first, WHATSAPP, hours_ago=1))
    assert categorize(received(second, ENGLISH, NEAR))
    (linked,) = categorize.published.of("feedback.categorized", second)
    assert (linked["similar_to"], linked["cluster_id"]) == (first, first)
    (suspected,) = categorize.published.of("feedback.duplicate_suspected", second)
    assert suspected["similar_to"] == first and suspected["kelurahan"] == "Bendan Kergon"
    assert 0 < suspected["distance_m"] < 45 and suspected["category"] == "flooding"
    assert SETTINGS.min_similarity <= suspected["similarity"] <= 1  # the scorer's probability
    count = len(categorize.published)

    assert not categorize(received(second, ENGLISH, NEAR))
    assert len(categorize.published) == count
    assert store.get(db, second)["duplicates"]["similar_to"] == first
    assert set(place_ids(db, second)) == set(store.get(db, second)["duplicates"]["home_keys"])


def test_the_same_culvert_failing_otherwise_starts_a_cluster_of_its_own(db, categorize):
    first, cover = fid(), fid()
    assert categorize(received(first, WHATSAPP, hours_ago=1))
    assert categorize(received(cover, COVER, NEAR))
    (alone,) = categorize.published.of("feedback.categorized", cover)
    assert (alone["cluster_id"], alone["similar_to"]) == (cover, None)
    assert categorize.published.of("feedback.duplicate_suspected", cover) == []


def test_a_repeat_files_the_case_a_crash_left_out(db, categorize):
    first = fid()
    categorize(received(first, WHATSAPP))
    record = store.get(db, first)["duplicates"]
    store.unfile_cases(db, record["home_keys"], [first])  # as if it crashed before filing
    assert place_ids(db, first) == {}
    assert not categorize(received(first, WHATSAPP))
    assert set(place_ids(db, first)) == set(record["home_keys"])


def test_imported_history_no_location_and_the_check_off_are_not_checked(db, categorize):
    history = received(fid(), WHATSAPP, imported=True)
    nowhere_id = fid()
    nowhere = decoded(
        "intake",
        "feedback.received",
        {"feedback_id": nowhere_id, "channel": "sms", "text": WHATSAPP, "submitted_at": "x"},
        nowhere_id,
    )
    off = received(fid(), WHATSAPP)
    categorize(history)
    categorize(nowhere)
    categorize(off, duplicates.Settings(enabled=False))
    for event, reason in ((history, "imported"), (nowhere, "no_location"), (off, "disabled")):
        feedback_id = event.data["feedback_id"]
        assert store.get(db, feedback_id)["duplicates"] == {"checked": False, "reason": reason}
        (announced,) = categorize.published.of("feedback.categorized", feedback_id)
        assert "cluster_id" not in announced and "similar_to" not in announced
    where = duplicates.place_of(off.data["location"])
    assert store.places(db, duplicates.nearby_keys(where, SETTINGS)) == []  # filed nowhere


def test_without_coordinates_the_kelurahan_links_and_its_own_id_starts_a_cluster(db, categorize):
    first, second = fid(), fid()
    categorize(received(first, WHATSAPP, where=None, hours_ago=2))
    categorize(received(second, ENGLISH))
    (alone,) = categorize.published.of("feedback.categorized", first)
    assert alone["cluster_id"] == first and alone["similar_to"] is None
    (linked,) = categorize.published.of("feedback.duplicate_suspected", second)
    assert linked["similar_to"] == first and linked["distance_m"] is None


def test_resolved_cases_leave_with_their_cluster_and_a_reopened_one_comes_back(db, categorize):
    first, second, other = fid(), fid(), fid()
    categorize(received(first, WHATSAPP, hours_ago=2))
    categorize(received(second, ENGLISH, NEAR, hours_ago=1))
    categorize(received(other, FENCE))
    handlers.status_changed(db, status(first, "in_progress", 2), SETTINGS)  # still open
    assert place_ids(db, first)
    handlers.status_changed(db, status(first, "resolved", 3, followers=[second]), SETTINGS)
    assert place_ids(db, first) == {} and place_ids(db, second) == {}
    assert place_ids(db, other)  # another problem, another cluster: it stays
    handlers.status_changed(db, status(first, "resolved", 3, followers=[second]), SETTINGS)
    handlers.status_changed(db, status(first, "in_progress", 1), SETTINGS)  # older: ignored
    assert store.get(db, first)["duplicates"]["status_sequence"] == 3

    third = fid()
    categorize(received(third, WHATSAPP))
    (alone,) = categorize.published.of("feedback.categorized", third)
    assert alone["cluster_id"] == third and alone["similar_to"] is None

    handlers.status_changed(db, status(first, "reopened", 4), SETTINGS)
    assert place_ids(db, first) and store.get(db, first)["duplicates"]["open"] is True
    fourth = fid()
    categorize(received(fourth, ENGLISH, NEAR))
    (linked,) = categorize.published.of("feedback.categorized", fourth)
    assert linked["similar_to"] == first  # the earliest open case again


def test_closing_a_case_that_joined_a_cluster_leaves_the_cluster_alone(db, categorize):
    first, second = fid(), fid()
    categorize(received(first, WHATSAPP, hours_ago=2))
    categorize(received(second, ENGLISH, NEAR, hours_ago=1))
    handlers.status_changed(db, status(second, "duplicate", 2), SETTINGS)
    assert place_ids(db, second) == {} and place_ids(db, first)


def test_a_status_change_before_the_decision_is_retried(db):
    with pytest.raises(handlers.NotCategorized):
        handlers.status_changed(db, status(fid(), "resolved", 2), SETTINGS)


def test_an_undone_link_makes_the_case_a_cluster_of_its_own_for_later_reports(db, categorize):
    first, second = fid(), fid()
    categorize(received(first, WHATSAPP, hours_ago=3))
    categorize(received(second, ENGLISH, NEAR, hours_ago=2))
    handlers.duplicate_reviewed(db, reviewed(second, first, "confirmed"), SETTINGS)
    assert {e["cluster_id"] for e in place_ids(db, second).values()} == {first}
    handlers.duplicate_reviewed(db, reviewed(second, first, "undone"), SETTINGS)
    handlers.duplicate_reviewed(db, reviewed(second, first, "undone"), SETTINGS)  # idempotent
    assert {e["cluster_id"] for e in place_ids(db, second).values()} == {second}
    record = store.get(db, second)["duplicates"]
    assert (record["cluster_id"], record["similar_to"], record["undone"]) == (second, None, True)
    # the first case closes: the undone one stays, a case of its own
    handlers.status_changed(db, status(first, "resolved", 2, followers=[]), SETTINGS)
    assert place_ids(db, first) == {} and place_ids(db, second)
    third = fid()
    categorize(received(third, ENGLISH, NEAR))
    (linked,) = categorize.published.of("feedback.categorized", third)
    assert (linked["similar_to"], linked["cluster_id"]) == (second, second)


# the service through the real broker


class Outcomes:
    """A queue of the test's own on categorization.events: what the service announced."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self.name = f"test.dupcat.{uuid.uuid4().hex[:8]}"
        self.seen: list[dict] = []
        exchange = Exchange("categorization.events", type="topic", durable=True)
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            for key in ("feedback.categorized", "feedback.duplicate_suspected"):
                Queue(self.name, exchange, routing_key=key, auto_delete=False)(channel).declare()

    def of(self, event_type: str, feedback_id: str) -> list[dict]:
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            while (message := channel.basic_get(self.name)) is not None:
                self.seen.append(json.loads(message.body))
                channel.basic_ack(message.delivery_tag)
        return [
            e["data"]
            for e in self.seen
            if e["type"].endswith(event_type) and e["subject"] == feedback_id
        ]

    def wait(self, event_type: str, feedback_id: str) -> dict:
        found = wait_for(lambda: self.of(event_type, feedback_id), timeout=30, message=feedback_id)
        return found[0]

    def delete(self) -> None:
        with Connection(self.amqp_uri) as conn:
            conn.channel().queue_delete(self.name)


def publish(amqp_uri: str, event: events.Event | bytes, routing_key: str | None = None) -> None:
    if isinstance(event, events.Event):
        contract = events.spec("intake", event.type)
        data = contract.schema().dump(event.data)  # "from_" back to "from"
        body = events.encode(
            events.build("intake", event.type, data, subject=event.subject, correlation_id="it")
        )
        routing_key = contract.type
    else:
        body = event
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange="intake.events",
            routing_key=routing_key,
            content_type=events.CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
        )


def test_the_service_clusters_one_culvert_reported_twice_and_not_another_problem(
    container_factory, service_config, amqp_uri, purge, db
):
    queues = (RECEIVED_QUEUE, STATUS_QUEUE, REVIEWED_QUEUE)
    purge(*queues, *(topology.dead_queue_name(q) for q in queues))
    outcomes = Outcomes(amqp_uri)
    container = container_factory(CategorizationService, service_config("categorization"))
    container.start()
    try:
        first, second, fence, later = fid(), fid(), fid(), fid()
        publish(amqp_uri, received(first, WHATSAPP, hours_ago=1))
        assert outcomes.wait("feedback.categorized", first)["cluster_id"] == first
        publish(amqp_uri, received(second, ENGLISH, NEAR))
        linked = outcomes.wait("feedback.categorized", second)
        assert (linked["similar_to"], linked["cluster_id"]) == (first, first)
        suspected = outcomes.wait("feedback.duplicate_suspected", second)
        assert suspected["similar_to"] == first and 30 < suspected["distance_m"] < 50

        publish(amqp_uri, received(fence, FENCE, NEAR))
        alone = outcomes.wait("feedback.categorized", fence)
        assert alone["cluster_id"] == fence and alone["similar_to"] is None
        assert outcomes.of("feedback.duplicate_suspected", fence) == []

        publish(amqp_uri, status(first, "resolved", 5, followers=[second]))
        wait_for(lambda: place_ids(db, first) == {} == place_ids(db, second), timeout=30)
        publish(amqp_uri, received(later, WHATSAPP, NEAR))
        own = outcomes.wait("feedback.categorized", later)
        assert own["cluster_id"] == later and own["similar_to"] is None

        # an invalid status change is dead-lettered with the reason
        broken = dict(status(first, "closed", 6).document)
        broken["data"] = {k: v for k, v in broken["data"].items() if k != "sequence"}
        publish(amqp_uri, json.dumps(broken).encode(), "feedback.status_changed")
        dead = wait_for(lambda: _get(amqp_uri, topology.dead_queue_name(STATUS_QUEUE)), timeout=30)
        assert "invalid" in dead.headers["x-suara-reason"]
        assert "sequence" in dead.headers["x-suara-reason"]
    finally:
        container.stop()
        outcomes.delete()


def _get(amqp_uri: str, queue: str):
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        message = channel.basic_get(queue)
        if message is not None:
            channel.basic_ack(message.delivery_tag)
        return message
