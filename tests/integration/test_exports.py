"""The open-data exports against the real FerretDB: reporting's projection is built by its own
event handlers' updates (projections + store.apply), then read a page at a time
(services/reporting/open_data.py, store.scan_cases)."""

from __future__ import annotations

import csv
import io
import json
import random
from urllib.parse import parse_qsl, urlsplit

import pytest

from services.reporting import exports, open_data, projections, store
from shared import events

SETTINGS = {"DEPARTMENTS": {}, "TIMEZONE": "Asia/Jakarta"}
STAFF = exports.Reader(staff=True)


def event(service: str, event_type: str, data: dict) -> events.Event:
    built = events.build(service, event_type, data, subject=data["feedback_id"], correlation_id="c")
    return events.decode(events.encode(built), expected=events.spec(service, event_type))


def receive(db, fid: str, submitted_at: str, **overrides) -> None:
    data = {
        "feedback_id": fid,
        "channel": "web",
        "source": "web",
        "text": f"Jalan rusak, kabari [phone] ({fid})",
        "language": "id",
        "category_hint": None,
        "location": {"kecamatan": "Pekalongan Utara", "kelurahan": "Panjang Wetan"},
        "submitted_at": submitted_at,
        **overrides,
    }
    store.apply(db, projections.on_received(event("intake", "feedback.received", data)))


def categorize(db, fid: str, category: str, department: str, department_id: str) -> None:
    data = {
        "feedback_id": fid,
        "category": category,
        "department": department,
        "department_id": department_id,
        "confidence": 0.9,
        "priority": "normal",
        "method": "model",
        "needs_review": False,
        "revision": 1,
        "categorized_at": "2026-03-01T00:00:00.000Z",
    }
    event_ = event("categorization", "feedback.categorized", data)
    store.apply(db, projections.on_categorized(event_))


def transfer(db, fid: str, department: str, department_id: str) -> None:
    data = {
        "feedback_id": fid,
        "from_department_id": "dinas-pupr",
        "department_id": department_id,
        "department": department,
        "reason": None,
        "status": "categorized",
        "sequence": 1,
        "reassigned_at": "2026-03-02T00:00:00.000Z",
    }
    store.apply(db, projections.on_reassigned(event("intake", "feedback.reassigned", data)))


def page(db, fmt: str, args: dict, reader=exports.PUBLIC) -> tuple[list[dict], str | None, dict]:
    """(rows, the next page's query or None, headers) of one page."""
    export = open_data.cases_page(db, args, fmt, reader, SETTINGS)
    assert not isinstance(export.body, list | bytes)  # streamed: a generator of chunks
    text = b"".join(export.body).decode()
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    nxt = None
    for part in export.headers["Link"].split(", <"):
        if 'rel="next"' in part:
            nxt = dict(parse_qsl(urlsplit(part.strip("<").split(">")[0]).query))
    return rows, nxt, export.headers


def every_page(db, fmt: str, args: dict, reader=exports.PUBLIC) -> tuple[list[dict], int]:
    found, pages, query = [], 0, dict(args)
    while query is not None:
        rows, query, _ = page(db, fmt, query, reader)
        found += rows
        pages += 1
        assert pages < 100
    return found, pages


@pytest.fixture
def cases(db):
    """45 cases with ids in no particular order, over three days of March (city time)."""
    store.ensure_indexes(db)
    rng = random.Random(13)
    ids = [f"SU-{rng.randrange(10**10):010d}" for _ in range(45)]
    assert len(set(ids)) == 45
    # roads, handed to BPBD; its transfer is projected first: projections.on_reassigned's
    # guard (assign_seq $lt n) matches no document without assign_seq yet (reported)
    transfer(db, ids[0], "BPBD", "bpbd")
    for i, fid in enumerate(ids):
        # around the city's midnight (17:00 UTC), in UTC and with the city's offset
        day = f"2026-03-0{1 + i % 3}"
        submitted = {
            1: f"{day}T17:{i:02d}:00.000Z",  # the next day in the city
            3: f"{day}T16:{i:02d}:00.000Z",  # the same day, 23:xx
        }.get(i % 4, f"{day}T08:{i:02d}:00.000+07:00")
        receive(db, fid, submitted, channel="whatsapp" if i % 5 == 0 else "web")
        if i % 3 == 0:
            categorize(db, fid, "roads", "Dinas PUPR", "dinas-pupr")
        elif i % 3 == 1:
            categorize(db, fid, "flooding", "BPBD", "bpbd")
    return ids


