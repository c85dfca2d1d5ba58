"""Reporting's reports (issue 13) after a few dozen feedback through the lifecycle: every report
filtered to the test's own kelurahan and day moves by exactly what the test did (its own
record), read through the public API only."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import wait_for
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}
KELURAHAN, KECAMATAN = "Tirto", "Pekalongan Barat"  # no other e2e test reports from here
ROADS = "Jalan berlubang besar di Jl. Urip Sumoharjo dekat sekolah, bahaya motor nomor {}"
TRASH = "Sampah menumpuk di TPS dekat pasar Tirto sudah tiga hari, bau sekali nomor {}"


def report(client, name: str, **params) -> dict:
    r = client.http.get(client.url("reporting", f"/api/v1/reports/{name}"), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_every_report_moves_by_exactly_what_was_done(client):
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    here = {"kelurahan": KELURAHAN, "from": today, "to": today}
    before = {
        "summary": report(client, "summary", **here),
        "sla": report(client, "sla", **here),
        "satisfaction": report(client, "satisfaction", **here),
        "series": report(client, "timeseries", **here),
    }
    location = {"kecamatan": KECAMATAN, "kelurahan": KELURAHAN}
    cases = []
    for i in range(24):
        text = (ROADS if i % 2 == 0 else TRASH).format(i)
        r = client.submit(text, location=location, contact={"language": "id"})
        assert r.status_code == 201, r.text
        cases.append((r.json()["id"], r.json()["citizen_token"]))
    categories = {}
    for fid, _ in cases:
        categories[fid] = client.wait_status(fid, timeout=60)["category"]
    # the record: 8 acknowledged, 6 resolved (4 of them rated), the rest as categorized
    statuses = {fid: "categorized" for fid, _ in cases}
    scores = {}
    for n, (fid, token) in enumerate(cases[:14]):
        assert client.move(fid, ADMIN, status="acknowledged").status_code == 200
        statuses[fid] = "acknowledged"
        if n < 6:
            moved = client.move(fid, ADMIN, status="resolved", note="Sudah ditangani petugas")
            assert moved.status_code == 200, moved.text
            statuses[fid] = "resolved"
            if n < 4:
                assert client.rate(fid, citizen_token=token, score=n + 2).status_code == 200
                scores[fid] = n + 2
                statuses[fid] = "closed"  # a rating closes the case

    def moved_by(after: dict, key: str) -> dict:
        was = before["summary"].get(key) or {}
        return {
            k: v - was.get(k, 0) for k, v in (after.get(key) or {}).items() if v - was.get(k, 0)
        }

    expected_status = {}
    for s in statuses.values():
        expected_status[s] = expected_status.get(s, 0) + 1
    expected_category = {}
    for c in categories.values():
        expected_category[c] = expected_category.get(c, 0) + 1

    def counted() -> dict | None:
        now = report(client, "summary", **here)
        done = (
            now["total"] - before["summary"]["total"] == len(cases)
            and moved_by(now, "by_status") == expected_status
            and now["satisfaction"]["ratings"] - before["summary"]["satisfaction"]["ratings"]
            == len(scores)
        )
        return now if done else None

    summary = wait_for(counted, timeout=60, message="the summary to count what was done")
    assert moved_by(summary, "by_category") == expected_category
    assert moved_by(summary, "by_kelurahan") == {KELURAHAN: len(cases)}
    assert moved_by(summary, "by_kecamatan") == {KECAMATAN: len(cases)}
    assert moved_by(summary, "by_language") == {"id": len(cases)}
    assert summary["period"] == {"from": today, "to": today, "kelurahan": KELURAHAN}

    sla = report(client, "sla", **here)
    assert sla["cases"] - before["sla"]["cases"] == len(cases)
    assert sla["resolved"] - before["sla"]["resolved"] == 6
    assert sla["to_first_response"]["count"] - before["sla"]["to_first_response"]["count"] == 14
    assert sla["to_categorize"]["count"] - before["sla"]["to_categorize"]["count"] == len(cases)
    assert sla["to_resolve"]["median_minutes"] is not None
    assert sla["to_resolve"]["median_minutes"] < 60  # all resolved within this test

    satisfaction = report(client, "satisfaction", **here)
    ratings = satisfaction["ratings"] - before["satisfaction"]["ratings"]
    assert ratings == len(scores)
    if before["satisfaction"]["ratings"] == 0:
        assert satisfaction["mean_score"] == round(sum(scores.values()) / len(scores), 2)
        assert satisfaction["by_score"] == {str(s): 1 for s in scores.values()}

    series = report(client, "timeseries", **here)
    (point,) = [p for p in series["points"] if p["period"] == today]
    (was,) = [p for p in before["series"]["points"] if p["period"] == today]
    assert point["total"] - was["total"] == len(cases)

    # the unfiltered summary (the counters) counted them too; a filter for another place not
    everywhere = client.summary()
    assert everywhere["by_kelurahan"].get(KELURAHAN, 0) >= len(cases)
    elsewhere = report(client, "summary", kelurahan="Bandengan", **{"from": today, "to": today})
    assert elsewhere["by_kelurahan"].get(KELURAHAN) is None


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("summary", {"category": "banjir"}, "category"),
        ("sla", {"from": "2026-02-30"}, "from"),
        ("timeseries", {"interval": "hour"}, "interval"),
        ("satisfaction", {"department": "$ne"}, "department"),
    ],
)
def test_a_bad_report_query_is_400_with_its_field(client, name, params, field):
    r = client.http.get(client.url("reporting", f"/api/v1/reports/{name}"), params=params)
    assert r.status_code == 400, r.text
    assert field in r.json()["fields"]
