"""Faults: a crashed categorization process loses nothing; health reports what is down."""

import threading
import uuid

import requests

from deploy.platform import ServiceProcess, supervise
from shared import config
from tests.helpers import wait_for

TEXTS = [
    "Lampu PJU mati di Jl. Merdeka, gelap",
    "jln rusak parah dekat Pasar Banjarsari",
    "uwuh numpuk neng kali Loji, mambu",
    "air PDAM keruh di Podosugih",
    "Antrian KTP-el di Disdukcapil lama sekali",
    "Rob masuk rumah di Kandang Panjang",
    "Parkir liar bikin macet di depan Stasiun",
    "Bansos PKH belum cair bulan ini",
]


def test_sigkill_of_categorization_while_feedback_flows_loses_nothing(client, native):
    n = 40
    before = client.summary()
    ids: list[str] = []
    source = f"e2e-{uuid.uuid4().hex[:6]}"

    errors: list[Exception] = []

    def submit_all():
        try:
            for i in range(n):
                text = f"{TEXTS[i % len(TEXTS)]} (laporan {i})"
                if i % 2:
                    client.send_command({"source": source, "external_id": str(i), "text": text})
                else:
                    r = client.submit(text)
                    assert r.status_code == 201, r.text
                    ids.append(r.json()["id"])
        except Exception as exc:  # reported by the test below
            errors.append(exc)

    sender = threading.Thread(target=submit_all)
    sender.start()
    # kill it mid-stream: once some feedback is categorized but not all has been submitted
    wait_for(lambda: client.summary()["total"] >= before["total"] + 5, timeout=30)
    native.procs["categorization"].kill()
    sender.join(60)
    assert not sender.is_alive()
    assert not errors, errors
    native.restart("categorization")

    def all_categorized():
        s = client.summary()
        return s["total"] == before["total"] + n and s["by_status"].get("received", 0) == 0 and s

    try:
        after = wait_for(all_categorized, timeout=60, message="every feedback categorized")
    except AssertionError as exc:
        statuses = {i: client.feedback(i)["status"] for i in ids}
        raise AssertionError(
            f"{exc}; before {before}; now {client.summary()}; {statuses}"
        ) from None
    assert after["total"] - before["total"] == n  # each counted exactly once
    for feedback_id in ids:
        assert client.feedback(feedback_id)["status"] in ("categorized", "in_review")
        kinds = sorted(d["kind"] for d in client.deliveries(feedback_id))
        assert kinds == ["assigned.r1", "categorized.r1", "received"]  # told exactly once


def isolated(service: str, native) -> str:
    """``service``'s own user on the vhost suara-test-isolated."""
    return config.dev_amqp_uri(service, native.amqp_uri.rsplit("/", 1)[0] + "/suara-test-isolated")


def test_health_is_503_naming_the_database_when_it_is_down(native):
    proc = ServiceProcess(
        "reporting",
        # its own vhost: a consumer without a database must not take the platform's messages
        {
            **native.env,
            "SUARA_REPORTING_PORT": "18014",
            "SUARA_REPORTING_AMQP_URI": isolated("reporting", native),
            "SUARA_REPORTING_MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500",
        },
        name="e2e-reporting-nodb",
    ).start()
    try:
        (r,) = wait_for(  # a 503 response is falsy: wrap it
            lambda: (requests.get("http://127.0.0.1:18014/health", timeout=5),), timeout=60
        )
        assert r.status_code == 503
        body = r.json()
        assert body["checks"] == {"database": "down", "broker": "ok"}
        assert body["reasons"] == ["database"]  # the dependency's name, not the exception
        assert "127.0.0.1" not in r.text and "Error" not in r.text
    finally:
        proc.stop()


def test_make_run_restarts_a_service_whose_process_dies(native):
    """deploy/platform.py's supervisor starts a process again after it exits (a SIGKILL here;
    a container that died makes the runner exit non-zero, with the same effect)."""
    env = {
        **native.env,
        "SUARA_REPORTING_PORT": "18024",
        "SUARA_REPORTING_AMQP_URI": isolated("reporting", native),
    }
    procs = [ServiceProcess("reporting", env, name="e2e-reporting-supervised").start()]
    procs[0].wait_healthy()
    first = procs[0].proc.pid
    stop = threading.Event()
    supervisor = threading.Thread(target=supervise, args=(procs, stop.is_set))
    supervisor.start()
    try:
        procs[0].kill()
        wait_for(lambda: procs[0].proc.pid != first and procs[0].alive(), timeout=20)
        procs[0].wait_healthy()
    finally:
        stop.set()
        supervisor.join(10)
        procs[0].stop()
