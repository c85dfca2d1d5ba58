"""Two processes of every service, against one broker and one FerretDB: 500 feedback from 8
concurrent clients (half HTTP, spread over both intake replicas; half AMQP), one replica of each
service SIGKILLed halfway and not restarted; every feedback ends stored, categorized, notified
and counted exactly once (issue 8). Exact because both MongoDB and the patched stand-in apply
each update of a document atomically (deploy/ferretdb/0003-serialize-read-modify-write.patch).
"""

import pytest

from deploy.platform import SERVICES
from tests.chaos import run as chaos
from tests.conftest import AMQP_URI, MONGO_URI
from tests.support.platform import recount_agrees, two_of_each

FEEDBACK = 500
PORTS = {"intake": 18301, "categorization": 18302, "notification": 18303, "reporting": 18304}
API_KEY = "replicas-secret"


@pytest.fixture
def replicated():
    platform = two_of_each(AMQP_URI, MONGO_URI, PORTS, "replicas", API_KEY)
    try:
        yield platform
    finally:
        platform.stop()


def test_two_replicas_of_every_service_count_each_feedback_once(replicated):
    def kill(name: str):
        return f"SIGKILL {name} (not restarted)", replicated.procs[name].kill

    faults = [kill(f"{service}-2") for service in SERVICES]
    urls = {s: replicated.url(s) for s in SERVICES}
    figures = chaos.run(
        urls,
        replicated.amqp_uri,
        API_KEY,
        FEEDBACK,
        rate=40.0,
        faults=faults,
        settle_s=180,
        intake_urls=[replicated.url("intake", 0), replicated.url("intake", 1)],
    )
    print(figures.report())
    assert figures.accepted == FEEDBACK
    assert figures.problems() == []
    assert [p for n, p in replicated.procs.items() if not n.endswith("-2") and not p.alive()] == []
    done = recount_agrees(replicated)  # the counters the summary reads agree with a recount
    assert done.returncode == 0, done.stdout + done.stderr
