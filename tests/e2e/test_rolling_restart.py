"""A rolling restart under load (issue 14): two processes of every service; each process in
turn gets SIGTERM while feedback flows (HTTP over both intake replicas, and AMQP), turns not
ready at once (``/health/ready`` 503 ``draining``) while it still answers, finishes its work,
exits 0 and is started again. Every feedback ends stored, categorized, notified and counted
exactly once."""

import time

import pytest
import requests

from deploy.platform import SERVICES
from tests.chaos import run as chaos
from tests.conftest import AMQP_URI, MONGO_URI
from tests.support.platform import recount_agrees, two_of_each

FEEDBACK = 480
DRAIN_S = 2
PORTS = {"intake": 18501, "categorization": 18502, "notification": 18503, "reporting": 18504}
API_KEY = "rolling-secret"


@pytest.fixture
def rolling():
    drain = {"SUARA_DRAIN_S": str(DRAIN_S)}
    platform = two_of_each(AMQP_URI, MONGO_URI, PORTS, "rolling", API_KEY, **drain)
    try:
        yield platform
    finally:
        platform.stop()


def ready(url: str) -> requests.Response | None:
    try:
        return requests.get(f"{url}/health/ready", timeout=2)
    except requests.RequestException:
        return None


def test_a_rolling_restart_under_load_loses_and_doubles_nothing(rolling):
    drained: list[str] = []

    def restart(name: str, service: str, replica: int):
        def fault():
            proc = rolling.procs[name]
            url = rolling.url(service, replica)
            assert ready(url).status_code == 200
            proc.proc.send_signal(15)  # SIGTERM, as Kubernetes and docker compose stop it
            deadline = time.monotonic() + DRAIN_S
            answer = None
            while time.monotonic() < deadline and answer is None:
                got = ready(url)
                if got is not None and got.status_code == 503:
                    answer = got
            assert answer is not None, f"{name} did not turn not ready"
            assert "draining" in answer.json()["reasons"]
            assert requests.get(f"{url}/health/live", timeout=2).status_code == 200
            assert proc.proc.wait(30) == 0  # a clean stop
            drained.append(name)
            rolling.restart(name)

        return f"SIGTERM {name}, then start it again", fault

    faults = [
        restart(rolling.replica_name(service, n), service, n)
        for n in (0, 1)
        for service in SERVICES
    ]
    urls = {s: rolling.url(s) for s in SERVICES}
    urls["intake"] = rolling.url("intake", 1)  # the summary etc.: any replica
    figures = chaos.run(
        urls,
        rolling.amqp_uri,
        API_KEY,
        FEEDBACK,
        rate=12.0,
        faults=faults,
        settle_s=180,
        intake_urls=[rolling.url("intake", 0), rolling.url("intake", 1)],
    )
    print(figures.report())
    assert len(drained) == 2 * len(SERVICES)
    assert figures.accepted == FEEDBACK
    assert figures.problems() == []
    done = recount_agrees(rolling)
    assert done.returncode == 0, done.stdout + done.stderr
