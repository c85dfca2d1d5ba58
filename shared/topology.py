"""AMQP topology: every exchange and queue Suara uses, declared the same way by every service.

Each consumer queue ``Q`` has two companions: ``Q.retry`` (messages wait there for their
backoff, then dead-letter back into ``Q`` through the default exchange) and ``Q.dead`` (the
dead-letter queue: messages that cannot be processed, with the reason in their headers).
Every service declares the whole topology when it starts, so no event is published before
the queues of its consumers exist (an unbound event would otherwise be dropped).

Queues are classic or quorum (``SUARA_QUEUE_TYPE``; quorum in the production manifests, on a
RabbitMQ cluster: replicated, so a node lost loses no message). A quorum queue that
dead-letters (the retry and wait queues, whose expired messages go back to their work queue)
does so at least once (``x-dead-letter-strategy``, which needs ``x-overflow:
reject-publish``), so a message survives a node's failure on its way back too. A queue's type
cannot change once declared: see the README (Operations, upgrading to quorum queues).
"""

from __future__ import annotations

import logging
import threading

from kombu import Connection, Exchange, Queue

from shared import config, events

log = logging.getLogger(__name__)

QUEUE_TYPE = config.queue_type()  # read at import: one type for the whole topology

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


def _arguments(queue_type: str | None, dead_letters_to: str | None = None, **more) -> dict:
    """A queue's arguments: its type, and where its expired messages go."""
    arguments = dict(more)
    if dead_letters_to is not None:
        arguments.update(
            {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letters_to}
        )
    if (queue_type or QUEUE_TYPE) == "quorum":
        arguments["x-queue-type"] = "quorum"
        if dead_letters_to is not None:
            arguments.update(
                {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
            )
    return arguments


def _with_companions(queue: Queue, queue_type: str | None) -> list[Queue]:
    retry = Queue(
        retry_queue_name(queue.name),
        durable=True,
        queue_arguments=_arguments(queue_type, dead_letters_to=queue.name),
    )
    dead = Queue(dead_queue_name(queue.name), durable=True, queue_arguments=_arguments(queue_type))
    return [queue, retry, dead]


def consumer_queues(queue_type: str | None = None) -> dict[str, Queue]:
    """Every consumer queue, by name."""
    queues = {}
    arguments = _arguments(queue_type)
    for spec in events.EVENTS.values():
        for consumer in spec.consumers:
            name = event_queue_name(consumer, spec.type)
            queues[name] = Queue(
                name,
                _exchange(spec.exchange),
                routing_key=spec.type,
                durable=True,
                queue_arguments=arguments,
            )
    for routing_key in COMMANDS:
        name = command_queue_name(routing_key)
        queues[name] = Queue(
            name,
            _exchange(COMMAND_EXCHANGE),
            routing_key=routing_key,
            durable=True,
            queue_arguments=arguments,
        )
    for name in WORK_QUEUES:  # the default exchange only
        queues[name] = Queue(name, durable=True, queue_arguments=arguments)
    return queues


def _waits(queue: str, queue_type: str | None) -> list[Queue]:
    return [
        Queue(
            wait_queue_name(queue, seconds),
            durable=True,
            queue_arguments=_arguments(
                queue_type, dead_letters_to=queue, **{"x-message-ttl": seconds * 1000}
            ),
        )
        for seconds in WAIT_TIERS_S
    ]


def entities(queue_type: str | None = None) -> list[Exchange | Queue]:
    declared: list[Exchange | Queue] = [
        _exchange(name)
        for name in sorted({s.exchange for s in events.EVENTS.values()} | {COMMAND_EXCHANGE})
    ]
    for queue in consumer_queues(queue_type).values():
        declared.extend(_with_companions(queue, queue_type))
    for name in WORK_QUEUES:
        declared.extend(_waits(name, queue_type))
    return declared


_declared: set[tuple[str, str]] = set()
_lock = threading.Lock()


def declare(
    amqp_uri: str, *, timeout_s: float = 60.0, force: bool = False, queue_type: str | None = None
) -> None:
    """Declare the whole topology (idempotent); waits up to ``timeout_s`` for the broker."""
    queue_type = queue_type or QUEUE_TYPE
    with _lock:
        if (amqp_uri, queue_type) in _declared and not force:
            return
        with Connection(amqp_uri, connect_timeout=5) as conn:
            conn.ensure_connection(
                max_retries=max(1, int(timeout_s / 2)),
                interval_start=1,
                interval_step=1,
                interval_max=2,
            )
            channel = conn.channel()
            for entity in entities(queue_type):
                entity.bind(channel).declare()
        _declared.add((amqp_uri, queue_type))
        log.info("AMQP topology declared")
