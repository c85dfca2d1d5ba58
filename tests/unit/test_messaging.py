"""The pure parts of messaging: retry backoff (shared/messaging.py) and the AMQP topology
(shared/topology.py), checked without a broker."""

from __future__ import annotations

import pytest
from kombu import Exchange, Queue

from shared import events, topology
from shared.messaging import (
    ATTEMPTS_HEADER,
    MessageHandler,
    attempts_of,
    body_bytes,
    retry_delay_s,
)

# --- retry_delay_s ---


def test_first_retry_waits_the_base_delay():
    assert retry_delay_s(1, 500) == pytest.approx(0.5)
    assert retry_delay_s(1, 2000) == pytest.approx(2.0)


def test_each_retry_doubles_the_delay():
    delays = [retry_delay_s(attempt, 250) for attempt in range(1, 7)]
    assert delays == pytest.approx([0.25, 0.5, 1.0, 2.0, 4.0, 8.0])


@pytest.mark.parametrize("attempt", [0, -1, -100])
def test_attempts_below_one_wait_the_base_delay(attempt):
    assert retry_delay_s(attempt, 500) == pytest.approx(0.5)


def test_the_delay_is_capped():
    assert retry_delay_s(8, 500) == pytest.approx(60.0)  # 64 s uncapped
    assert retry_delay_s(7, 500) == pytest.approx(32.0)
    assert retry_delay_s(5, 1000, cap_s=10.0) == pytest.approx(10.0)
    assert retry_delay_s(100, 500) == pytest.approx(60.0)


def test_the_delay_never_decreases():
    delays = [retry_delay_s(attempt, 300, cap_s=45.0) for attempt in range(0, 40)]
    assert delays == sorted(delays)
    assert max(delays) == pytest.approx(45.0)


def test_a_huge_attempt_count_still_gives_the_cap():
    assert retry_delay_s(5000, 500) == pytest.approx(60.0)


# --- topology ---

QUEUES = topology.consumer_queues()
ENTITIES = topology.entities()
DECLARED_QUEUES = {e.name: e for e in ENTITIES if isinstance(e, Queue)}
DECLARED_EXCHANGES = {e.name: e for e in ENTITIES if isinstance(e, Exchange)}
SUBSCRIPTIONS = [(spec, consumer) for spec in events.EVENTS.values() for consumer in spec.consumers]


@pytest.mark.parametrize(
    ("spec", "consumer"), SUBSCRIPTIONS, ids=[f"{c}<-{s.type}" for s, c in SUBSCRIPTIONS]
)
def test_every_consumer_has_its_own_queue_bound_to_the_publisher(spec, consumer):
    name = f"suara.{consumer}.{spec.type}"
    assert topology.event_queue_name(consumer, spec.type) == name
    queue = QUEUES[name]
    assert queue.exchange.name == f"{spec.service}.events" == spec.exchange
    assert queue.routing_key == spec.type
    assert queue.durable is True


def test_there_are_no_other_consumer_queues():
    expected = {f"suara.{c}.{s.type}" for s, c in SUBSCRIPTIONS} | {"suara.intake.feedback.submit"}
    assert set(QUEUES) == expected | set(topology.WORK_QUEUES)


def test_a_work_queue_is_fed_by_the_default_exchange_and_waits_in_fixed_tiers():
    (name,) = topology.WORK_QUEUES
    assert name == "suara.notification.deliveries"
    assert not QUEUES[name].exchange or not QUEUES[name].exchange.name
    for seconds in topology.WAIT_TIERS_S:
        wait = DECLARED_QUEUES[topology.wait_queue_name(name, seconds)]
        # each wait queue holds every message for the same time, then hands it back
        assert wait.queue_arguments == {
            "x-message-ttl": seconds * 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": name,
        }
        assert wait.durable is True


@pytest.mark.parametrize(
    ("wait", "tier"), [(0, None), (0.2, None), (0.8, 1), (4.9, 1), (5, 5), (299, 30), (36000, 7200)]
)
def test_a_job_waits_in_the_longest_tier_not_longer_than_its_wait(wait, tier):
    assert topology.wait_tier(wait) == tier


