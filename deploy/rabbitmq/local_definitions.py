"""The RabbitMQ definitions of the local broker (deploy/local-servers.sh): docker compose's
users, permissions and exchanges (definitions.json, the one source), applied to each local
vhost: ``/`` for ``make run``, and the vhosts the tests, the bench, the fuzz campaign and the
chaos runs keep to themselves. On those, and only there, ``guest`` (loopback only) keeps every
right: it is the harness that watches queues and publishes test messages; the services connect
as their own users everywhere.

    python3 deploy/rabbitmq/local_definitions.py VHOST... > definitions.json
    rabbitmqctl import_definitions definitions.json

Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "definitions.json"
HARNESS = "guest"


def local_definitions(vhosts: list[str], source: dict | None = None) -> dict:
    """definitions.json's users, and its permissions and exchanges of ``/`` on each of
    ``vhosts``; ``guest`` gets every right on each vhost but ``/``."""
    source = source if source is not None else json.loads(SOURCE.read_text())
    per_vhost = [p for p in source["permissions"] if p["vhost"] == "/"]
    exchanges = [e for e in source["exchanges"] if e["vhost"] == "/"]
    permissions, declared = [], []
    for vhost in vhosts:
        permissions += [{**p, "vhost": vhost} for p in per_vhost]
        declared += [{**e, "vhost": vhost} for e in exchanges]
        if vhost != "/":
            permissions.append(
                {"user": HARNESS, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
            )
    return {
        "users": source["users"],
        "vhosts": [{"name": v} for v in vhosts],
        "permissions": permissions,
        "exchanges": declared,
    }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    json.dump(local_definitions(sys.argv[1:]), sys.stdout, indent=1)
