"""nameko extensions for Suara's messaging: a consumer entrypoint with bounded retries and
dead-lettering, and a publisher with confirms.

Why not nameko's own ``@event_handler``/``@consume``: a message that does not decode would
crash nameko's consumer thread or be dropped, and a failing handler is either dropped (the
default) or redelivered at once for ever (``requeue_on_error``). Here a message is always
acknowledged only after it was handled, moved to its retry queue (confirmed) or moved to its
dead-letter queue with the reason (confirmed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import eventlet
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider, Entrypoint
from nameko.messaging import QueueConsumer
from pymongo.errors import ConnectionFailure

from shared import events, metrics, observability, topology, untrusted
from shared.events import InvalidMessage

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-suara-attempts"
REASON_HEADER = "x-suara-reason"
# errors of the infrastructure, not of the message: retried without counting an attempt
TRANSIENT_ERRORS = (ConnectionFailure, OperationalError, ConnectionError, TimeoutError)
MAX_TRANSIENT_DELAY_S = 30.0
REQUEUE_PAUSE_S = 2.0  # before a message that could not be moved anywhere is requeued


def retry_delay_s(attempt: int, base_ms: int, cap_s: float = 60.0) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped."""
    return min(cap_s, base_ms / 1000.0 * 2.0 ** min(max(0, attempt - 1), 64))


def attempts_of(headers: dict) -> int:
    """The attempts header as a count: anything but a non-negative integer counts as 0."""
    raw = headers.get(ATTEMPTS_HEADER, 0)
    if isinstance(raw, bool) or not isinstance(raw, int | str | bytes):
        return 0
    try:
        return max(0, int(raw))
    except ValueError:  # not a number, or too many digits
        return 0


def body_bytes(body, encoding: str | None) -> bytes:
    """The message body as bytes, whatever py-amqp made of it (it decodes some bodies to str)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    text = body if isinstance(body, str) else str(body)
    try:
        return text.encode(encoding or "utf-8")
    except (LookupError, UnicodeError, TypeError):
        return text.encode("utf-8", "backslashreplace")


def describe(exc: BaseException) -> str:
    """An exception as a reason for a header: its type and message, bounded."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # a message that cannot even be printed
        text = type(exc).__name__
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:1000]


class RawQueueConsumer(QueueConsumer):
    """nameko's queue consumer, handing entrypoints the raw message (no kombu decoding).

    Its prefetch is the AMQP worker budget (``PREFETCH``), not the container's whole pool,
    which HTTP requests share.
    """

    @property
    def prefetch_count(self):
        return int(self.container.config.get("PREFETCH", self.container.max_workers))

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue], on_message=partial(self._on_message, provider)
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def _on_message(self, provider, message):
        provider.handle_message(body_bytes(message.body, message.content_encoding), message)

    def setup(self):
        topology.declare(self.amqp_uri, queue_type=self.container.config.get("QUEUE_TYPE"))


