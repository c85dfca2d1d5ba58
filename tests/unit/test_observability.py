"""Log lines and trace attributes (shared/observability.py), as pure logic: a line is one JSON
object with the worker's context, never a password or a value from a message body."""

import io
import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shared import observability


def capture(fmt: str = "json") -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(observability.ContextFilter())
    handler.setFormatter(
        observability._Json(  # noqa: SLF001 - the formatter configure_logging installs
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": "intake"},
        )
    )
    logger = logging.getLogger(f"test.observability.{fmt}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_a_line_is_one_json_object_with_the_workers_context():
    logger, out = capture()
    observability.FIELDS.set({})
    observability.bind(feedback_id="SU-0123456789", correlation_id="corr-1", event_type="x.y")
    logger.info("handled")
    line = json.loads(out.getvalue())
    assert line["service"] == "intake" and line["message"] == "handled"
    assert (line["feedback_id"], line["correlation_id"]) == ("SU-0123456789", "corr-1")
    observability.FIELDS.set({})


def test_values_that_are_not_ids_are_not_bound():
    observability.FIELDS.set({})
    observability.bind(correlation_id="siti@example.id is my mail", feedback_id="ok-1")
    assert observability.FIELDS.get() == {"feedback_id": "ok-1"}
    observability.FIELDS.set({})


def test_passwords_in_connection_uris_are_redacted():
    logger, out = capture()
    logger.warning(
        "Error connecting to broker at amqp://intake:s3cret@10.0.0.5:5672/;amqp://a:b@c/"
    )
    text = out.getvalue()
    assert "s3cret" not in text and ":b@" not in text
    assert "amqp://intake:********@10.0.0.5:5672/" in text


def test_an_event_made_in_a_span_carries_its_traceparent():
    tracer = TracerProvider().get_tracer("test")
    assert observability.trace_attributes() == {}
    with tracer.start_as_current_span("work") as span:
        attributes = observability.trace_attributes()
        context = span.get_span_context()
    version, trace_id, span_id, flags = attributes["traceparent"].split("-")
    assert trace_id == format(context.trace_id, "032x")
    assert span_id == format(context.span_id, "016x")
    assert trace.get_current_span().get_span_context().is_valid is False
