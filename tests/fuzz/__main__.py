"""`make fuzz`: start the platform natively (its own vhost and databases), run the campaign of
tests/fuzz/campaign.py, print its figures; exit 1 on any 5xx, hang or stuck message.

    python -m tests.fuzz [--examples 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from deploy.platform import start_servers, stop_servers
from tests.fuzz import campaign
from tests.support.platform import NativePlatform, verdict

PORTS = {"intake": 19001, "categorization": 19002, "notification": 19003, "reporting": 19004}
READ_TIMEOUT_S = 5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    # a few hundred of them are refused by the HTTP client itself and not sent: 10,500 sends
    # more than 10,000
    parser.add_argument("--examples", type=int, default=10_500, help="generated inputs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--amqp-uri", default="amqp://guest:guest@127.0.0.1:5672/suara-fuzz")
    parser.add_argument("--mongo-uri", default="mongodb://127.0.0.1:27017/")
    args = parser.parse_args(argv)
    started_servers = start_servers()
    run_id = uuid.uuid4().hex[:8]
    platform = NativePlatform(
        run_id,
        args.amqp_uri,
        args.mongo_uri,
        PORTS,
        {
            "SUARA_API_KEYS": "fuzz:fuzz-secret",
            "SUARA_RETRY_DELAY_MS": "100",
            "SUARA_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
            "SUARA_LOG_LEVEL": "WARNING",
        },
        prefix="fuzz",
    )
    began = time.monotonic()
    try:
        platform.start()
        urls = {s: platform.url(s) for s in PORTS}
        tally = campaign.run(urls, args.amqp_uri, args.examples, args.seed, READ_TIMEOUT_S)
    finally:
        platform.stop()
        if started_servers:
            stop_servers()
    print(f"make fuzz: seed {args.seed}, {time.monotonic() - began:.0f} s")
    return verdict("fuzz", tally.report(), tally.problems())


if __name__ == "__main__":
    sys.exit(main())
