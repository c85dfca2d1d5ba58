"""Logs and traces: one feedback followed through the four services.

**Logs** are JSON lines on stderr (python-json-logger; ``SUARA_LOG_FORMAT=text`` for plain
lines): ``time``, ``level``, ``service``, ``logger``, ``message`` and, while a worker handles a
message or a request, what it is about: ``event_type``, ``event_id``, ``feedback_id``,
``correlation_id``, ``route`` and the W3C ``trace_id`` and ``span_id``. One line per message
handled and per request answered (with its outcome and duration). The context comes from the
message's CloudEvent attributes and the request's route and headers, never from its body: no
personal data. A use case adds what it learns (``bind(feedback_id=...)``).

**Traces** follow W3C Trace Context: a request's ``traceparent`` header (or a new trace) and
each CloudEvent's ``traceparent``/``tracestate`` attributes (the CloudEvents distributed
tracing extension) are the parent of the span of the worker that handles it, and every event
it publishes carries that span as its own ``traceparent``. Spans are exported over OTLP/HTTP
when ``SUARA_OTLP_ENDPOINT`` (or OpenTelemetry's own ``OTEL_EXPORTER_OTLP_ENDPOINT``) is set,
e.g. ``http://otel-collector:4318``; otherwise they only carry the ids.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time

from nameko.extensions import DependencyProvider
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pythonjsonlogger.json import JsonFormatter

FIELDS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("suara_fields", default=None)
PROPAGATOR = TraceContextTextMapPropagator()
FEEDBACK_ID = re.compile(r"^SU-[0-9A-Z]{10}$")
SAFE = re.compile(r"^[A-Za-z0-9._:/@<>-]{1,120}$")  # what an id, a type or a route looks like

log = logging.getLogger("suara.work")
_tracer = trace.get_tracer("suara")


def bind(**fields) -> None:
    """Add what this worker is about to its log lines (values that do not look like an id or
    a type are left out: nothing from a message body)."""
    FIELDS.set({**(FIELDS.get() or {}), **{k: v for k, v in fields.items() if v and _safe(v)}})


def _safe(value) -> bool:
    return isinstance(value, str) and bool(SAFE.match(value))


class ContextFilter(logging.Filter):
    """Adds the worker's context (``bind``) and its trace to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (FIELDS.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


# a password in a connection URI (a library's "cannot connect to amqp://user:pw@host" line)
CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s\"']+):[^@\s\"']+@", re.IGNORECASE)


def redact(text: str) -> str:
    return CREDENTIALS.sub(r"\1:********@", text)


class _Redacting:
    def format(self, record):
        return redact(super().format(record))


class _Text(_Redacting, logging.Formatter):
    pass


class _Json(_Redacting, JsonFormatter):
    pass


def configure_logging(service: str, level: str, fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if fmt == "text":
        handler.setFormatter(_Text(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            _Json(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
                json_ensure_ascii=False,
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # each request is logged once, with its route and context (Observed), not by path
    logging.getLogger("nameko.web.server").setLevel(logging.WARNING)


def configure_tracing(service: str, endpoint: str | None) -> None:
    """Real span ids always; exported over OTLP/HTTP only when ``endpoint`` is set."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"suara-{service}"}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    global _tracer
    _tracer = provider.get_tracer("suara")


def trace_attributes() -> dict[str, str]:
    """The current span as CloudEvents distributed-tracing attributes (``traceparent``,
    ``tracestate``), or nothing outside a trace."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}


def _parent(carrier) -> otel_context.Context:
    """The trace a CloudEvent, a request's headers or a message's headers carry."""
    return PROPAGATOR.extract(trace_headers(carrier))


def _str(value) -> bool:
    return isinstance(value, str) and len(value) <= 512


QUIET_ROUTES = ("/health", "/metrics")  # probes and scrapes: no span, no log line


class Observed(DependencyProvider):
    """Each message's and request's worker in a span (its parent: the event's or the
    request's trace), with its log context bound, and one log line when it ends. Timers and
    probes are left alone. Nothing is injected (``None``)."""

    def setup(self):
        self._observed: dict = {}

    def worker_setup(self, worker_ctx):
        from nameko.web.handlers import HttpRequestHandler

        from shared.messaging import MessageHandler

        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, MessageHandler):
            fields, carrier, span_name, kind = _message_context(worker_ctx)
        elif isinstance(entrypoint, HttpRequestHandler):
            if entrypoint.url.startswith(QUIET_ROUTES):
                return
            fields, carrier, span_name, kind = _request_context(worker_ctx)
        else:
            return
        span = _tracer.start_span(span_name, context=_parent(carrier), kind=kind)
        token = otel_context.attach(trace.set_span_in_context(span))
        FIELDS.set({})
        bind(**fields)
        self._observed[worker_ctx] = (span, token, time.monotonic())

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        observed = self._observed.get(worker_ctx)
        if observed is None:
            return
        span, _, started = observed
        took_ms = round((time.monotonic() - started) * 1000, 1)
        status = getattr(result, "status_code", None)
        if exc_info is not None:
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc_info[1]).__name__))
            log.warning("failed: %s", type(exc_info[1]).__name__, extra={"duration_ms": took_ms})
        elif status is not None:
            span.set_attribute("http.response.status_code", status)
            log.info("answered %s", status, extra={"status": status, "duration_ms": took_ms})
        else:
            log.info("handled", extra={"duration_ms": took_ms})

    def worker_teardown(self, worker_ctx):
        observed = self._observed.pop(worker_ctx, None)
        if observed is None:
            return
        span, token, _ = observed
        span.end()
        try:
            otel_context.detach(token)
        except Exception:  # a context already gone: nothing to restore
            pass
        FIELDS.set({})

    def get_dependency(self, worker_ctx):
        return None


def _message_context(worker_ctx):
    payload = worker_ctx.args[0] if worker_ctx.args else None
    queue = worker_ctx.entrypoint.queue.name
    document = getattr(payload, "document", None)
    if document is not None:  # a CloudEvent: its own attributes
        fields = {
            "event_type": payload.type,
            "event_id": payload.id,
            "correlation_id": payload.correlation_id,
            "feedback_id": payload.subject if _is_feedback_id(payload.subject) else None,
        }
        carrier = document
    else:  # a command or a job: the message's headers (shared/messaging.py)
        fields = {"event_type": queue}
        carrier = worker_ctx.data.get(TRACE_KEY) or {}
    return fields, carrier, f"{queue} process", trace.SpanKind.CONSUMER


def _request_context(worker_ctx):
    request = worker_ctx.args[0] if worker_ctx.args else None
    route = worker_ctx.entrypoint.url
    values = getattr(request, "path_values", None) or {}
    headers = getattr(request, "headers", None) or {}
    feedback_id = values.get("feedback_id")
    fields = {
        "route": route,
        "method": getattr(request, "method", None),
        "feedback_id": feedback_id if _is_feedback_id(feedback_id) else None,
        "correlation_id": headers.get("X-Correlation-Id"),
    }
    return fields, headers, f"{fields['method']} {route}", trace.SpanKind.SERVER


def _is_feedback_id(value) -> bool:
    return isinstance(value, str) and bool(FEEDBACK_ID.match(value))


TRACE_KEY = "suara.trace"  # a message's trace headers, in its worker's context data


def trace_headers(headers) -> dict:
    """The W3C trace headers (or CloudEvent attributes) among ``headers``, each a bounded
    string; for a message's worker (``TRACE_KEY``) and a span's parent."""
    headers = headers or {}
    return {k: headers[k] for k in ("traceparent", "tracestate") if _str(headers.get(k))}