def test_pages_follow_each_other_to_every_row_once_in_id_order(db, cases):
    for fmt in ("csv", "jsonl"):
        rows, pages = every_page(db, fmt, {"limit": "7"})
        ids = [r["id"] for r in rows]
        assert ids == sorted(cases) and len(set(ids)) == len(cases) == 45, fmt
        assert pages == 7  # 6 full pages and one of 3: no empty page after the last
    rows, nxt, headers = page(db, "csv", {"limit": "45"})
    assert len(rows) == 45 and nxt is None
    assert 'rel="describedby"' in headers["Link"]
    assert list(rows[0]) == list(exports.CASE_COLUMNS)  # the CSV header, no text


def test_a_filtered_export_pages_over_the_matching_rows_only(db, cases):
    roads, _ = every_page(db, "jsonl", {"category": "roads", "limit": "4"})
    assert [r["id"] for r in roads] == sorted(cases[0::3])
    assert {r["category"] for r in roads} == {"roads"}
    bpbd, _ = every_page(db, "jsonl", {"department": "bpbd", "limit": "5"})
    assert [r["id"] for r in bpbd] == sorted([cases[0], *cases[1::3]])  # the transfer too
    assert {(r["department"], r["department_id"]) for r in bpbd} == {("BPBD", "bpbd")}
    whatsapp, _ = every_page(db, "csv", {"channel": "whatsapp", "limit": "2"})
    assert [r["id"] for r in whatsapp] == sorted(cases[0::5])
    assert every_page(db, "csv", {"kelurahan": "panjang wetan"})[0][0]["kelurahan"] == (
        "Panjang Wetan"
    )
    assert every_page(db, "csv", {"kelurahan": "Degayu"})[0] == []
    assert every_page(db, "csv", {"language": "en"})[0] == []


def test_the_period_is_by_submission_day_in_the_city(db, cases):
    everything, _ = every_page(db, "jsonl", {})
    by_day: dict[str, set[str]] = {}
    for row in everything:
        by_day.setdefault(row["submitted_at"][:10], set()).add(row["id"])
        assert row["submitted_at"].endswith("+07:00")
    assert sorted(by_day) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    for day, ids in by_day.items():
        rows, _ = every_page(db, "csv", {"from": day, "to": day, "limit": "3"})
        assert {r["id"] for r in rows} == ids, day
    rows, _ = every_page(db, "csv", {"from": "2026-03-02", "to": "2026-03-03"})
    assert {r["id"] for r in rows} == by_day["2026-03-02"] | by_day["2026-03-03"]
    assert every_page(db, "csv", {"from": "2026-03-05"})[0] == []


def test_the_text_is_read_for_staff_only(db, cases):
    public, _ = every_page(db, "jsonl", {"limit": "50"})
    assert all("text" not in row for row in public)
    staff, _ = every_page(db, "jsonl", {"limit": "50"}, STAFF)
    assert all(row["text"].startswith("Jalan rusak") for row in staff)
    pupr, _ = every_page(db, "jsonl", {}, exports.Reader(staff=True, department_id="dinas-pupr"))
    own = {r["id"] for r in pupr if r["text"]}
    assert own == set(cases[3::3])  # roads, but not the one transferred to BPBD
    _, _, headers = page(db, "csv", {}, STAFF)
    assert headers["Cache-Control"] == "no-store"


def test_a_client_that_stops_reading_midway_closes_the_page(db, cases):
    export = open_data.cases_page(db, {"limit": "45"}, "jsonl", exports.PUBLIC, SETTINGS)
    first = next(export.body)
    assert first.startswith(b'{"id":')
    export.body.close()  # the web server does this when the connection goes away


def test_the_summary_as_csv_counts_what_the_counters_hold(db, cases):
    export = open_data.summary_csv(db, {})
    rows = list(csv.reader(io.StringIO(b"".join(export.body).decode(), newline="")))
    assert rows[0] == ["group", "key", "count"]
    counts = {(g, k): int(n) for g, k, n in rows[1:]}
    assert counts[("total", "")] == 45
    assert counts[("by_category", "roads")] == 15
    assert counts[("by_channel", "whatsapp")] == 9