def test_the_submit_command_queue_is_bound_to_the_intake_command_exchange():
    name = topology.command_queue_name("feedback.submit")
    assert name == "suara.intake.feedback.submit"
    queue = QUEUES[name]
    assert queue.exchange.name == "suara.intake" == topology.COMMAND_EXCHANGE
    assert queue.routing_key == "feedback.submit"


@pytest.mark.parametrize("name", sorted(QUEUES))
def test_every_queue_has_a_retry_and_a_dead_letter_companion(name):
    retry = DECLARED_QUEUES[f"{name}.retry"]
    dead = DECLARED_QUEUES[f"{name}.dead"]
    assert topology.retry_queue_name(name) == retry.name
    assert topology.dead_queue_name(name) == dead.name
    # a message waits out its per-message TTL, then dead-letters back into its queue
    assert retry.queue_arguments == {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": name,
    }
    # the companions are reached through the default exchange only, never by a topic binding
    for companion in (retry, dead):
        assert not companion.exchange or not companion.exchange.name
        assert companion.durable is True
    # a dead letter stays until someone looks at it
    assert not (dead.queue_arguments or {}).get("x-message-ttl")
    assert not (dead.queue_arguments or {}).get("x-dead-letter-exchange")


def test_every_declared_queue_is_durable_and_accounted_for():
    waits = len(topology.WORK_QUEUES) * len(topology.WAIT_TIERS_S)
    assert len(DECLARED_QUEUES) == 3 * len(QUEUES) + waits
    assert all(
        q.durable and not q.auto_delete and not q.exclusive
        for q in ENTITIES
        if isinstance(q, Queue)
    )
    assert set(QUEUES) <= set(DECLARED_QUEUES)


def test_all_exchanges_are_durable_topic_exchanges():
    assert set(DECLARED_EXCHANGES) == {
        "intake.events",
        "categorization.events",
        "notification.events",
        "reporting.events",
        "suara.intake",
    }
    for exchange in DECLARED_EXCHANGES.values():
        assert (exchange.type, exchange.durable, exchange.auto_delete) == ("topic", True, False)


def test_queues_bind_to_exchanges_declared_the_same_way():
    for queue in QUEUES.values():
        if queue.name in topology.WORK_QUEUES:
            continue  # the default exchange
        declared = DECLARED_EXCHANGES[queue.exchange.name]
        assert (queue.exchange.type, queue.exchange.durable) == (declared.type, declared.durable)


def test_exchanges_are_declared_before_the_queues_bound_to_them():
    kinds = [isinstance(e, Exchange) for e in ENTITIES]
    assert kinds == sorted(kinds, reverse=True)  # every exchange first


def test_every_event_publisher_has_an_exchange():
    for spec in events.EVENTS.values():
        assert spec.exchange in DECLARED_EXCHANGES


# --- attempts_of, body_bytes: what a message from outside can carry ---


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        (3, 3),
        ("4", 4),
        (b"2", 2),
        ("abc", 0),
        (-7, 0),
        ("", 0),
        (None, 0),
        (1.5, 0),
        (True, 0),
        ([1], 0),
        ("9" * 5000, 0),
    ],
)
def test_an_attempts_header_counts_only_as_a_non_negative_integer(raw, count):
    assert attempts_of({ATTEMPTS_HEADER: raw}) == count
    assert attempts_of({}) == 0


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        (b"\xff", "binary", b"\xff"),
        ("", None, b""),
        ("h\u00e9", "latin-1", b"h\xe9"),
        ("h\u00e9", "no-such-codec", "h\u00e9".encode()),
        (bytearray(b"x"), None, b"x"),
    ],
)
def test_a_body_is_always_bytes_again(body, encoding, expected):
    assert body_bytes(body, encoding) == expected


class _LostConnection:
    """A queue consumer whose connection is gone (a broker restart)."""

    def ack_message(self, message):
        raise ConnectionResetError(104, "Connection reset by peer")

    requeue_message = ack_message


def test_an_ack_on_a_lost_connection_does_not_raise_into_nameko():
    # found by make chaos: the exception killed intake's container during a RabbitMQ restart
    handler = MessageHandler(queue_name=lambda s: s, decode=lambda b: b)
    handler.queue = Queue("q")
    handler.queue_consumer = _LostConnection()
    handler.handle_result(object(), b"{}", 0.0, None, result=None, exc_info=None)
    handler._requeue(object())
