"""`make cluster-test`: Suara on a real three-node RabbitMQ cluster (deploy/rabbitmq-cluster.sh,
every queue a quorum queue) loses and doubles nothing when a node is SIGKILLed while 500
feedback flow: the services are connected to that node first and fail over to the others
(each service's URI lists the three nodes), the test's clients to the others; then the node
is started again and rejoins the cluster. Prints the figures; exits 1 unless lost =
duplicated = 0, every queue drained and three nodes running at the end.

    python -m tests.cluster [--feedback 500] [--rate 15]
"""

from __future__ import annotations

import os

os.environ["SUARA_QUEUE_TYPE"] = "quorum"  # before shared.topology reads it

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from deploy.platform import ROOT, SERVICES, start_servers, stop_servers  # noqa: E402
from shared import config  # noqa: E402
from tests.chaos import run as chaos  # noqa: E402
from tests.support.platform import NativePlatform, verdict  # noqa: E402

CLUSTER = ROOT / "deploy" / "rabbitmq-cluster.sh"
PORTS = {"intake": 19201, "categorization": 19202, "notification": 19203, "reporting": 19204}
NODE_PORTS = {1: 5701, 2: 5702, 3: 5703}
VHOST = "suara-cluster"
KILLED = 3  # the services' first node; the test's own clients use node 1
API_KEY = "cluster-secret"


def cluster(*args: str) -> str:
    done = subprocess.run([str(CLUSTER), *args], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmq-cluster.sh {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout.strip()


def service_uri(service: str) -> str:
    """The three nodes, the killed one first: kombu fails over to the next on a lost link."""
    order = [KILLED] + [n for n in NODE_PORTS if n != KILLED]
    return ";".join(
        config.dev_amqp_uri(service, f"amqp://127.0.0.1:{NODE_PORTS[n]}/{VHOST}") for n in order
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feedback", type=int, default=500)
    parser.add_argument("--rate", type=float, default=15.0, help="feedback per second")
    args = parser.parse_args(argv)
    started_default = start_servers()  # FerretDB (and the default broker, unused here)
    cluster("reset")  # a fresh cluster: no state from an earlier run
    cluster("start")
    harness = f"amqp://guest:guest@127.0.0.1:{NODE_PORTS[1]}/{VHOST}"
    platform = NativePlatform(
        uuid.uuid4().hex[:8],
        harness,
        "mongodb://127.0.0.1:27017/",
        PORTS,
        {
            "SUARA_API_KEYS": f"cluster:{API_KEY}",
            "SUARA_RETRY_DELAY_MS": "200",
            "SUARA_OUTBOX_SWEEP_S": "1",
            "SUARA_LOG_LEVEL": "WARNING",
            "SUARA_DRAIN_S": "0",
            "SUARA_QUEUE_TYPE": "quorum",
            **{f"SUARA_{s.upper()}_AMQP_URI": service_uri(s) for s in SERVICES},
        },
        prefix="cluster",
    )
    rejoined = {"running": 0}

    def kill_node():
        cluster("kill", str(KILLED))

    def restart_node():
        cluster("restart", str(KILLED))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rejoined["running"] = int(cluster("running") or 0)
            if rejoined["running"] == 3:
                return
            time.sleep(1)

    faults = [
        (f"SIGKILL RabbitMQ node c{KILLED}", kill_node),
        (f"start node c{KILLED} again (rejoins)", restart_node),
    ]
    try:
        platform.start()
        platform.watch()
        urls = {s: platform.url(s) for s in PORTS}
        figures = chaos.run(
            urls,
            harness,
            API_KEY,
            args.feedback,
            args.rate,
            faults,
            unexpected_exits=platform.unexpected_exits,
        )
    finally:
        platform.stop()
        cluster("stop")
        if started_default:
            stop_servers()
    problems = figures.problems()
    if rejoined["running"] != 3:
        problems.append(f"node c{KILLED} did not rejoin: {rejoined['running']} running nodes")
    print(f"make cluster-test: {args.feedback} feedback at {args.rate:g}/s, 3 nodes, quorum queues")
    print(f"after the restart: {rejoined['running']} running nodes")
    return verdict("cluster", figures.report(), problems)


if __name__ == "__main__":
    sys.exit(main())
