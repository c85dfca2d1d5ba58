"""The consumer entrypoint against the real RabbitMQ: retries, dead-lettering, never stuck."""

import json

from kombu import Connection, Producer

from shared import events, topology
from shared.messaging import event_handler
from tests.helpers import urgent_data, wait_for

QUEUE = topology.event_queue_name("reporting", "feedback.urgent")


def urgent_event(feedback_id: str) -> dict:
    return events.build(
        "categorization",
        "feedback.urgent",
        urgent_data(feedback_id),
        subject=feedback_id,
        correlation_id="test",
    )


def publish(amqp_uri: str, body: bytes, content_type=events.CONTENT_TYPE) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange="categorization.events",
            routing_key="feedback.urgent",
            content_type=content_type,
            content_encoding="utf-8",
            delivery_mode=2,
        )


def drain(amqp_uri: str, queue: str) -> list:
    got = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (m := channel.basic_get(queue)) is not None:
            got.append((m.headers, m.body))
            channel.basic_ack(m.delivery_tag)
    return got


class Handled:
    seen: list = []
    fail_for: set = set()


class FlakyService:
    name = "reporting"

    @event_handler("categorization", "feedback.urgent")
    def on_urgent(self, event):
        Handled.seen.append(event.data["feedback_id"])
        if event.data["feedback_id"] in Handled.fail_for:
            raise RuntimeError("cannot handle this one")


def test_failing_handler_is_retried_then_dead_lettered_and_the_next_goes_through(
    container_factory, service_config, amqp_uri, purge
):
    purge(QUEUE, topology.retry_queue_name(QUEUE), topology.dead_queue_name(QUEUE))
    Handled.seen, Handled.fail_for = [], {"SU-BAD0000000"}
    container = container_factory(FlakyService, service_config("reporting", MAX_ATTEMPTS=3))
    container.start()

    publish(amqp_uri, events.encode(urgent_event("SU-BAD0000000")))
    publish(amqp_uri, b"{not json")
    publish(amqp_uri, events.encode(urgent_event("SU-GOOD000000")))

    wait_for(lambda: "SU-GOOD000000" in Handled.seen, timeout=10)
    wait_for(lambda: Handled.seen.count("SU-BAD0000000") == 3, timeout=10)
    container.stop()

    dead = drain(amqp_uri, topology.dead_queue_name(QUEUE))
    reasons = sorted(h["x-suara-reason"] for h, _ in dead)
    assert len(dead) == 2, reasons
    assert reasons[0].startswith("failed 3 times; last: RuntimeError: cannot handle this one")
    assert reasons[1].startswith("invalid: body is not JSON")
    assert Handled.seen.count("SU-BAD0000000") == 3  # bounded: not redelivered for ever
    assert Handled.seen.count("SU-GOOD000000") == 1
    assert drain(amqp_uri, QUEUE) == [] and drain(amqp_uri, topology.retry_queue_name(QUEUE)) == []


def test_event_breaking_its_contract_is_dead_lettered_with_the_reason(
    container_factory, service_config, amqp_uri, purge
):
    purge(QUEUE, topology.retry_queue_name(QUEUE), topology.dead_queue_name(QUEUE))
    Handled.seen, Handled.fail_for = [], set()
    container = container_factory(FlakyService, service_config("reporting"))
    container.start()
    bad = urgent_event("SU-X000000000")
    bad["data"]["category"] = "volcano"
    publish(amqp_uri, json.dumps(bad).encode())
    publish(amqp_uri, events.encode(urgent_event("SU-Y000000000")))
    wait_for(lambda: "SU-Y000000000" in Handled.seen, timeout=10)
    container.stop()
    dead = drain(amqp_uri, topology.dead_queue_name(QUEUE))
    assert len(dead) == 1
    assert "category" in dead[0][0]["x-suara-reason"]
    assert Handled.seen == ["SU-Y000000000"]
