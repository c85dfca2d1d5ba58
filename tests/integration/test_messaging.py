"""The consumer entrypoint against the real RabbitMQ: retries, dead-lettering, never stuck."""

import json

import pytest
from kombu import Connection, Producer

from shared import config, events, topology
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


def publish(
    amqp_uri: str,
    body: bytes,
    content_type=events.CONTENT_TYPE,
    content_encoding="utf-8",
    headers: dict | None = None,
) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange="categorization.events",
            routing_key="feedback.urgent",
            content_type=content_type,
            content_encoding=content_encoding,
            headers=headers,
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
    recurse_for: set = set()


class FlakyService:
    name = "reporting"

    @event_handler("categorization", "feedback.urgent")
    def on_urgent(self, event):
        Handled.seen.append(event.data["feedback_id"])
        if event.data["feedback_id"] in Handled.fail_for:
            raise RuntimeError("cannot handle this one")
        if event.data["feedback_id"] in Handled.recurse_for:
            raise RecursionError("maximum recursion depth exceeded")


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


@pytest.fixture
def flaky(container_factory, service_config, amqp_uri, purge):
    """A running FlakyService (3 attempts) on a purged queue."""
    purge(QUEUE, topology.retry_queue_name(QUEUE), topology.dead_queue_name(QUEUE))
    Handled.seen, Handled.fail_for, Handled.recurse_for = [], set(), set()
    container = container_factory(FlakyService, service_config("reporting", MAX_ATTEMPTS=3))
    container.start()
    return container


def dead_reasons(amqp_uri: str, count: int) -> list[str]:
    """Wait for ``count`` dead letters on QUEUE's dead-letter queue; their reasons."""
    got: list = []
    wait_for(
        lambda: got.extend(drain(amqp_uri, topology.dead_queue_name(QUEUE))) or len(got) >= count,
        timeout=15,
        message=f"{count} dead letters",
    )
    return [h["x-suara-reason"] for h, _ in got]


def test_poison_messages_are_dead_lettered_once_and_the_consumer_lives_on(flaky, amqp_uri):
    """Issue 7: each of these killed the container or looped for ever on main."""
    deep = b'{"specversion":"1.0","data":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    publish(amqp_uri, deep)  # RecursionError in json.loads
    publish(amqp_uri, b"")  # an empty body (reached the republish as a str)
    publish(amqp_uri, b"")
    publish(amqp_uri, b'{"a": "\\ud800"}')  # a lone surrogate (JSON escape)
    publish(amqp_uri, b"\xff\xfe", content_encoding="x-no-such-codec")
    publish(amqp_uri, b"x" * 300_000)
    # the framework's own header, from outside: ignored, never trusted
    publish(
        amqp_uri,
        events.encode(urgent_event("SU-HDR0000000")),
        headers={"nameko.call_id_stack": 5, "nameko.correlation_id": {"x": 1}},
    )
    publish(amqp_uri, events.encode(urgent_event("SU-GOOD000000")))

    wait_for(lambda: "SU-GOOD000000" in Handled.seen, timeout=15)
    reasons = dead_reasons(amqp_uri, 6)
    assert len(reasons) == 6, reasons
    assert any("nested deeper than 32" in r for r in reasons), reasons
    assert sum("body is not JSON" in r for r in reasons) >= 3, reasons  # two empty, one 0xff
    assert any("lone surrogate" in r for r in reasons), reasons
    assert any("larger than" in r for r in reasons), reasons
    assert Handled.seen == ["SU-HDR0000000", "SU-GOOD000000"]
    assert flaky._died.ready() is False
    assert drain(amqp_uri, QUEUE) == [] and drain(amqp_uri, topology.retry_queue_name(QUEUE)) == []


@pytest.mark.parametrize("attempts", ["abc", -7, "", "9" * 5000, 1.5])
def test_a_failing_message_with_an_odd_attempts_header_is_still_bounded(flaky, amqp_uri, attempts):
    Handled.fail_for = {"SU-BAD0000000"}
    publish(
        amqp_uri,
        events.encode(urgent_event("SU-BAD0000000")),
        headers={"x-suara-attempts": attempts},
    )
    reasons = dead_reasons(amqp_uri, 1)
    assert reasons[0].startswith("failed 3 times"), reasons
    assert Handled.seen.count("SU-BAD0000000") == 3
    assert flaky._died.ready() is False


def test_a_handler_raising_recursion_error_is_retried_then_dead_lettered(flaky, amqp_uri):
    Handled.recurse_for = {"SU-REC0000000"}
    publish(amqp_uri, events.encode(urgent_event("SU-REC0000000")))
    publish(amqp_uri, events.encode(urgent_event("SU-GOOD000000")))
    reasons = dead_reasons(amqp_uri, 1)
    assert reasons[0].startswith("failed 3 times; last: RecursionError"), reasons
    assert "SU-GOOD000000" in Handled.seen
    assert flaky._died.ready() is False


@pytest.fixture
def quorum_uri(amqp_uri):
    """The vhost suara-test-quorum (deploy/local-servers.sh), its topology of quorum queues."""
    uri = amqp_uri.rsplit("/", 1)[0] + "/suara-test-quorum"
    topology.declare(uri, queue_type="quorum", force=True)
    for name in (QUEUE, topology.retry_queue_name(QUEUE), topology.dead_queue_name(QUEUE)):
        drain(uri, name)
    return uri


def test_on_quorum_queues_a_failing_handler_is_retried_then_dead_lettered(
    container_factory, service_config, quorum_uri
):
    """The same retries and dead letters with every queue a quorum queue (SUARA_QUEUE_TYPE),
    as on the production cluster: per-message TTL on the retry queue and at-least-once
    dead-lettering back into the work queue."""
    import requests

    api = "http://127.0.0.1:15672/api/queues/suara-test-quorum/"
    queue = requests.get(api + QUEUE, auth=("admin", "suara-admin-dev"), timeout=10).json()
    retry = requests.get(
        api + topology.retry_queue_name(QUEUE), auth=("admin", "suara-admin-dev"), timeout=10
    ).json()
    assert queue["type"] == retry["type"] == "quorum"
    assert retry["arguments"]["x-dead-letter-strategy"] == "at-least-once"

    Handled.seen, Handled.fail_for = [], {"SU-BAD0000000"}
    own = config.dev_amqp_uri("reporting", quorum_uri)
    cfg = service_config("reporting", MAX_ATTEMPTS=3, AMQP_URI=own, QUEUE_TYPE="quorum")
    container = container_factory(FlakyService, cfg)
    container.start()
    publish(quorum_uri, events.encode(urgent_event("SU-BAD0000000")))
    publish(quorum_uri, events.encode(urgent_event("SU-GOOD000000")))
    wait_for(lambda: "SU-GOOD000000" in Handled.seen, timeout=10)
    wait_for(lambda: Handled.seen.count("SU-BAD0000000") == 3, timeout=15)
    container.stop()

    dead = drain(quorum_uri, topology.dead_queue_name(QUEUE))
    assert [h["x-suara-reason"][:15] for h, _ in dead] == ["failed 3 times;"]
    assert Handled.seen.count("SU-GOOD000000") == 1
