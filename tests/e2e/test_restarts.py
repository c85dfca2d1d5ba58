"""The broker and the database restart while feedback flows: nothing is lost, nothing doubled.

These tests restart the local servers, so they run only where this checkout started them
(``deploy/local-servers.sh``, as ``make test`` and CI do); elsewhere they are skipped.
"""

import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ROOT / "deploy" / "local-servers.sh"


@pytest.fixture
def own_servers(native):
    if not (ROOT / "var" / "rabbitmq" / "launcher.pid").exists():
        pytest.skip("the servers were not started from this checkout (deploy/local-servers.sh)")
    if not (ROOT / "var" / "ferretdb" / "ferretdb.pid").exists():
        pytest.skip("FerretDB was not started from this checkout (deploy/local-servers.sh)")
    return native


def submit_with_retries(client, text: str, deadline_s: float = 60) -> str:
    """A patient client: tries again while the platform answers 503 or not at all."""
    key = str(uuid.uuid4())  # the same key on every try: a retry never creates a second one

    def attempt():
        try:
            r = client.submit(text, headers={"Idempotency-Key": key})
        except requests.RequestException:
            return None
        return r.status_code == 201 and r.json()["id"]

    return wait_for(attempt, timeout=deadline_s, interval=0.5, message=f"to submit {text!r}")


def all_healthy(client) -> bool:
    return all(
        requests.get(client.url(s, "/health"), timeout=5).status_code == 200
        for s in client.platform.urls
    )


@pytest.mark.parametrize("server", ["rabbitmq", "ferretdb"])
def test_server_restart_while_feedback_flows_loses_nothing(client, own_servers, server):
    before = client.summary()["total"]
    ids: list[str] = []
    errors: list[Exception] = []

    def submit(n: int, tag: str) -> None:
        try:
            for i in range(n):
                ids.append(submit_with_retries(client, f"jalan rusak parah nomer {tag}-{i}"))
        except Exception as exc:  # reported below
            errors.append(exc)

    submit(5, "before")
    sender = threading.Thread(target=submit, args=(5, "during"))
    sender.start()
    subprocess.run([str(SERVERS), f"restart-{server}"], check=True, timeout=180)
    sender.join(120)
    assert not errors, errors
    wait_for(lambda: all_healthy(client), timeout=60, message="services healthy again")
    submit(5, "after")

    def all_counted():
        s = client.summary()
        return s["total"] == before + 15 and s["by_status"].get("received", 0) == 0

    wait_for(all_counted, timeout=120, message=f"15 counted after a {server} restart")
    assert client.summary()["total"] == before + 15
    assert len(set(ids)) == 15
    for feedback_id in ids:
        assert client.feedback(feedback_id)["status"] in ("categorized", "in_review")
