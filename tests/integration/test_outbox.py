"""The outbox against the real FerretDB/MongoDB and RabbitMQ: relay, sweep, nothing lost."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.amqp.publish import Publisher

from shared import events, outbox, topology
from tests.helpers import urgent_data

QUEUE = topology.event_queue_name("notification", "feedback.urgent")


def urgent_entry(feedback_id: str) -> dict:
    return outbox.entry(
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
        {"_id": "SU-A", **outbox.staged([urgent_entry("SU-A"), urgent_entry("SU-A")])}
    )
    assert outbox.relay(db.things, "SU-A", publish) == 2
    doc = db.things.find_one({"_id": "SU-A"})
    assert doc["outbox"] == [] and "outbox_at" not in doc
    assert queued_subjects(amqp_uri) == ["SU-A", "SU-A"]
    assert outbox.relay(db.things, "SU-A", publish) == 0  # nothing twice


def test_sweep_publishes_what_a_crash_left_staged_and_only_that(db, publish, amqp_uri, purge):
    purge(QUEUE)
    old = datetime.now(UTC) - timedelta(seconds=60)
    db.things.insert_one({"_id": "SU-CRASHED", **outbox.staged([urgent_entry("SU-CRASHED")], old)})
    db.things.insert_one({"_id": "SU-FRESH", **outbox.staged([urgent_entry("SU-FRESH")])})
    db.things.insert_one({"_id": "SU-DONE", "outbox": []})
    assert outbox.sweep(db.things, publish, older_than_s=5) == 1
    assert queued_subjects(amqp_uri) == ["SU-CRASHED"]
    assert db.things.find_one({"_id": "SU-FRESH"})["outbox"]  # its writer still relays it


def test_a_failed_publish_leaves_the_event_staged(db, purge):
    db.things.insert_one({"_id": "SU-B", **outbox.staged([urgent_entry("SU-B")])})

    def broker_down(entry):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        outbox.relay(db.things, "SU-B", broker_down)
    assert len(db.things.find_one({"_id": "SU-B"})["outbox"]) == 1
