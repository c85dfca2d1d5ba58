"""The outbox against the real FerretDB/MongoDB and RabbitMQ: relay, sweep, nothing lost."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.amqp.publish import Publisher

from shared import events, outbox, outbox_entries, topology
from tests.helpers import urgent_data

QUEUE = topology.event_queue_name("notification", "feedback.urgent")


def urgent_entry(feedback_id: str) -> dict:
    return outbox_entries.entry(
        "categorization",
        "feedback.urgent",
        urgent_data(feedback_id),
        subject=feedback_id,
        correlation_id="it",
    )


@pytest.fixture
def publish(amqp_uri):
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer=None)

    def _publish(entry: dict) -> None:
        publisher.publish(
            events.encode(entry["event"]),
            exchange=entry["exchange"],
            routing_key=entry["routing_key"],
            content_type=events.CONTENT_TYPE,
        )

    return _publish


def queued_subjects(amqp_uri) -> list[str]:
    from kombu import Connection

    subjects = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (m := channel.basic_get(QUEUE)) is not None:
            subjects.append(events.decode(m.body).subject)
            channel.basic_ack(m.delivery_tag)
    return subjects


def test_relay_publishes_confirmed_and_empties_the_outbox(db, publish, amqp_uri, purge):
    purge(QUEUE)
    outbox.ensure_indexes(db.things)
    db.things.insert_one(
        {"_id": "SU-A", **outbox_entries.staged([urgent_entry("SU-A"), urgent_entry("SU-A")])}
    )
    assert outbox.relay(db.things, "SU-A", publish) == 2
    doc = db.things.find_one({"_id": "SU-A"})
    assert doc["outbox"] == [] and "outbox_at" not in doc
    assert queued_subjects(amqp_uri) == ["SU-A", "SU-A"]
    assert outbox.relay(db.things, "SU-A", publish) == 0  # nothing twice


def stage(db, doc_id: str, entries: list[dict], at: datetime | None = None) -> None:
    """What a store does: note the entries, then write the document that stages them."""
    outbox.mark(db.things, doc_id, entries, at)
    db.things.insert_one({"_id": doc_id, **outbox_entries.staged(entries, at)})


def test_sweep_publishes_what_a_crash_left_staged_and_only_that(db, publish, amqp_uri, purge):
    purge(QUEUE)
    old = datetime.now(UTC) - timedelta(seconds=60)
    stage(db, "SU-CRASHED", [urgent_entry("SU-CRASHED")], old)
    stage(db, "SU-FRESH", [urgent_entry("SU-FRESH")])
    db.things.insert_one({"_id": "SU-DONE", "outbox": []})
    assert outbox.sweep(db.things, publish, older_than_s=5) == 1
    assert queued_subjects(amqp_uri) == ["SU-CRASHED"]
    assert db.things.find_one({"_id": "SU-FRESH"})["outbox"]  # its writer still relays it
    assert outbox.sweep(db.things, publish, older_than_s=5) == 0  # published once
    pending = {n["doc_id"] for n in db[outbox.PENDING].find()}
    assert pending == {"SU-FRESH"}  # the crashed one's note went with its event


def test_the_sweep_is_driven_by_the_pending_notes_not_by_the_stored_documents(
    db, publish, amqp_uri, purge
):
    """Its cost follows what is pending: it reads the notes, then each noted document by _id;
    the 2,000 stored documents are never scanned (a document staged without a note, which no
    store writes, is therefore not found)."""
    purge(QUEUE)
    db.things.insert_many([{"_id": f"SU-OLD{k:05d}", "outbox": []} for k in range(2000)])
    old = datetime.now(UTC) - timedelta(seconds=60)
    stage(db, "SU-LEFT", [urgent_entry("SU-LEFT")], old)
    db.things.insert_one(
        {"_id": "SU-UNNOTED", **outbox_entries.staged([urgent_entry("SU-X")], old)}
    )
    assert outbox.sweep(db.things, publish, older_than_s=5) == 1
    assert queued_subjects(amqp_uri) == ["SU-LEFT"]


def test_a_document_that_cannot_be_relayed_does_not_stop_the_sweep(db, publish, amqp_uri, purge):
    purge(QUEUE)
    old = datetime.now(UTC) - timedelta(seconds=60)
    bad = urgent_entry("SU-BAD")
    bad["exchange"] = "no-such-exchange"  # unpublishable: the broker refuses it
    stage(db, "SU-BAD", [bad], old)
    stage(db, "SU-GOOD", [urgent_entry("SU-GOOD")], old)
    assert outbox.sweep(db.things, publish, older_than_s=5) == 1
    assert queued_subjects(amqp_uri) == ["SU-GOOD"]
    assert db.things.find_one({"_id": "SU-BAD"})["outbox"]  # kept, and swept again later


def test_a_note_whose_entry_was_never_staged_is_dropped_in_time(db, publish, purge):
    purge(QUEUE)
    ancient = datetime.now(UTC) - timedelta(seconds=outbox.ORPHAN_AFTER_S + 60)
    outbox.mark(db.things, "SU-NEVER", [urgent_entry("SU-NEVER")], ancient)  # the write crashed
    assert outbox.sweep(db.things, publish, older_than_s=5) == 0
    assert db[outbox.PENDING].count_documents({}) == 0


def test_a_failed_publish_leaves_the_event_staged(db, purge):
    db.things.insert_one({"_id": "SU-B", **outbox_entries.staged([urgent_entry("SU-B")])})

    def broker_down(entry):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        outbox.relay(db.things, "SU-B", broker_down)
    assert len(db.things.find_one({"_id": "SU-B"})["outbox"]) == 1


def test_relay_or_defer_leaves_events_to_the_sweep_on_an_outage_but_raises_a_bug(db):
    stage(db, "SU-OUT", [urgent_entry("SU-OUT")])

    def broker_down(entry):
        raise ConnectionRefusedError(111, "Connection refused")

    outbox.relay_or_defer(db.things, "SU-OUT", broker_down)  # deferred: no exception
    assert db.things.find_one({"_id": "SU-OUT"})["outbox"]

    def bug(entry):
        raise KeyError("exchange")

    with pytest.raises(KeyError):
        outbox.relay_or_defer(db.things, "SU-OUT", bug)
    assert db.things.find_one({"_id": "SU-OUT"})["outbox"]  # still staged for the sweep
