"""Open-data exports of reporting (issue 13, item 4) against the running platform: reports that
carry a name, an e-mail address, a phone number, a NIK and a street address (in their contact,
location and text) never show any of them in any column of either format; the redacted text is
for staff only; pages follow each other by their Link header to every row once; the metadata
describes every column."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from services.reporting import exports
from tests.helpers import wait_for
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}
BPBD = {"X-API-Key": "bpbd-secret"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?<!\w)\(?(?:\+?62|0)[\s-]?\d(?:\)?[\s-]?\d){7,12}(?!\w)")
DIGITS = re.compile(r"[0-9]{9,}")  # a NIK (16), a phone number without separators
CASE_ID = re.compile(r"SU-[0-9A-Z]{10}")
KELURAHAN = "Degayu"


def citizen(n: int) -> dict:
    """A citizen's own details, unique to this run, and a report that repeats some of them."""
    tag = uuid.uuid4().hex[:8]
    person = {
        "name": f"Sri Wulandari Ekspor{tag}",
        "email": f"sri.{tag}@example.org",
        "phone": f"+62 812-{4000 + n}-{tag[:4].translate(str.maketrans('abcdef', '123456'))}",
        "nik": f"3375{n:02d}{int(tag, 16) % 10**10:010d}",
        "address": f"Jl. Dr. Sutomo Gg. Kenanga{tag} No. {n}",
    }
    person["text"] = (
        f"Banjir rob masuk rumah sejak pagi, tolong dibantu. Hubungi {person['email']} atau "
        f"{person['phone']}, NIK {person['nik']}"
    )
    return person


def get(client, path: str, headers: dict | None = None, **params):
    return client.http.get(
        client.url("reporting", path), params=params or None, headers=headers, timeout=30
    )


def parse(response) -> list[dict]:
    if response.headers["Content-Type"].startswith("text/csv"):
        return list(csv.DictReader(io.StringIO(response.text, newline="")))
    return [json.loads(line) for line in response.text.splitlines()]


def next_link(response) -> str | None:
    for part in response.headers["Link"].split(", <"):
        if 'rel="next"' in part:
            return part.strip("<").split(">")[0]
    return None


def every_page(client, fmt: str, headers: dict | None = None, **params) -> list[dict]:
    """Every row of the export, page after page by the Link header."""
    r = get(client, f"/api/v1/exports/cases.{fmt}", headers, **params)
    rows, pages = [], 0
    while True:
        assert r.status_code == 200, r.text
        rows += parse(r)
        pages += 1
        link = next_link(r)
        if link is None:
            return rows
        assert pages < 500
        r = client.http.get(client.url("reporting", link), headers=headers, timeout=30)


def assert_no_personal_data(rows: list[dict], people: list[dict], mine: set[str]) -> None:
    """No cell of any row holds the citizens' own details; no cell but the id (which must be a
    case id) looks like an e-mail address, a phone number or a NIK; the text of our own cases
    neither (it is the redacted text)."""
    own = [v.casefold() for p in people for k, v in p.items() if k != "text"]
    # the tagged surname and street name alone
    own += [w.casefold() for p in people for w in (p["name"] + " " + p["address"]).split()]
    own = [w for w in own if len(w) > 8]
    for row in rows:
        assert CASE_ID.fullmatch(row["id"]), row["id"]
        for column, value in row.items():
            text = "" if value is None else str(value)
            for secret in own:
                assert secret not in text.casefold(), (column, row["id"])
            if column == "id" or (column == "text" and row["id"] not in mine):
                continue  # others' texts: redacted by intake like ours, but not ours to check
            for pattern in (EMAIL, PHONE, DIGITS):
                assert not pattern.search(text), (column, row["id"], pattern.pattern)


