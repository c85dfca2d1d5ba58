"""The broker's own limit: one hop with raw kombu, as Suara's messaging does it.

One publisher sends persistent messages, each confirmed by the broker before the next (as
``shared.messaging.EventPublisher`` does), to a durable queue bound to a topic exchange; one
consumer (prefetch = ``SUARA_MAX_WORKERS``' default, 10) acknowledges each message. The rate
is messages / (last consumed - first published), the median of ``repeats`` runs. The message
is a real ``feedback.received`` CloudEvent, so the size is the size Suara publishes.
"""

from __future__ import annotations

import statistics
import threading
import time

from kombu import Connection, Consumer, Exchange, Queue

from shared import events

EXCHANGE = "bench.baseline"
QUEUE = "bench.baseline"


def sample_event(text: str) -> bytes:
    """A ``feedback.received`` event as intake publishes it (the text as given)."""
    event = events.build(
        "intake",
        "feedback.received",
        {
            "feedback_id": "SU-0123456789",
            "channel": "http",
            "source": None,
            "text": text,
            "language": None,
            "category_hint": None,
            "location": {"kecamatan": "Pekalongan Utara", "kelurahan": "Panjang Wetan"},
            "submitted_at": events.now_iso(),
        },
        subject="SU-0123456789",
        correlation_id="3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    )
    return events.encode(event)


def _one_run(amqp_uri: str, body: bytes, n: int, prefetch: int) -> dict:
    exchange = Exchange(EXCHANGE, type="topic", durable=True)
    queue = Queue(QUEUE, exchange, routing_key="baseline", durable=True)
    consumed = 0
    first_consumed = last_consumed = 0.0
    done = threading.Event()
    ready = threading.Event()
    errors: list[BaseException] = []

    def on_message(message) -> None:
        nonlocal consumed, first_consumed, last_consumed
        message.ack()
        consumed += 1
        last_consumed = time.perf_counter()
        if consumed == 1:
            first_consumed = last_consumed
        if consumed == n:
            done.set()

    def consume() -> None:
        try:
            with Connection(amqp_uri) as conn:
                channel = conn.channel()
                bound = queue.bind(channel)
                bound.declare()
                bound.purge()
                consumer = Consumer(channel, [bound], on_message=on_message, no_ack=False)
                consumer.qos(prefetch_count=prefetch)
                consumer.consume()
                ready.set()
                while not done.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            done.set()

    thread = threading.Thread(target=consume, name="bench-baseline-consumer", daemon=True)
    thread.start()
    ready.wait(30)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        started = time.perf_counter()
        for _ in range(n):
            producer.publish(
                body,
                exchange=exchange,
                routing_key="baseline",
                delivery_mode=2,
                mandatory=True,
                content_type=events.CONTENT_TYPE,
                content_encoding="utf-8",
            )
        published = time.perf_counter()
    done.wait(120)
    thread.join(10)
    if errors:
        raise RuntimeError(f"baseline consumer failed: {errors[0]}")
    if consumed != n:
        raise RuntimeError(f"baseline: {consumed} of {n} messages consumed")
    return {
        "one_hop_per_s": n / (last_consumed - started),
        "confirmed_publish_per_s": n / (published - started),
    }


def measure(amqp_uri: str, body: bytes, n: int = 3000, repeats: int = 3, prefetch: int = 10):
    """The broker's confirmed one-hop rate (median of ``repeats``) for messages like ``body``."""
    _one_run(amqp_uri, body, 200, prefetch)  # warm-up: connections, queue, caches
    runs = [_one_run(amqp_uri, body, n, prefetch) for _ in range(repeats)]
    try:
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            channel.queue_delete(QUEUE)
            channel.exchange_delete(EXCHANGE)
    except Exception:  # leftovers in the bench vhost are harmless
        pass
    return {
        "one_hop_per_s": round(statistics.median(r["one_hop_per_s"] for r in runs), 1),
        "confirmed_publish_per_s": round(
            statistics.median(r["confirmed_publish_per_s"] for r in runs), 1
        ),
        "runs_one_hop_per_s": [round(r["one_hop_per_s"], 1) for r in runs],
        "messages_per_run": n,
        "message_bytes": len(body),
        "prefetch": prefetch,
    }
