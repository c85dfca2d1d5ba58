"""The servers deploy/local-servers.sh starts listen on loopback only (Erlang distribution and
epmd included), as the README promises."""

import shutil
import subprocess

import pytest

SERVER_PROCESSES = ("beam.smp", "epmd", "ferretdb", "mailpit")
LOOPBACK = ("127.0.0.1", "[::1]", "::1")


def listening_sockets() -> list[tuple[str, str]]:
    """(local address, process) of every listening TCP socket on this machine."""
    done = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True)
    found = []
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 6:
            found.append((cols[3], cols[5]))
    return found


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_local_servers_listen_on_loopback_only(amqp_uri, mongo_client):
    ours = [
        (address, process)
        for address, process in listening_sockets()
        if any(f'"{name}' in process for name in SERVER_PROCESSES)
    ]
    assert any("beam.smp" in p for _, p in ours), f"RabbitMQ not among the listeners: {ours}"
    assert any("ferretdb" in p for _, p in ours), f"FerretDB not among the listeners: {ours}"
    assert any("mailpit" in p for _, p in ours), f"Mailpit not among the listeners: {ours}"
    exposed = [(a, p) for a, p in ours if a.rsplit(":", 1)[0] not in LOOPBACK]
    assert exposed == [], f"listening beyond loopback: {exposed}"


def test_the_readmes_queue_commands_work_as_written(amqp_uri):
    """README, Operations: the local node's rabbitmqctl through deploy/local-servers.sh, and
    the management HTTP API as admin, each list the queues with their depth."""
    import requests

    from shared import topology

    queue = topology.event_queue_name("reporting", "feedback.received")
    listed = subprocess.run(
        [
            "deploy/local-servers.sh",
            "rabbitmqctl",
            "list_queues",
            "-p",
            "suara-test",
            "name",
            "messages",
            "consumers",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = dict(line.split("\t", 1) for line in listed.stdout.splitlines() if "\t" in line)
    assert queue in rows and rows[queue].split("\t")[0].isdigit()
    api = requests.get(
        "http://127.0.0.1:15672/api/queues/suara-test",
        params={"columns": "name,messages,consumers"},
        auth=("admin", "suara-admin-dev"),
        timeout=10,
    )
    assert api.ok, api.text
    assert queue in {q["name"] for q in api.json()}
