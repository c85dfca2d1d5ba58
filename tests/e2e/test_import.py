"""suara import: earlier feedback loaded through intake's AMQP command, categorized (or with the
category it came with) and counted, told to nobody; a second run adds nothing (issue 8)."""

import json
import os
import subprocess
import sys
import uuid

from services.intake.feedback import keyed_id
from shared import topology
from tests.helpers import wait_for

ROWS = 30


def suara_import(client, path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "suara"), "import", str(path)],
        env={**os.environ, "SUARA_AMQP_URI": client.platform.amqp_uri},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_history_is_imported_once_categorized_counted_and_told_to_nobody(client, tmp_path):
    source = f"lapor-{uuid.uuid4().hex[:6]}"
    texts = [
        "Jalan berlubang di Jl. Hayam Wuruk",
        "Rob masuk rumah di Panjang Wetan",
        "Sampah numpuk di TPS Medono",
    ]
    lines = [
        json.dumps(
            {
                "source": source,
                "external_id": str(i),
                "text": f"{texts[i % 3]} ({i})",
                "submitted_at": f"2025-0{1 + i % 9}-1{i % 10}T08:00:00+07:00",
                **({"category": "water"} if i % 10 == 0 else {}),
            }
        )
        for i in range(ROWS)
    ]
    lines.insert(5, json.dumps({"source": source, "external_id": "bad"}))  # line 6: no text
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    before = client.summary()["total"]

    done = suara_import(client, path)
    assert done.returncode == 1, done.stderr  # one row skipped
    assert f"{ROWS + 1} rows read, {ROWS} published, 1 skipped" in done.stderr
    assert "line 6:" in done.stderr
    wait_for(lambda: client.summary()["total"] == before + ROWS, timeout=60, message="counted")

    first = client.wait_status(keyed_id("amqp", source, "0"))
    assert first["submitted_at"] == "2025-01-10T01:00:00.000Z"  # its own time, in UTC
    assert first["category"] == "water"  # the category it came with
    assert client.wait_status(keyed_id("amqp", source, "1"))["category"] == "flooding"
    for i in (0, 1, 2):
        assert client.deliveries(keyed_id("amqp", source, str(i))) == []  # nobody told

    again = suara_import(client, path)
    assert f"{ROWS} published" in again.stderr
    queue = topology.command_queue_name("feedback.submit")
    wait_for(lambda: not client.queue_depth(queue), timeout=30, message="the repeat handled")
    wait_for(lambda: client.summary()["by_status"].get("received", 0) == 0, timeout=30)
    assert client.summary()["total"] == before + ROWS  # a second run adds nothing
