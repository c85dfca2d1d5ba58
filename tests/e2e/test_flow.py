"""Feedback from every channel flows intake -> categorization -> notification -> reporting."""

import json
import uuid

import requests
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event

from shared import topology
from tests.helpers import wait_for

CONTACT = {"name": "Siti Aminah", "email": "siti.aminah@example.id", "phone": "+62 812 3456 7890"}


def test_every_service_is_healthy(client):
    for service in client.platform.urls:
        r = requests.get(client.url(service, "/health"), timeout=5)
        assert r.status_code == 200, (service, r.text)
        assert r.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_http_feedback_is_categorized_routed_and_counted(client):
    before = client.summary()
    r = client.submit(
        "Jalan di Jl. Hayam Wuruk berlubang besar, bahaya buat motor",
        location={"lat": -6.889, "lon": 109.675, "kecamatan": "Pekalongan Barat"},
        contact=CONTACT,
    )
    assert r.status_code == 201, r.text
    feedback_id = r.json()["id"]
    assert r.headers["Location"] == f"/api/v1/feedback/{feedback_id}"

    fb = client.wait_status(feedback_id)
    assert fb["category"] == "roads" and fb["department"] == "Dinas PUPR"
    assert fb["department_id"] == "dinas-pupr"
    assert "contact" not in fb and CONTACT["email"] not in json.dumps(fb)

    roads_before = before["by_category"].get("roads", 0)

    def counted(s: dict) -> bool:
        # received and categorized are counted as reporting handles each event: both, in time
        return s["total"] == before["total"] + 1 and s["by_category"].get("roads", 0) > roads_before

    after = wait_for(lambda: (s := client.summary()) and counted(s) and s, timeout=20)
    assert after["total"] == before["total"] + 1
    assert after["by_category"].get("roads", 0) == roads_before + 1

    def told() -> list[dict]:  # integrators' webhooks aside
        return [d for d in client.deliveries(feedback_id) if d["audience"] != "integrator"]

    wait_for(lambda: len(told()) == 3, timeout=20)
    assert {d["audience"] for d in told()} == {"citizen", "department"}


def test_repeated_idempotency_key_returns_the_first_answer_and_creates_nothing(client):
    key = str(uuid.uuid4())
    first = client.submit("Sampah numpuk di TPS Medono", headers={"Idempotency-Key": key})
    assert first.status_code == 201
    client.wait_status(first.json()["id"])
    total = client.summary()["total"]
    again = client.submit("Sampah numpuk di TPS Medono", headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.submit("another text", headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert client.summary()["total"] == total


def test_bad_http_input_gets_400_with_field_errors(client):
    r = client.submit("", contact={"email": "not-an-email"}, extra=1)
    assert r.status_code == 400
    fields = r.json()["fields"]
    assert set(fields) == {"text", "contact", "extra"}
    r = client.http.post(
        client.url("intake", "/api/v1/feedback"),
        data=b"{oops",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    r = client.submit({"$gt": ""})  # a query operator where text belongs: refused
    assert r.status_code == 400 and "text" in r.json()["fields"]
    assert (
        client.http.get(client.url("intake", "/api/v1/feedback/SU-NOPE"), timeout=5).status_code
        == 404
    )


def test_amqp_submissions_flow_dead_letter_and_deduplicate(client):
    dead_queue = topology.dead_queue_name(topology.command_queue_name("feedback.submit"))
    client.drain(dead_queue)
    before = client.summary()["total"]
    external_id = str(uuid.uuid4())
    valid = {
        "source": "sipadu",
        "external_id": external_id,
        "text": "Banyu PDAM mati telung dina ning Kuripan",
        "location": {"kelurahan": "Kuripan"},
    }

    client.send_command(b"this is not json {")
    client.send_command({"source": "sipadu", "external_id": "x"})  # no text
    client.send_command(valid)
    client.send_command(valid)  # the same (source, external_id) again

    wait_for(lambda: client.summary()["total"] >= before + 1, timeout=20)
    dead = wait_for(lambda: (d := client.drain(dead_queue)) and d, timeout=10)
    dead += client.drain(dead_queue)
    reasons = sorted(h["x-suara-reason"] for h, _ in dead)
    assert len(reasons) == 2, reasons
    assert "not JSON" in reasons[0] or "not JSON" in reasons[1]
    assert any("text" in r for r in reasons)
    wait_for(lambda: client.summary()["by_status"].get("received", 0) == 0, timeout=20)
    assert client.summary()["total"] == before + 1  # counted once


def test_integrator_gets_cloudevents_without_personal_data(client):
    conn = client.connection()
    channel = conn.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    for exchange in ("intake.events", "categorization.events"):
        channel.queue_bind(queue, exchange, routing_key="#")

    r = client.submit(
        "Rob masuk rumah di Panjang Wetan, air setinggi lutut",
        contact=CONTACT,
        location={"address": "Jl. Sleko Gg. 3 No. 7", "kelurahan": "Panjang Wetan"},
    )
    feedback_id = r.json()["id"]
    got = {}

    def collect():
        method, props, body = channel.basic_get(queue, auto_ack=True)
        while method is not None:
            # decoded by the CloudEvents SDK's RabbitMQ binding, as an integrator would
            event = from_rabbitmq_event(
                RabbitMQMessage(
                    headers=props.headers or {}, content_type=props.content_type, body=body
                )
            )
            if event.get_subject() == feedback_id:
                got[event.get_type()] = (event, body)
            method, props, body = channel.basic_get(queue, auto_ack=True)
        return {
            "id.go.pekalongankota.suara.feedback.received",
            "id.go.pekalongankota.suara.feedback.categorized",
        } <= set(got)

    wait_for(collect, timeout=20)
    conn.close()
    for event, body in got.values():
        assert event.get_specversion() == "1.0" and event.get_extension("correlationid")
        text = body.decode()
        for personal in (CONTACT["name"], CONTACT["email"], "812 3456", "Sleko"):
            assert personal not in text
    received = got["id.go.pekalongankota.suara.feedback.received"][0]
    assert received.get_data()["feedback_id"] == feedback_id
    assert received.get_data()["location"] == {"kelurahan": "Panjang Wetan"}
    categorized = got["id.go.pekalongankota.suara.feedback.categorized"][0].get_data()
    assert (categorized["department"], categorized["department_id"]) == ("BPBD", "bpbd")


def test_departments_are_listed_with_their_ids_categories_and_sla(client):
    r = client.http.get(client.url("intake", "/api/v1/departments"), timeout=10)
    assert r.status_code == 200, r.text
    departments = {d["id"]: d for d in r.json()["departments"]}
    assert departments["bpbd"]["name"] == "BPBD"
    assert [c["id"] for c in departments["bpbd"]["categories"]] == ["flooding"]
    assert departments["dinas-pupr"]["categories"][0] == {
        "id": "roads",
        "sla_hours": 40.0,
        "urgent_sla_hours": 8.0,
    }
