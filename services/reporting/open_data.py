"""Reporting's open-data use cases: a page of the case export, its metadata, the summary as CSV.

They read through ``store`` and shape through ``exports`` (pure); the service turns what they
return into HTTP responses. A page is read twice, both times by ``_id`` range with the filter:
first only the fields the filter needs, to find where the page ends (its ``Link: rel="next"``
goes out before the body), then the rows, streamed as they are read. Memory stays flat: a
page never holds more than the driver's batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from services.reporting import exports, store

if TYPE_CHECKING:  # for annotations only: the store does the I/O
    from pymongo.database import Database

BATCH = 500  # documents per round trip to the database while a page streams


@dataclass
class Export:
    """What an export answers: its media type, headers, and the body as chunks of bytes."""

    mediatype: str
    headers: dict[str, str]
    body: Iterator[bytes]


def cases_page(
    db: Database,
    args: Mapping[str, str],
    fmt: str,
    reader: exports.Reader,
    settings: Mapping,
) -> Export:
    """``GET /api/v1/exports/cases.{csv,jsonl}``: one page of cases (ValidationError: 400)."""
    departments = exports.department_names(settings.get("DEPARTMENTS") or {})
    query = exports.load_query(args, departments)
    tz = ZoneInfo(settings.get("TIMEZONE") or "Asia/Jakarta")
    after = query.get("after")
    scan = store.scan_cases(
        db, exports.scan_filter(query, departments, after=after), exports.SCAN_FIELDS, BATCH
    )
    try:
        end = exports.page_end(scan, query, tz, query["limit"])
    finally:
        scan.close()
    names = exports.columns(reader)
    body = exports.chunks(
        exports.FORMATS[fmt](_rows(db, query, departments, tz, reader, after, end.last), names)
    )
    headers = {
        "Link": exports.links(fmt, query, end),
        "Content-Disposition": f'attachment; filename="suara-cases.{fmt}"',
        "Vary": "X-API-Key, Authorization",
    }
    if reader.staff:
        headers["Cache-Control"] = "no-store"  # the text: never kept by a cache on the way
    return Export(exports.MEDIA_TYPES[fmt], headers, body)


def _rows(
    db: Database,
    query: dict,
    departments: Mapping[str, frozenset[str]],
    tz: ZoneInfo,
    reader: exports.Reader,
    after: str | None,
    last: str | None,
) -> Iterator[dict]:
    if last is None:
        return  # no rows: a CSV header alone, an empty JSONL
    found = exports.scan_filter(query, departments, after=after, until=last)
    scan = store.scan_cases(db, found, exports.row_fields(reader), BATCH)
    try:
        for doc in scan:
            if exports.matches(doc, query, tz):
                yield exports.case_row(doc, tz, reader)
    finally:
        scan.close()  # also when the client goes away mid-page


def metadata(args: Mapping[str, str], settings: Mapping, now: datetime | None = None) -> dict:
    """``GET /api/v1/exports/cases.metadata.json``: for the period and filters asked."""
    departments = exports.department_names(settings.get("DEPARTMENTS") or {})
    query = exports.load_query(args, departments, exports.CasesFilter)
    timezone = settings.get("TIMEZONE") or "Asia/Jakarta"
    return exports.metadata(query, timezone, now or datetime.now(UTC))


def summary_csv(db: Database, args: Mapping[str, str]) -> Export:
    """``GET /api/v1/exports/summary.csv``: the all-time summary's counts (no parameters)."""
    exports.NoQuery().load(dict(args))
    body = exports.summary_csv(store.summary(db)).encode()
    headers = {
        "Link": exports.links("csv", {}),
        "Content-Disposition": 'attachment; filename="suara-summary.csv"',
    }
    return Export(exports.MEDIA_TYPES["csv"], headers, iter([body]))
