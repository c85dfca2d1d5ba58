"""The broker's limit for Suara's own topology: a raw kombu skeleton of it, no logic, no DB.

The same exchanges and consumer queues as ``shared.topology`` (declared by it, on the bench's
vhost, with no service running), one process per consuming service, as in Suara:

- an "intake" publisher sends ``feedback.received`` events, persistent and confirmed, from
  ``PUBLISHERS`` connections (intake's workers publish concurrently too);
- each consumer process acknowledges every message of its queues (prefetch 10, Suara's
  ``SUARA_MAX_WORKERS``); the "categorization" process, for each ``feedback.received``, first
  publishes ``feedback.categorized`` (persistent, confirmed), then acknowledges;
- an observer queue bound to both events stands for the bench's own (an integrator).

So a feedback is two confirmed publishes and their deliveries (three consumer queues each, plus
the observer): what the broker must do for Suara at least. ``skeleton_per_s`` is feedback per
second until the last delivery of the last one, the median of ``repeats`` runs.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import threading
import time

from kombu import Connection, Consumer, Exchange, Queue, binding

from bench import baseline
from shared import events, topology

PUBLISHERS = 4
PREFETCH = 10
OBSERVER = "bench.skeleton.observer"


def categorized_event() -> bytes:
    event = events.build(
        "categorization",
        "feedback.categorized",
        {
            "feedback_id": "SU-0123456789",
            "category": "roads",
            "department": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "confidence": 0.93,
            "priority": "normal",
            "method": "model",
            "revision": 1,
            "needs_review": False,
            "model_version": "bench",
            "language": "id",
            "categorized_at": events.now_iso(),
        },
        subject="SU-0123456789",
        correlation_id="3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    )
    return events.encode(event)


KEYS = ("feedback.received", "feedback.categorized")


def _queues_of(service: str) -> list[Queue]:
    """The service's queues of the two events (the skeleton sends no other)."""
    return [
        q
        for q in topology.consumer_queues().values()
        if q.name.startswith(f"suara.{service}.") and q.routing_key in KEYS
    ]


def _publish(producer, body: bytes, exchange: str, key: str) -> None:
    producer.publish(
        body,
        exchange=Exchange(exchange, type="topic", durable=True),
        routing_key=key,
        delivery_mode=2,
        mandatory=True,
        content_type=events.CONTENT_TYPE,
        content_encoding="utf-8",
    )


def _consume(amqp_uri: str, service: str, counts, ready, stop, categorized: bytes) -> None:
    """One consuming service: ack everything; categorization publishes first (confirmed)."""
    queues = _queues_of(service) if service != "observer" else []
    # a connection to publish on and one to consume from, as nameko's services have
    with (
        Connection(amqp_uri) as conn,
        Connection(amqp_uri, transport_options={"confirm_publish": True}) as out,
    ):
        channel = conn.channel()
        producer = out.Producer()
        if service == "observer":
            exchanges = {
                key: Exchange(f"{s}.events", type="topic", durable=True)
                for s, key in (("intake", KEYS[0]), ("categorization", KEYS[1]))
            }
            queues = [
                Queue(
                    OBSERVER,
                    bindings=[binding(ex, routing_key=key) for key, ex in exchanges.items()],
                    durable=False,
                )
            ]

        def on_message(message) -> None:
            key = message.delivery_info["routing_key"]
            if service == "categorization" and key == "feedback.received":
                _publish(producer, categorized, "categorization.events", "feedback.categorized")
            message.ack()
            with counts.get_lock():
                counts.value += 1

        for q in queues:
            q.bind(channel).declare()
        consumer = Consumer(channel, queues, on_message=on_message, no_ack=False)
        consumer.qos(prefetch_count=PREFETCH)
        consumer.consume()
        ready.set()
        while not stop.is_set():
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass


def _run(amqp_uri: str, received: bytes, categorized: bytes, n: int) -> dict:
    ctx = mp.get_context("fork")
    services = sorted({c for s in events.EVENTS.values() for c in s.consumers}) + ["observer"]
    stop = ctx.Event()
    counts = {s: ctx.Value("q", 0) for s in services}
    expected = {s: n * len(_queues_of(s)) for s in services if s != "observer"}
    expected["observer"] = 2 * n
    procs = []
    for service in services:
        ready = ctx.Event()
        proc = ctx.Process(
            target=_consume,
            args=(amqp_uri, service, counts[service], ready, stop, categorized),
            daemon=True,
        )
        proc.start()
        procs.append(proc)
        if not ready.wait(30):
            raise RuntimeError(f"skeleton {service} did not start")

    def publish(share: int) -> None:
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer()
            for _ in range(share):
                _publish(producer, received, "intake.events", "feedback.received")

    shares = [n // PUBLISHERS + (1 if i < n % PUBLISHERS else 0) for i in range(PUBLISHERS)]
    threads = [threading.Thread(target=publish, args=(k,)) for k in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    done_at = None
    while time.monotonic() < deadline:
        if all(counts[s].value >= expected[s] for s in services):
            done_at = time.perf_counter()
            break
        time.sleep(0.005)
    for t in threads:
        t.join(30)
    stop.set()
    for proc in procs:
        proc.join(10)
    if done_at is None:
        got = {s: counts[s].value for s in services}
        raise RuntimeError(f"skeleton: not all delivered within 120 s: {got} of {expected}")
    deliveries = sum(expected.values())
    return {"per_s": n / (done_at - started), "deliveries_per_feedback": deliveries / n}


def measure(amqp_uri: str, text: str, n: int = 3000, repeats: int = 3) -> dict:
    """Feedback per second through the skeleton (median of ``repeats`` runs of ``n``)."""
    from tests.support.platform import purge_topology

    purge_topology(amqp_uri)
    received, categorized = baseline.sample_event(text), categorized_event()
    _run(amqp_uri, received, categorized, 200)  # warm-up: connections, queues, caches
    runs = [_run(amqp_uri, received, categorized, n) for _ in range(repeats)]
    purge_topology(amqp_uri)
    try:
        with Connection(amqp_uri) as conn:
            conn.channel().queue_delete(OBSERVER)
    except Exception:  # noqa: S110 - a leftover in the bench vhost is harmless
        pass
    return {
        "skeleton_per_s": round(statistics.median(r["per_s"] for r in runs), 1),
        "runs_per_s": [round(r["per_s"], 1) for r in runs],
        "feedback_per_run": n,
        "confirmed_publishes_per_feedback": 2,
        "deliveries_per_feedback": runs[0]["deliveries_per_feedback"],
        "publishers": PUBLISHERS,
        "prefetch": PREFETCH,
    }
