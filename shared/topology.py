"""AMQP topology: every exchange and queue Suara uses, declared the same way by every service.

Each consumer queue ``Q`` has two companions: ``Q.retry`` (messages wait there for their
backoff, then dead-letter back into ``Q`` through the default exchange) and ``Q.dead`` (the
dead-letter queue: messages that cannot be processed, with the reason in their headers).
Every service declares the whole topology when it starts, so no event is published before
the queues of its consumers exist (an unbound event would otherwise be dropped).
"""

from __future__ import annotations

import logging
import threading

from kombu import Connection, Exchange, Queue

from shared import events

log = logging.getLogger(__name__)

COMMAND_EXCHANGE = "suara.intake"
# routing key -> the service that executes the command
COMMANDS = {"feedback.submit": "intake"}

# A service's own work queues, fed through the default exchange: notification's delivery jobs
# (a webhook attempt, a message held for quiet hours, a retry). A job that must wait goes to
# the longest wait queue not longer than its wait; each wait queue holds messages for a fixed
# time (x-message-ttl), then dead-letters them back into the work queue, so one long wait never
# holds up a short one (RabbitMQ expires messages only at a queue's head).
WORK_QUEUES = {"suara.notification.deliveries": "notification"}
WAIT_TIERS_S = (1, 5, 30, 300, 1800, 7200)


def wait_queue_name(queue: str, seconds: int) -> str:
    return f"{queue}.wait.{seconds}s"


def wait_tier(seconds: float) -> int | None:
    """The wait queue for a job due in ``seconds``: the longest tier not longer than it (the
    job comes back and waits again for the rest), or None when it is due now."""
    if seconds < 0.5:
        return None
    return max((t for t in WAIT_TIERS_S if t <= seconds), default=WAIT_TIERS_S[0])


def event_queue_name(consumer: str, event_type: str) -> str:
    return f"suara.{consumer}.{event_type}"


def command_queue_name(routing_key: str) -> str:
    return f"suara.{COMMANDS[routing_key]}.{routing_key}"


def retry_queue_name(queue: str) -> str:
    return f"{queue}.retry"


def dead_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def _exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def _with_companions(queue: Queue) -> list[Queue]:
    retry = Queue(
        retry_queue_name(queue.name),
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue.name,
        },
    )
    dead = Queue(dead_queue_name(queue.name), durable=True)
    return [queue, retry, dead]


def consumer_queues() -> dict[str, Queue]:
    """Every consumer queue, by name."""
    queues = {}
    for spec in events.EVENTS.values():
        for consumer in spec.consumers:
            name = event_queue_name(consumer, spec.type)
            queues[name] = Queue(
                name, _exchange(spec.exchange), routing_key=spec.type, durable=True
            )
    for routing_key in COMMANDS:
        name = command_queue_name(routing_key)
        queues[name] = Queue(
            name, _exchange(COMMAND_EXCHANGE), routing_key=routing_key, durable=True
        )
    for name in WORK_QUEUES:
        queues[name] = Queue(name, durable=True)  # the default exchange only
    return queues


def _waits(queue: str) -> list[Queue]:
    return [
        Queue(
            wait_queue_name(queue, seconds),
            durable=True,
            queue_arguments={
                "x-message-ttl": seconds * 1000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
            },
        )
        for seconds in WAIT_TIERS_S
    ]


def entities() -> list[Exchange | Queue]:
    declared: list[Exchange | Queue] = [
        _exchange(name)
        for name in sorted({s.exchange for s in events.EVENTS.values()} | {COMMAND_EXCHANGE})
    ]
    for queue in consumer_queues().values():
        declared.extend(_with_companions(queue))
    for name in WORK_QUEUES:
        declared.extend(_waits(name))
    return declared


_declared: set[str] = set()
_lock = threading.Lock()


def declare(amqp_uri: str, *, timeout_s: float = 60.0, force: bool = False) -> None:
    """Declare the whole topology (idempotent); waits up to ``timeout_s`` for the broker."""
    with _lock:
        if amqp_uri in _declared and not force:
            return
        with Connection(amqp_uri, connect_timeout=5) as conn:
            conn.ensure_connection(
                max_retries=max(1, int(timeout_s / 2)),
                interval_start=1,
                interval_step=1,
                interval_max=2,
            )
            channel = conn.channel()
            for entity in entities():
                entity.bind(channel).declare()
        _declared.add(amqp_uri)
        log.info("AMQP topology declared")
