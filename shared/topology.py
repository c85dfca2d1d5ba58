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
    return queues


def entities() -> list[Exchange | Queue]:
    declared: list[Exchange | Queue] = [
        _exchange(name)
        for name in sorted({s.exchange for s in events.EVENTS.values()} | {COMMAND_EXCHANGE})
    ]
    for queue in consumer_queues().values():
        declared.extend(_with_companions(queue))
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