class MessageHandler(Entrypoint):
    """Consumes one queue; the decorated method gets the decoded, validated message.

    Nothing a message carries can raise out of here (that would kill the container): decoding,
    headers and the handler all end in the handler's success, a retry or a dead letter. Headers
    are not turned into nameko context (``nameko.*`` headers from outside are not trusted).
    """

    queue_consumer = RawQueueConsumer()

    def __init__(self, queue_name: Callable[[str], str], decode: Callable[[bytes], Any], **kw):
        self._queue_name = queue_name
        self.decode = decode
        super().__init__(**kw)

    def setup(self):
        config = self.container.config
        name = self._queue_name(self.container.service_name)
        queues = topology.consumer_queues(config.get("QUEUE_TYPE"))
        if name not in queues:
            raise RuntimeError(f"queue {name} is not in the topology (shared/events.py)")
        self.queue = queues[name]
        self.max_attempts = int(config.get("MAX_ATTEMPTS", 5))
        self.retry_delay_ms = int(config.get("RETRY_DELAY_MS", 500))
        self.publisher = Publisher(
            config["AMQP_URI"], use_confirms=True, mandatory=True, serializer=None
        )
        self.queue_consumer.register_provider(self)

    def stop(self):
        self.queue_consumer.unregister_provider(self)

    def handle_message(self, body: bytes, message) -> None:
        try:
            if len(body) > untrusted.MAX_BYTES:
                raise InvalidMessage(f"body is larger than {untrusted.MAX_BYTES} bytes")
            payload = self.decode(body)
        except Exception as exc:  # whatever a message makes a decoder raise, it is the message's
            reason = f"invalid: {exc}" if isinstance(exc, InvalidMessage) else describe(exc)
            self._settle(message, body, lambda: self._dead_letter(message, body, reason))
            return
        try:
            self.container.spawn_worker(
                self,
                (payload,),
                {},
                # only the W3C trace headers, checked (shared/observability.py): no nameko.*
                context_data={
                    observability.TRACE_KEY: observability.trace_headers(message.headers)
                },
                handle_result=partial(self.handle_result, message, body, time.monotonic()),
            )
        except ContainerBeingKilled:
            self._requeue(message)

    def handle_result(
        self, message, body, started: float, worker_ctx: WorkerContext, result=None, exc_info=None
    ):
        if exc_info is None:
            self._ack(message)
        else:
            self._settle(message, body, lambda: self._after_failure(message, body, exc_info[1]))
        metrics.HANDLER_SECONDS.labels(self.queue.name).observe(time.monotonic() - started)
        return result, exc_info

    def _settle(self, message, body: bytes, move: Callable[[], None]) -> None:
        """Move the message (confirmed) and ack it. If that fails, dead-letter it bare; if even
        that fails (the broker), requeue it after a pause, so nothing spins."""
        try:
            move()
        except Exception as exc:
            log.exception("could not move a message of %s", self.queue.name)
            try:
                self._publish(
                    body,
                    topology.dead_queue_name(self.queue.name),
                    {REASON_HEADER: f"could not be moved: {describe(exc)}"},
                    {},
                )
            except Exception:
                log.exception("could not dead-letter a message of %s; requeue", self.queue.name)
                eventlet.spawn_after(REQUEUE_PAUSE_S, self._requeue, message)
                return
        self._ack(message)

    def _ack(self, message) -> None:
        metrics.CONSUMED.labels(self.queue.name).inc()
        # on a connection lost (a broker restart) the ack fails; raising here would kill the
        # container, and the broker redelivers an unacknowledged message anyway
        try:
            self.queue_consumer.ack_message(message)
        except Exception as exc:
            log.warning(
                "%s: could not acknowledge (%s); it will be redelivered",
                self.queue.name,
                describe(exc),
            )

    def _requeue(self, message) -> None:
        try:
            self.queue_consumer.requeue_message(message)
        except Exception as exc:  # the channel is gone: the broker redelivers it anyway
            log.warning("%s: could not requeue (%s)", self.queue.name, describe(exc))

    def _after_failure(self, message, body: bytes, exc: BaseException) -> None:
        headers = dict(message.headers or {})
        attempts = attempts_of(headers)
        reason = describe(exc)
        if isinstance(exc, InvalidMessage):
            self._dead_letter(message, body, f"invalid: {exc}")
        elif isinstance(exc, TRANSIENT_ERRORS):
            delay = min(MAX_TRANSIENT_DELAY_S, retry_delay_s(attempts + 1, self.retry_delay_ms))
            log.warning(
                "%s: transient failure (%s); retry in %.1fs", self.queue.name, reason, delay
            )
            metrics.RETRIED.labels(self.queue.name).inc()
            self._republish(
                message,
                body,
                topology.retry_queue_name(self.queue.name),
                {**headers, ATTEMPTS_HEADER: attempts, REASON_HEADER: reason},
                expiration=delay,
            )
        elif attempts + 1 >= self.max_attempts:
            self._dead_letter(message, body, f"failed {attempts + 1} times; last: {reason}")
        else:
            delay = retry_delay_s(attempts + 1, self.retry_delay_ms)
            log.warning(
                "%s: attempt %d failed (%s); retry in %.1fs",
                self.queue.name,
                attempts + 1,
                reason,
                delay,
            )
            headers.update({ATTEMPTS_HEADER: attempts + 1, REASON_HEADER: reason})
            metrics.RETRIED.labels(self.queue.name).inc()
            self._republish(
                message, body, topology.retry_queue_name(self.queue.name), headers, expiration=delay
            )

    def _dead_letter(self, message, body: bytes, reason: str) -> None:
        log.error("%s: dead-lettering a message: %s", self.queue.name, reason[:300])
        headers = dict(message.headers or {})
        info = message.delivery_info or {}
        headers.update(
            {
                REASON_HEADER: reason[:1000],
                "x-suara-queue": self.queue.name,
                "x-suara-dead-at": events.now_iso(),
                "x-original-exchange": info.get("exchange", ""),
                "x-original-routing-key": info.get("routing_key", ""),
            }
        )
        self._republish(message, body, topology.dead_queue_name(self.queue.name), headers)
        metrics.DEAD_LETTERED.labels(self.queue.name).inc()

    def _republish(self, message, body: bytes, queue: str, headers: dict, expiration=None):
        props = message.properties or {}
        self._publish(
            body,
            queue,
            headers,
            {
                "content_type": message.content_type,
                "content_encoding": message.content_encoding,
                "message_id": props.get("message_id"),
                "correlation_id": props.get("correlation_id"),
            },
            expiration=expiration,
        )

    def _publish(self, body: bytes, queue: str, headers: dict, props: dict, expiration=None):
        """Publish the raw bytes to one of this queue's companions (the default exchange)."""
        self.publisher.publish(
            body,
            exchange="",
            routing_key=queue,
            headers=headers,
            expiration=expiration,
            content_type=props.get("content_type") or "application/octet-stream",
            content_encoding=props.get("content_encoding") or "binary",
            message_id=props.get("message_id"),
            correlation_id=props.get("correlation_id"),
        )