def test_exports_carry_no_personal_data_text_only_for_staff_and_page_to_every_row(client):
    people = [citizen(n) for n in range(3)]
    ids = []
    for person in people:
        r = client.submit(
            person["text"],
            contact={"name": person["name"], "email": person["email"], "phone": person["phone"]},
            location={"kelurahan": KELURAHAN, "address": person["address"]},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    mine = set(ids)

    # reporting has them, categorized, as its projection follows the events
    def exported() -> list[dict] | None:
        rows = every_page(client, "jsonl", kelurahan=KELURAHAN.lower(), limit=100)
        found = {r["id"]: r for r in rows if r["id"] in mine}
        return rows if len(found) == 3 and all(r["category"] for r in found.values()) else None

    wait_for(exported, timeout=30, message="reporting to export the three reports")

    # every column of both formats, public and staff: none of the citizens' details
    public_csv = every_page(client, "csv", limit=2)
    public_jsonl = every_page(client, "jsonl", limit=3)
    staff_jsonl = every_page(client, "jsonl", ADMIN, limit=5)
    staff_csv = every_page(client, "csv", ADMIN)
    for rows in (public_csv, public_jsonl, staff_jsonl, staff_csv):
        assert mine <= {r["id"] for r in rows}
        assert_no_personal_data(rows, people, mine)

    # the text: staff only, and redacted
    assert all(list(r) == list(exports.CASE_COLUMNS) for r in public_csv + public_jsonl)
    assert all(list(r) == [*exports.CASE_COLUMNS, "text"] for r in staff_jsonl + staff_csv)
    texts = {r["id"]: r["text"] for r in staff_jsonl if r["id"] in mine}
    for text in texts.values():
        assert "[email]" in text and "[phone]" in text and "[nik]" in text, text
    bpbd = every_page(client, "jsonl", BPBD, limit=50)
    assert all(r["department_id"] == "bpbd" for r in bpbd if r["text"] is not None)
    for row in (r for r in bpbd if r["id"] in mine):
        assert (row["text"] is not None) == (row["department_id"] == "bpbd"), row

    # pages: every row once, in id order, the same rows as one big page
    for rows in (public_csv, public_jsonl, staff_jsonl):
        found = [r["id"] for r in rows]
        assert found == sorted(found) and len(set(found)) == len(found)
    whole = parse(get(client, "/api/v1/exports/cases.csv", limit=10000))
    assert [r["id"] for r in whole] == [r["id"] for r in public_csv]
    assert len(public_csv) > 2  # so the limit of 2 took several pages

    # the filters: the period (city time) and the kelurahan
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    since, until = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    period = every_page(client, "csv", **{"from": since, "to": until, "kelurahan": KELURAHAN})
    assert mine <= {r["id"] for r in period}
    assert all(r["kelurahan"] == KELURAHAN for r in period)
    assert all(since <= r["submitted_at"][:10] <= until for r in period)
    assert not every_page(client, "csv", **{"to": (today - timedelta(days=400)).isoformat()})


def test_an_export_streams_with_its_links_and_the_metadata_describes_it(client):
    r = get(client, "/api/v1/exports/cases.jsonl", limit=1, category="flooding")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/jsonl")
    assert r.headers.get("Transfer-Encoding") == "chunked"  # streamed, no Content-Length
    described = [p for p in r.headers["Link"].split(", <") if 'rel="describedby"' in p]
    (link,) = described
    path = link.strip("<").split(">")[0]
    assert urlsplit(path).query == "category=flooding"

    meta = client.http.get(client.url("reporting", path), timeout=10).json()
    assert meta["filters"] == {"category": "flooding"}
    assert meta["licence"]["id"] == "CC-BY-4.0"
    assert meta["publisher"]["short_name"] == "Dinkominfo Kota Pekalongan"
    assert [c["name"] for c in meta["columns"]] == [*exports.CASE_COLUMNS, "text"]
    assert all(c["description"]["id"] and c["description"]["en"] for c in meta["columns"])
    dated = get(client, "/api/v1/exports/cases.metadata.json", **{"from": "2026-01-01"}).json()
    assert dated["period"]["from"] == "2026-01-01" and dated["period"]["to"] is None
    assert dated["period"]["timezone"] == "Asia/Jakarta"

    summary = get(client, "/api/v1/exports/summary.csv")
    assert summary.status_code == 200 and summary.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(summary.text, newline="")))
    assert rows[0] == ["group", "key", "count"]
    assert int(dict(((g, k), n) for g, k, n in rows[1:])[("total", "")]) >= 1


def test_a_bad_export_request_is_400_with_its_field_and_a_wrong_key_401(client):
    for params, field in (
        ({"category": "volcano"}, "category"),
        ({"from": "2026-02-30"}, "from"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "eyIkZ3QiOiAiIn0"}, "cursor"),  # {"$gt": ""}
        ({"kelurahan": "Jl. Merdeka"}, "kelurahan"),
        ({"x": "1"}, "x"),
    ):
        for fmt in ("csv", "jsonl"):
            r = get(client, f"/api/v1/exports/cases.{fmt}", **params)
            assert r.status_code == 400, (params, r.text)
            assert r.headers["Content-Type"].startswith("application/json")
            assert field in r.json()["fields"], (params, r.json())
    assert get(client, "/api/v1/exports/summary.csv", x="1").status_code == 400
    for path in ("cases.csv", "cases.jsonl", "cases.metadata.json", "summary.csv"):
        r = get(client, f"/api/v1/exports/{path}", {"X-API-Key": "not-a-key"})
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthorized"
