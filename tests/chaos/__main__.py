"""`make chaos`: Suara on servers of its own (a second RabbitMQ and FerretDB of
deploy/local-servers.sh, so that restarting them disturbs nothing else), two replicas of every
service, 1,000 feedback at 10/s while every service process is SIGKILLed and restarted in turn,
RabbitMQ and FerretDB restart, and poison messages arrive. Prints the figures; exits 1 unless
lost = duplicated = 0 and every queue drained.

    python -m tests.chaos [--feedback 1000] [--rate 10]
"""

from __future__ import annotations

import argparse
import sys
import uuid

from deploy.platform import ROOT, start_servers, stop_servers
from tests.chaos import run as chaos
from tests.support.platform import LocalServers, NativePlatform, verdict

PORTS = {"intake": 19101, "categorization": 19102, "notification": 19103, "reporting": 19104}
API_KEY = "chaos-secret"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feedback", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="feedback per second")
    args = parser.parse_args(argv)
    started_default = start_servers()  # the default instance builds FerretDB when missing
    servers = LocalServers(ROOT / "var" / "chaos", amqp_port=5673, mongo_port=27018).start()
    platform = NativePlatform(
        uuid.uuid4().hex[:8],
        servers.amqp_uri,
        servers.mongo_uri,
        PORTS,
        {
            "SUARA_API_KEYS": f"chaos:{API_KEY}",
            "SUARA_RETRY_DELAY_MS": "200",
            "SUARA_OUTBOX_SWEEP_S": "1",
            "SUARA_LOG_LEVEL": "WARNING",
        },
        replicas={service: 2 for service in PORTS},
        prefix="chaos",
    )

    def kill(name: str):
        return f"SIGKILL {name}", lambda: platform.kill_and_restart(name)

    faults = [kill(name) for name in platform.procs]
    faults.insert(4, ("restart RabbitMQ", lambda: servers.run("restart-rabbitmq")))
    faults.insert(8, ("restart FerretDB", lambda: servers.run("restart-ferretdb")))
    try:
        platform.start()
        platform.watch()
        urls = {s: platform.url(s) for s in PORTS}
        figures = chaos.run(
            urls,
            servers.amqp_uri,
            API_KEY,
            args.feedback,
            args.rate,
            faults,
            unexpected_exits=platform.unexpected_exits,
            intake_urls=[platform.url("intake", 0), platform.url("intake", 1)],
        )
    finally:
        platform.stop()
        servers.stop()
        if started_default:
            stop_servers()
    print(f"make chaos: {args.feedback} feedback at {args.rate:g}/s")
    return verdict("chaos", figures.report(), figures.problems())


if __name__ == "__main__":
    sys.exit(main())