def event_handler(source: str, event_type: str, **kwargs):
    """Consume ``source``'s event ``event_type``; the method gets a validated events.Event."""
    contract = events.spec(source, event_type)

    def queue_name(service: str) -> str:
        if service not in contract.consumers:
            raise RuntimeError(
                f"{service} is not a consumer of {source}/{event_type} in shared/events.py"
            )
        return topology.event_queue_name(service, event_type)

    return MessageHandler.decorator(
        queue_name=queue_name, decode=partial(events.decode, expected=contract), **kwargs
    )


def command_handler(routing_key: str, decode: Callable[[bytes], Any], **kwargs):
    """Consume commands sent to the ``suara.intake`` exchange with ``routing_key``."""
    return MessageHandler.decorator(
        queue_name=lambda service: topology.command_queue_name(routing_key),
        decode=decode,
        **kwargs,
    )


def job_handler(queue: str, decode: Callable[[bytes], Any], **kwargs):
    """Consume one of the service's own work queues (shared/topology.py WORK_QUEUES)."""
    if queue not in topology.WORK_QUEUES:
        raise RuntimeError(f"{queue} is not a work queue in shared/topology.py")
    return MessageHandler.decorator(queue_name=lambda service: queue, decode=decode, **kwargs)


class JobPublisher(DependencyProvider):
    """Puts jobs on the service's own work queues: now, or after a wait (its wait queues), or
    in its dead-letter queue with a reason; persistent, confirmed, mandatory. The dependency
    is this object: ``send(queue, body, wait_s=0)``, ``dead_letter(queue, body, reason)``."""

    def setup(self):
        amqp_uri = self.container.config["AMQP_URI"]
        topology.declare(amqp_uri, queue_type=self.container.config.get("QUEUE_TYPE"))
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer=None)

    def send(self, queue: str, body: bytes, wait_s: float = 0.0) -> None:
        tier = topology.wait_tier(wait_s)
        routing_key = queue if tier is None else topology.wait_queue_name(queue, tier)
        self.publisher.publish(
            body,
            exchange="",
            routing_key=routing_key,
            headers=observability.trace_attributes(),  # the job continues this trace
            content_type="application/json",
            content_encoding="utf-8",
        )
        metrics.PUBLISHED.labels("", routing_key).inc()

    def dead_letter(self, queue: str, body: bytes, reason: str) -> None:
        self.publisher.publish(
            body,
            exchange="",
            routing_key=topology.dead_queue_name(queue),
            headers={
                REASON_HEADER: reason[:1000],
                "x-suara-queue": queue,
                "x-suara-dead-at": events.now_iso(),
            },
            content_type="application/json",
            content_encoding="utf-8",
        )

    def get_dependency(self, worker_ctx):
        return self


class EventPublisher(DependencyProvider):
    """Publishes outbox entries: persistent, confirmed, mandatory (unroutable raises)."""

    def setup(self):
        amqp_uri = self.container.config["AMQP_URI"]
        topology.declare(amqp_uri, queue_type=self.container.config.get("QUEUE_TYPE"))
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer=None)

    def publish(self, entry: dict) -> None:
        event = entry["event"]
        self.publisher.publish(
            events.encode(event),
            exchange=entry["exchange"],
            routing_key=entry["routing_key"],
            content_type=events.CONTENT_TYPE,
            content_encoding="utf-8",
            message_id=event["id"],
            correlation_id=event.get("correlationid"),
        )
        metrics.PUBLISHED.labels(entry["exchange"], entry["routing_key"]).inc()

    def get_dependency(self, worker_ctx):
        return self.publish
