"""Rebuilding reporting (issue 13): drop its database, replay intake's cases and categorization's
decisions to its own queues (`suara replay reporting`), and every report equals what it said
before: the summary (all time, and filtered), SLA, satisfaction, the time series, hotspots."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from shared.mongo import connect
from tests.conftest import MONGO_URI
from tests.helpers import wait_for
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}
QUEUES = [
    f"suara.reporting.feedback.{t}"
    for t in ("received", "categorized", "urgent", "status_changed", "reassigned", "rated")
] + ["suara.reporting.feedback.overdue"]


def reports(client) -> dict:
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    found = {}
    for name, params in {
        "summary": {},
        "summary_today": {"from": today, "to": today},
        "summary_roads": {"category": "roads"},
        "sla": {},
        "satisfaction": {},
        "timeseries": {},
        "hotspots": {},
    }.items():
        path = name.split("_")[0]
        r = client.http.get(client.url("reporting", f"/api/v1/reports/{path}"), params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        body.pop("generated_at", None)
        body.pop("notifications", None)  # notification's own counts: not replayed
        found[name] = body
    return found


def quiet(client) -> dict | None:
    """The reports once nothing is left to count (queues empty, two reads alike)."""
    if any(client.queue_depth(q) for q in QUEUES):
        return None
    first = reports(client)
    return first if reports(client) == first else None


def test_reporting_rebuilt_from_the_owners_records_says_what_it_said(client, native):
    # a few cases of its own through the lifecycle, besides what earlier tests left
    for i in range(6):
        r = client.submit(f"Jalan berlubang besar di Jl. Hayam Wuruk nomor {i}, bahaya motor")
        fid, token = r.json()["id"], r.json()["citizen_token"]
        client.wait_status(fid)
        if i < 4:
            assert client.move(fid, ADMIN, status="acknowledged").status_code == 200
        if i < 2:
            assert (
                client.move(fid, ADMIN, status="resolved", note="Sudah ditambal").status_code == 200
            )
            assert client.rate(fid, citizen_token=token, score=4 + i % 2).status_code == 200
    before = wait_for(lambda: quiet(client), timeout=60, interval=1, message="reporting at rest")
    assert before["summary"]["total"] >= 6

    native.scale("reporting", 0)
    mongo = connect(MONGO_URI)
    try:
        mongo.drop_database(native.db_name("reporting"))
    finally:
        mongo.close()
    native.scale("reporting", 1)
    emptied = reports(client)
    assert emptied["summary"]["total"] == 0

    replay = subprocess.run(
        [sys.executable, "-m", "services.categorization.cli", "replay", "reporting"],
        env={**os.environ, **native.env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert '"source": "intake"' in replay.stderr and '"source": "categorization"' in replay.stderr

    after = wait_for(
        lambda: (r := quiet(client)) and r["summary"]["total"] == before["summary"]["total"] and r,
        timeout=120,
        interval=1,
        message="the rebuilt reports",
    )
    for name in before:
        assert after[name] == before[name], (name, diff(before[name], after[name]))


def diff(a, b, path=""):
    """Where two reports differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for k in sorted(set(a) | set(b), key=str):
            found += diff(a.get(k), b.get(k), f"{path}.{k}")
        return found
    return [] if a == b else [(path, a, b)]
