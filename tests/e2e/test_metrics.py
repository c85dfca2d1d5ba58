"""``GET /metrics`` on every service: prometheus_client's own parser reads it, and its
counters move as feedback flows (issue 14). Labels carry routes and queues, never an id or an
address."""

import re

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for

FEEDBACK = 6
CONTACT = {"name": "Siti Aminah", "email": "siti.metrics@example.id", "phone": "+62 812 1111 2222"}


def scrape(client, service: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one service's /metrics."""
    r = requests.get(client.url(service, "/metrics"), timeout=10)
    assert r.status_code == 200, (service, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict, name: str, **labels) -> float:
    return sum(
        value
        for (sample, got), value in samples.items()
        if sample == name and all(dict(got).get(k) == v for k, v in labels.items())
    )


def test_each_services_metrics_parse_and_move_under_load(client):
    services = list(client.platform.urls)
    before = {s: scrape(client, s) for s in services}
    ids = []
    for n in range(FEEDBACK):
        r = client.submit(f"Lampu jalan mati di gang {n} Kuripan Lor", contact=CONTACT)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for feedback_id in ids:
        client.wait_status(feedback_id)

    def moved(service: str, queue: str) -> dict | None:
        now = scrape(client, service)
        consumed = total(now, "suara_messages_consumed_total", queue=queue)
        was = total(before[service], "suara_messages_consumed_total", queue=queue)
        return now if consumed >= was + FEEDBACK else None

    received = {
        "categorization": "suara.categorization.feedback.received",
        "notification": "suara.notification.feedback.received",
        "reporting": "suara.reporting.feedback.received",
    }
    after = {}
    for service, queue in received.items():
        if service in services:
            after[service] = wait_for(lambda s=service, q=queue: moved(s, q), timeout=30)
            handled = total(after[service], "suara_handler_duration_seconds_count", queue=queue)
            assert (
                handled
                >= total(before[service], "suara_handler_duration_seconds_count", queue=queue)
                + FEEDBACK
            )
            assert (
                "suara_queue_messages",
                (("queue", f"{queue}.dead"),),
            ) in after[service], "the dead-letter queue's depth is read"
            assert ("suara_outbox_backlog", ()) in after[service]
    after["intake"] = scrape(client, "intake")

    submitted = {"method": "POST", "route": "/api/v1/feedback", "status": "201"}
    assert (
        total(after["intake"], "suara_http_requests_total", **submitted)
        >= total(before["intake"], "suara_http_requests_total", **submitted) + FEEDBACK
    )
    published = total(after["intake"], "suara_messages_published_total", exchange="intake.events")
    assert (
        published
        >= total(before["intake"], "suara_messages_published_total", exchange="intake.events")
        + FEEDBACK
    )
    if "categorization" in after:
        assert total(after["categorization"], "suara_model_info") == 1
        assert ("suara_review_queue_size", ()) in after["categorization"]
    assert ("suara_overdue_cases", ()) in after["reporting"]

    # no id, address or name in any label
    for service, samples in after.items():
        labels = " ".join(str(v) for _, got in samples for _, v in got)
        assert not re.search(r"SU-[0-9A-Z]{10}", labels), service
        assert CONTACT["email"] not in labels and "Siti" not in labels


def test_a_path_with_an_id_is_counted_by_its_route(client):
    r = client.submit("Sampah menumpuk di TPS Medono", contact=CONTACT)
    feedback_id = r.json()["id"]
    client.feedback(feedback_id)
    samples = scrape(client, "intake")
    route = "/api/v1/feedback/<string:feedback_id>"
    assert total(samples, "suara_http_requests_total", method="GET", route=route, status="200") >= 1
    requests.get(client.url("intake", "/no/such/page"), timeout=5)
    samples = scrape(client, "intake")
    assert total(samples, "suara_http_requests_total", route="unrouted", status="404") >= 1


def test_each_service_serves_the_asyncapi_document(client):
    from shared import asyncapi

    expected = asyncapi.document()
    for service in client.platform.urls:
        r = requests.get(client.url(service, "/asyncapi.json"), timeout=10)
        assert r.status_code == 200, service
        assert r.json() == expected, service
