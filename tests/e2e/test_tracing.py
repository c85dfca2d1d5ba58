"""One feedback followed through the four services (issue 14): its correlation id finds JSON
log lines in each service's log, none of them with the citizen's personal data; the W3C trace
a request starts is carried in every CloudEvent that follows from it (the CloudEvents
distributed-tracing extension), each hop a span of its own."""

import json
import re
import uuid

from tests.helpers import wait_for

CONTACT = {
    "name": "Rahmat Hidayat",
    "email": "rahmat.trace@example.id",
    "phone": "+62 813 9999 0001",
}
TRACE_ID = uuid.uuid4().hex
PARENT = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"


def lines_of(native, service: str) -> list[dict]:
    found = []
    for line in native.procs[service].log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))  # every structured line is one JSON object
    return found


def test_a_correlation_id_finds_the_feedback_in_every_services_log(client, native):
    correlation = f"corr-{uuid.uuid4().hex[:12]}"
    intake_events = client.subscribe("intake.events", "feedback.#")
    categorization_events = client.subscribe("categorization.events", "feedback.#")
    r = client.submit(
        "Banjir rob masuk rumah warga di Pasirsari sejak pagi",
        contact=CONTACT,
        headers={"X-Correlation-Id": correlation, "traceparent": PARENT},
    )
    assert r.status_code == 201, r.text
    feedback_id = r.json()["id"]
    client.wait_status(feedback_id)
    wait_for(lambda: client.deliveries(feedback_id), timeout=20)

    def everywhere():
        found = {
            service: [
                line
                for line in lines_of(native, service)
                if line.get("correlation_id") == correlation
            ]
            for service in ("intake", "categorization", "notification", "reporting")
        }
        return found if all(found.values()) else None

    found = wait_for(everywhere, timeout=30, message="log lines in all four services")
    for service, lines in found.items():
        for line in lines:
            assert line["service"] == service and line["level"] and line["time"]
            assert line.get("feedback_id") in (None, feedback_id)
            assert line["trace_id"] == TRACE_ID, (service, line)
        assert any(line.get("feedback_id") == feedback_id for line in lines), service
    # no personal data in any service's log
    for service in found:
        text = native.procs[service].log_path.read_text(errors="replace")
        for value in (CONTACT["email"], CONTACT["phone"], CONTACT["name"]):
            assert value not in text, (service, value)

    (received,) = wait_for(lambda: intake_events.of("feedback.received", feedback_id), timeout=20)
    (categorized,) = wait_for(
        lambda: categorization_events.of("feedback.categorized", feedback_id), timeout=20
    )
    spans = set()
    for event in (received, categorized):
        assert event["correlationid"] == correlation
        version, trace_id, span_id, flags = event["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert re.fullmatch(r"[0-9a-f]{16}", span_id)
        spans.add(span_id)
    assert len(spans) == 2 and PARENT.split("-")[2] not in spans  # a span of its own each hop
