"""Prometheus metrics of a service (``GET /metrics``, prometheus_client's text format).

Counted as they happen, in this process: messages consumed, retried and dead-lettered per
queue and the handlers' latency (shared/messaging.py), events and jobs published, HTTP
requests by route and status and their latency (shared/webserver.py). Read when scraped, each
by ``_id`` or from a small collection (never a scan of stored feedback): the outbox backlog,
the depth of the service's queues (their retry and dead-letter companions too), and what a
service adds (categorization: the review queue and the model's version; reporting: the
overdue cases). Labels never carry personal data: queue names, routes as declared
(``/api/v1/feedback/<string:feedback_id>``, not the path asked for), status codes.

Every process serves one service (``shared.runner``); its metrics are this process's, and
Prometheus adds the replicas up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from kombu import Connection, Queue
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from werkzeug.wrappers import Response

from shared import outbox, topology

log = logging.getLogger(__name__)

# handlers: a few ms (a categorization) to a few s (a webhook with a slow receiver)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

CONSUMED = Counter(
    "suara_messages_consumed_total", "Messages taken from a queue and settled", ["queue"]
)
RETRIED = Counter(
    "suara_messages_retried_total", "Messages sent to a retry queue after a failure", ["queue"]
)
DEAD_LETTERED = Counter(
    "suara_messages_dead_lettered_total", "Messages moved to a dead-letter queue", ["queue"]
)
PUBLISHED = Counter(
    "suara_messages_published_total",
    "Events and jobs published (confirmed by the broker)",
    ["exchange", "routing_key"],
)
HANDLER_SECONDS = Histogram(
    "suara_handler_duration_seconds",
    "Time from a message's arrival to its settling",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "suara_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "suara_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_BACKLOG = Gauge(
    "suara_outbox_backlog", "Events stored but not yet published (the outbox's pending notes)"
)
QUEUE_MESSAGES = Gauge(
    "suara_queue_messages", "Messages ready in one of this service's queues", ["queue"]
)
QUEUE_CONSUMERS = Gauge("suara_queue_consumers", "Consumers of one of its queues", ["queue"])
# what a service adds (categorization, reporting)
REVIEW_QUEUE = Gauge("suara_review_queue_size", "Categorizations waiting for a staff review")
MODEL_INFO = Gauge("suara_model_info", "The categorization model in use (1)", ["version"])
OVERDUE = Gauge("suara_overdue_cases", "Open cases past their SLA due time, now")
SCRAPE_ERRORS = Counter(
    "suara_metrics_read_errors_total", "Values /metrics could not read (left out)", ["what"]
)


def service_queues(service: str) -> list[str]:
    """The queues ``service`` consumes, with their retry, wait and dead-letter companions."""
    prefix = f"suara.{service}."
    return sorted(
        q.name for q in topology.entities() if isinstance(q, Queue) and q.name.startswith(prefix)
    )


def read_queue_depths(amqp_uri: str, queues: Iterable[str]) -> None:
    """Each queue's ready messages and consumers, by a passive declare (it creates nothing)."""
    with Connection(amqp_uri, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        for name in queues:
            channel = conn.channel()
            try:
                _, messages, consumers = channel.queue_declare(name, passive=True)
            except Exception as exc:  # not declared yet, or not this user's: left out
                log.debug("metrics: queue %s: %s", name, exc)
                continue
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
            QUEUE_MESSAGES.labels(name).set(messages)
            QUEUE_CONSUMERS.labels(name).set(consumers)


def read(what: str, fn: Callable[[], None]) -> None:
    """Run one read of a scrape; a failure leaves that value out and is counted, so /metrics
    still answers while the database or the broker is down."""
    try:
        fn()
    except Exception as exc:
        SCRAPE_ERRORS.labels(what).inc()
        log.warning("metrics: could not read %s: %s: %s", what, type(exc).__name__, exc)


def outbox_backlog(db) -> int:
    return db[outbox.PENDING].estimated_document_count()


def exposition(
    service: str, db, amqp_uri: str, accept: str | None, *, extra: Callable[[], None] | None = None
):
    """The response of ``GET /metrics``: the scrape-time values read, then every metric, in the
    format the scraper's ``Accept`` asks for (Prometheus text, or OpenMetrics)."""
    read("outbox", lambda: OUTBOX_BACKLOG.set(outbox_backlog(db)))
    read("queues", lambda: read_queue_depths(amqp_uri, service_queues(service)))
    if extra is not None:
        read(service, extra)
    encode, content_type = choose_encoder(accept or "")
    return Response(encode(REGISTRY), status=200, headers={"Content-Type": content_type})
