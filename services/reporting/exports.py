"""Open-data exports of reporting's per-case projection (pure: queries, rows, formats, metadata).

One row per case, in ``_id`` order, a page at a time: the columns of ``CASE_COLUMNS``, none of
them personal data or free text. Whatever the projection holds, a row is built from an allow
list of fields, each reduced to a closed form: ids and states from the taxonomy and the
lifecycle, times as ISO 8601 in the city's time, areas only when they are names of
``shared/data/wilayah.yaml`` (a kelurahan typed over the API may be anything), a language only
as a language code. The redacted text (``text``) is added for staff only.

An export is a scan by nature: a page reads the projection by ``_id`` range with the filter,
so its cost follows the rows it passes over; reporting keeps no secondary index for it.
``scan_filter`` narrows the read in the database (a superset of the page's rows); ``matches``
is the exact rule, applied to every document read.
"""

from __future__ import annotations

import base64
import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlencode

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from services.reporting import projections
from shared import events
from shared.taxonomy import TAXONOMY, department_id
from shared.wilayah import WILAYAH

METADATA_PATH = Path(__file__).resolve().parent / "data" / "metadata.yaml"
BASE = "/api/v1/exports"
CASE_COLUMNS = (
    "id",
    "category",
    "department",
    "department_id",
    "status",
    "priority",
    "kecamatan",
    "kelurahan",
    "channel",
    "language",
    "submitted_at",
    "categorized_at",
    "first_response_at",
    "resolved_at",
    "overdue",
    "sla_met",
    "rating",
)
TEXT_COLUMN = "text"  # staff only
SUMMARY_COLUMNS = ("group", "key", "count")
FILTERS = ("kecamatan", "kelurahan", "category", "department", "channel", "language")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8; header=present",
    "jsonl": "application/jsonl; charset=utf-8",
}
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
RESOLVED = frozenset({"resolved", "closed"})
# a cell that a spreadsheet would run as a formula (CSV injection, OWASP): prefixed with '
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# matched whole (fullmatch): "$" alone would let a trailing newline through
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")
CHANNEL = re.compile(events.CHANNEL)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CURSOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # a feedback id (events: 1-64)
CHUNK_BYTES = 16 * 1024
# what a page reads: the fields its rows and its filter need, and nothing else (the text only
# for staff), so an export cannot show what it never fetched
SCAN_FIELDS = {
    f: 1
    for f in (
        "submitted_at",
        "category",
        "department",
        "department_id",
        "assigned_department",
        "assigned_department_id",
        "kecamatan",
        "kelurahan",
        "channel",
        "language",
    )
}
ROW_FIELDS = {
    **SCAN_FIELDS,
    **{
        f: 1
        for f in (
            "status",
            "status_seq",
            "case_status",
            "priority",
            "categorized_at",
            "first_categorized_at",
            "first_response_at",
            "resolved_at",
            "overdue",
            "score",
        )
    },
}


# ---------------------------------------------------------------- who reads


@dataclass(frozen=True)
class Reader:
    """Who reads an export: the public (no text), or staff, who get the ``text`` column: an
    admin every case's, a department its own cases' (others' are empty)."""

    staff: bool = False
    department_id: str | None = None

    def sees_text_of(self, doc: dict) -> bool:
        if not self.staff:
            return False
        return self.department_id is None or department_id_of(doc) == self.department_id


PUBLIC = Reader()


# ---------------------------------------------------------------- the query


def _area(names: Iterable[str]) -> dict[str, str]:
    return {" ".join(n.split()).casefold(): n for n in names}


KECAMATAN = _area(WILAYAH.kecamatan)
KELURAHAN = _area(k.name for k in WILAYAH.kelurahan)


def area_name(value: object, known: Mapping[str, str]) -> str | None:
    """The name of the city's list that ``value`` is (case and spaces aside), else None."""
    if not isinstance(value, str):
        return None
    return known.get(" ".join(value.split()).casefold())


class _Whole(validate.Validator):
    """The value matches ``pattern`` whole."""

    def __init__(self, pattern: re.Pattern, error: str):
        self.pattern, self.error = pattern, error

    def __call__(self, value: str) -> str:
        if not self.pattern.fullmatch(value):
            raise ValidationError(self.error)
        return value


class Day(fields.Date):
    """A day as YYYY-MM-DD, and only so."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not DAY.fullmatch(value):
            raise ValidationError("not a day as YYYY-MM-DD")
        return super()._deserialize(value, attr, data, **kwargs)


class CasesFilter(Schema):
    """What a case export (and its metadata) is filtered by: a period of submission in the
    city's time, and any of the area, category, department, channel and language."""

    class Meta:
        unknown = RAISE

    from_ = Day(data_key="from")
    to = Day()
    kecamatan = fields.String(validate=validate.Length(min=1, max=80))
    kelurahan = fields.String(validate=validate.Length(min=1, max=80))
    category = fields.String(validate=validate.OneOf(events.CATEGORY_IDS))
    department = fields.String(validate=validate.Length(min=1, max=64))
    channel = fields.String(validate=_Whole(CHANNEL, "not a channel (lower-case id)"))
    language = fields.String(validate=_Whole(LANGUAGE, "not a language code (e.g. id, en, jv)"))

    @validates("kecamatan")
    def _a_kecamatan(self, value: str, **kwargs) -> None:
        if area_name(value, KECAMATAN) is None:
            raise ValidationError("not a kecamatan of Kota Pekalongan")

    @validates("kelurahan")
    def _a_kelurahan(self, value: str, **kwargs) -> None:
        if area_name(value, KELURAHAN) is None:
            raise ValidationError("not a kelurahan of Kota Pekalongan")

    @validates_schema
    def _a_period(self, data: dict, **kwargs) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("from is after to", "from")


class CasesQuery(CasesFilter):
    """``GET /api/v1/exports/cases.{csv,jsonl}``: the filter, and the page."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=120))

    @validates("cursor")
    def _a_cursor(self, value: str, **kwargs) -> None:
        if decode_cursor(value) is None:
            raise ValidationError("not a cursor of this export (its Link rel=next)")


class NoQuery(Schema):
    class Meta:
        unknown = RAISE


def department_names(overrides: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Every department a case may be under, by id, with the names an older event (without
    ids) may carry: the taxonomy's, and those ``SUARA_DEPARTMENTS`` points categories at."""
    names: dict[str, set[str]] = {d.id: {d.id, d.name} for d in TAXONOMY.departments}
    for ref in overrides.values():
        found = TAXONOMY.department_named(ref)
        names.setdefault(found.id, {found.id}).update({ref.strip(), found.name})
    return {d: frozenset(n) for d, n in names.items()}


def load_query(
    args: Mapping[str, str], departments: Mapping[str, frozenset[str]], schema: type = CasesQuery
) -> dict:
    """The validated query (ValidationError: 400 with the fields), with canonical area names
    and the cursor decoded (``after``: the last id of the previous page)."""
    query = schema().load(dict(args))
    if query.get("department") and query["department"] not in departments:
        raise ValidationError({"department": ["not a department of Suara's taxonomy"]})
    for field, known in (("kecamatan", KECAMATAN), ("kelurahan", KELURAHAN)):
        if query.get(field):
            query[field] = area_name(query[field], known)
    if query.get("cursor"):
        query["after"] = decode_cursor(query.pop("cursor"))
    return query


def encode_cursor(feedback_id: str) -> str:
    return base64.urlsafe_b64encode(feedback_id.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> str | None:
    """The id a cursor stands for, or None: only an id's characters, so a cursor can never
    become a query operator or anything but the string it compares ``_id`` with."""
    try:
        found = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return found if CURSOR_ID.fullmatch(found) and encode_cursor(found) == value else None


# ---------------------------------------------------------------- reading a page


def scan_filter(
    query: dict,
    departments: Mapping[str, frozenset[str]],
    after: str | None = None,
    until: str | None = None,
) -> dict:
    """The database filter of a page: received cases with ``after < _id <= until``, narrowed by
    the query. A superset of the page's rows (``matches`` decides): the period as a range of
    the stored times' date prefixes, a day wider on each side (a time with any offset has a
    date at most one day from the city's), the department by its id or an older event's name."""
    found: dict = {"received": True}
    ids = {k: v for k, v in (("$gt", after), ("$lte", until)) if v is not None}
    if ids:
        found["_id"] = ids
    for field in ("category", "channel", "language"):
        if query.get(field):
            found[field] = query[field]
    for field in ("kecamatan", "kelurahan"):
        if query.get(field):
            words = r"\s+".join(re.escape(w) for w in query[field].split())
            found[field] = {"$regex": rf"^\s*{words}\s*$", "$options": "i"}
    if query.get("from_") or query.get("to"):
        period = {}
        if query.get("from_"):
            period["$gte"] = (query["from_"] - timedelta(days=1)).isoformat()
        if query.get("to"):
            period["$lt"] = (query["to"] + timedelta(days=2)).isoformat()
        found["submitted_at"] = period
    if query.get("department"):
        wanted, names = query["department"], sorted(departments.get(query["department"], ()))
        found["$or"] = [
            {"assigned_department_id": wanted},
            {"department_id": wanted},
            {"assigned_department": {"$in": names}},
            {"department": {"$in": names}},
        ]
    return found


def matches(doc: dict, query: dict, tz: tzinfo) -> bool:
    """Whether a case is in the export the query asks for (exact, on the row's own values)."""
    if query.get("from_") or query.get("to"):
        submitted = moment(doc.get("submitted_at"))
        if submitted is None:
            return False
        day = submitted.astimezone(tz).date()
        if (query.get("from_") and day < query["from_"]) or (query.get("to") and day > query["to"]):
            return False
    if query.get("department") and department_id_of(doc) != query["department"]:
        return False
    if query.get("kecamatan") and area_name(doc.get("kecamatan"), KECAMATAN) != query["kecamatan"]:
        return False
    if query.get("kelurahan") and area_name(doc.get("kelurahan"), KELURAHAN) != query["kelurahan"]:
        return False
    return all(doc.get(f) == query[f] for f in ("category", "channel", "language") if query.get(f))


@dataclass
class PageEnd:
    """Where a page ends: its last id (None: no rows), and whether another page follows."""

    last: str | None = None
    more: bool = False


def page_end(docs: Iterable[dict], query: dict, tz: tzinfo, limit: int) -> PageEnd:
    """Walk documents in ``_id`` order (read with ``SCAN_FIELDS``) to the page's end: the
    ``limit``-th match, and whether one more follows. Keeps nothing but the last id."""
    end, n = PageEnd(), 0
    for doc in docs:
        if not matches(doc, query, tz):
            continue
        if n == limit:
            end.more = True
            break
        end.last, n = doc["_id"], n + 1
    return end


# ---------------------------------------------------------------- rows


def department_id_of(doc: dict) -> str | None:
    """The id of the department a case is under: a transfer's choice, else the
    categorization's; an event from before ids: the id of the name it carries."""
    found = doc.get("assigned_department_id") or doc.get("department_id")
    if found:
        return found
    name = doc.get("assigned_department") or doc.get("department")
    return department_id(name) if isinstance(name, str) and name.strip() else None


def moment(value: object) -> datetime | None:
    """A stored time (ISO 8601 text, or a datetime) as an aware datetime, or None."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and value:
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def city_time(value: object, tz: tzinfo) -> str | None:
    found = moment(value)
    return None if found is None else found.astimezone(tz).isoformat(timespec="seconds")


def _closed_text(value: object, allowed: Iterable[str]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def _code(value: object, pattern: re.Pattern) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def case_row(doc: dict, tz: tzinfo, reader: Reader = PUBLIC) -> dict:
    """One case's row: ``CASE_COLUMNS`` (and ``text`` for staff), each value in a closed form
    or empty (None)."""
    status = _closed_text(projections.counted_status(doc), events.STATUSES)
    overdue = bool(doc.get("overdue"))
    resolved = status in RESOLVED
    score = doc.get("score")
    department = doc.get("assigned_department") or doc.get("department")
    row = {
        "id": doc["_id"],
        "category": _closed_text(doc.get("category"), events.CATEGORY_IDS),
        "department": department if isinstance(department, str) else None,
        "department_id": department_id_of(doc),
        "status": status,
        "priority": _closed_text(doc.get("priority"), ("normal", "urgent")),
        "kecamatan": area_name(doc.get("kecamatan"), KECAMATAN),
        "kelurahan": area_name(doc.get("kelurahan"), KELURAHAN),
        "channel": _code(doc.get("channel"), CHANNEL),
        "language": _code(doc.get("language"), LANGUAGE),
        "submitted_at": city_time(doc.get("submitted_at"), tz),
        "categorized_at": city_time(
            doc.get("first_categorized_at") or doc.get("categorized_at"), tz
        ),
        "first_response_at": city_time(doc.get("first_response_at"), tz),
        "resolved_at": city_time(doc.get("resolved_at"), tz),
        "overdue": overdue,
        "sla_met": False if overdue else True if resolved else None,
        "rating": score if score in (1, 2, 3, 4, 5) and not isinstance(score, bool) else None,
    }
    if reader.staff:
        text = doc.get(TEXT_COLUMN)
        row[TEXT_COLUMN] = text if reader.sees_text_of(doc) and isinstance(text, str) else None
    return row


def columns(reader: Reader = PUBLIC) -> tuple[str, ...]:
    return (*CASE_COLUMNS, TEXT_COLUMN) if reader.staff else CASE_COLUMNS


def row_fields(reader: Reader = PUBLIC) -> dict:
    return {**ROW_FIELDS, TEXT_COLUMN: 1} if reader.staff else dict(ROW_FIELDS)


# ---------------------------------------------------------------- formats


def csv_cell(value: object) -> str:
    """A value as CSV text: empty for none, true/false, and text that a spreadsheet would read
    as a formula prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Line:
    def write(self, line: str) -> str:
        return line


_CSV = csv.writer(_Line(), lineterminator="\r\n")  # RFC 4180; quotes only where needed


def csv_line(values: Iterable[object]) -> str:
    return _CSV.writerow([csv_cell(v) for v in values])


def csv_lines(rows: Iterable[dict], names: tuple[str, ...]) -> Iterator[str]:
    """The header, then one line per row."""
    yield csv_line(names)
    for row in rows:
        yield csv_line(row.get(n) for n in names)


# str.splitlines() would split a line at these, which JSON leaves raw inside strings
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def jsonl_line(row: dict) -> str:
    line = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _LINE_BREAKS.items():
        line = line.replace(raw, escaped)
    return line + "\n"


def jsonl_lines(rows: Iterable[dict], names: tuple[str, ...]) -> Iterator[str]:
    """One JSON object per row, the columns in order; nothing else."""
    for row in rows:
        yield jsonl_line({n: row.get(n) for n in names})


FORMATS = {"csv": csv_lines, "jsonl": jsonl_lines}


def chunks(lines: Iterable[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Lines as UTF-8, gathered into chunks of about ``size`` bytes (one write each)."""
    buffer: list[bytes] = []
    held = 0
    for line in lines:
        data = line.encode()
        buffer.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)


# ---------------------------------------------------------------- links


def filter_params(query: dict) -> list[tuple[str, str]]:
    """The query's filters as URL parameters, in a fixed order."""
    params = []
    for name, key in (("from", "from_"), ("to", "to")):
        if query.get(key):
            params.append((name, query[key].isoformat()))
    params += [(f, query[f]) for f in FILTERS if query.get(f)]
    return params


def url(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params, quote_via=quote)}" if params else path


def links(fmt: str, query: dict, end: PageEnd | None = None) -> str:
    """The ``Link`` header of a page: the next page (when there is one) and the metadata."""
    found = []
    if end is not None and end.more and end.last is not None:
        params = [*filter_params(query), ("limit", str(query["limit"]))]
        params.append(("cursor", encode_cursor(end.last)))
        found.append(f'<{url(f"{BASE}/cases.{fmt}", params)}>; rel="next"')
    metadata = url(f"{BASE}/cases.metadata.json", filter_params(query))
    found.append(f'<{metadata}>; rel="describedby"; type="application/json"')
    return ", ".join(found)


# ---------------------------------------------------------------- the summary as CSV

AREA_GROUPS = {"by_kecamatan": KECAMATAN, "by_kelurahan": KELURAHAN}


def summary_rows(summary: Mapping) -> list[tuple[str, str, int]]:
    """Every count of the summary as (group, key, count): ``total`` and ``overdue`` with an
    empty key, ``by_category`` with each category, ``satisfaction`` with ``ratings``,
    ``satisfaction.by_score`` with each score. Derived figures (the mean) are left out; an
    area not in the city's list is counted under an empty key, a language not a code too."""
    rows: dict[tuple[str, str], int] = {}

    def add(group: str, key: str, n: int) -> None:
        if group in AREA_GROUPS:
            key = area_name(key, AREA_GROUPS[group]) or ""
        elif group == "by_language" and not LANGUAGE.fullmatch(key):
            key = ""
        rows[(group, key)] = rows.get((group, key), 0) + n

    def walk(prefix: str, value: Mapping) -> None:
        for name, inner in value.items():
            if isinstance(inner, Mapping):
                walk(f"{prefix}.{name}" if prefix else name, inner)
            elif isinstance(inner, int) and not isinstance(inner, bool):
                add(prefix or name, name if prefix else "", inner)

    walk("", summary)
    return [(group, key, n) for (group, key), n in rows.items()]


def summary_csv(summary: Mapping) -> str:
    lines = [csv_line(SUMMARY_COLUMNS)]
    lines += [csv_line(row) for row in summary_rows(summary)]
    return "".join(lines)


# ---------------------------------------------------------------- metadata


class MetadataError(ValueError):
    """services/reporting/data/metadata.yaml is not valid: what is wrong."""


TYPES = ("string", "integer", "boolean", "datetime")


def _texts(entry: object, where: str) -> dict[str, str]:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(lang), str) and entry[lang].strip() for lang in ("id", "en")
    ):
        raise MetadataError(f"{where}: needs an Indonesian (id) and an English (en) text")
    return {"id": entry["id"].strip(), "en": entry["en"].strip()}


def _columns(entries: object, names: tuple[str, ...], where: str) -> list[dict]:
    if not isinstance(entries, list) or [
        e.get("name") if isinstance(e, dict) else None for e in entries
    ] != list(names):
        raise MetadataError(f"{where}: the columns must be {', '.join(names)}, in this order")
    found = []
    for entry in entries:
        at = f"{where}.{entry['name']}"
        if entry.get("type") not in TYPES:
            raise MetadataError(f"{at}: type must be one of {', '.join(TYPES)}")
        column = {
            "name": entry["name"],
            "type": entry["type"],
            "format": entry.get("format"),
            "unit": entry.get("unit"),
            "description": _texts(entry, at),
        }
        if entry.get("restricted"):
            column["restricted"] = True
        found.append(column)
    return found


def parse_metadata(doc: object) -> dict:
    """The metadata file's content, checked whole (MetadataError says what is wrong)."""
    if not isinstance(doc, dict):
        raise MetadataError("expected a mapping")
    for key in ("identifier", "spatial"):
        if not isinstance(doc.get(key), str):
            raise MetadataError(f"{key}: needs a text")
    for key in ("publisher", "source", "licence", "contact"):
        if not isinstance(doc.get(key), dict) or not isinstance(doc[key].get("name"), str):
            raise MetadataError(f"{key}: needs a name")
    if doc["licence"].get("id") != "CC-BY-4.0" or not isinstance(doc["licence"].get("url"), str):
        raise MetadataError("licence: the exports are published under CC-BY-4.0, with its url")
    cols = doc.get("columns") or {}
    return {
        "identifier": doc["identifier"],
        "title": _texts(doc.get("title"), "title"),
        "description": _texts(doc.get("description"), "description"),
        "publisher": dict(doc["publisher"]),
        "source": {
            "name": doc["source"]["name"],
            "description": _texts(doc["source"].get("description"), "source.description"),
        },
        "licence": dict(doc["licence"]),
        "update_frequency": _texts(doc.get("update_frequency"), "update_frequency"),
        "contact": {
            "name": doc["contact"]["name"],
            "via": _texts(doc["contact"].get("via"), "contact.via"),
        },
        "spatial": doc["spatial"],
        "keywords": [str(k) for k in doc.get("keywords") or []],
        "cases": _columns(cols.get("cases"), (*CASE_COLUMNS, TEXT_COLUMN), "columns.cases"),
        "summary": _columns(cols.get("summary"), SUMMARY_COLUMNS, "columns.summary"),
    }


@cache
def load_metadata(path: Path = METADATA_PATH) -> dict:
    try:
        return parse_metadata(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, MetadataError) as exc:
        raise MetadataError(f"{path}: {exc}") from exc


METADATA = load_metadata()  # a broken file stops the service at start-up


def metadata(query: dict, timezone: str, now: datetime, base: dict = METADATA) -> dict:
    """``GET /api/v1/exports/cases.metadata.json``: the dataset's metadata for the period and
    filters asked (the same parameters as the export's)."""
    params = filter_params(query)
    period = {
        "from": query["from_"].isoformat() if query.get("from_") else None,
        "to": query["to"].isoformat() if query.get("to") else None,
        "timezone": timezone,
        "by": "submitted_at",
    }
    resource = {"encoding": "utf-8", "pagination": _PAGINATION}
    return {
        "identifier": base["identifier"],
        "title": base["title"],
        "description": base["description"],
        "publisher": base["publisher"],
        "source": base["source"],
        "contact": base["contact"],
        "licence": base["licence"],
        "update_frequency": base["update_frequency"],
        "spatial": base["spatial"],
        "keywords": base["keywords"],
        "period": period,
        "filters": {f: query[f] for f in FILTERS if query.get(f)},
        "personal_data": _PERSONAL_DATA,
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "columns": base["cases"],
        "resources": [
            {
                "name": "cases.csv",
                "path": url(f"{BASE}/cases.csv", params),
                "format": "CSV",
                "mediatype": MEDIA_TYPES["csv"],
                **resource,
            },
            {
                "name": "cases.jsonl",
                "path": url(f"{BASE}/cases.jsonl", params),
                "format": "JSONL",
                "mediatype": MEDIA_TYPES["jsonl"],
                **resource,
            },
            {
                "name": "summary.csv",
                "path": f"{BASE}/summary.csv",
                "format": "CSV",
                "mediatype": MEDIA_TYPES["csv"],
                "encoding": "utf-8",
                "description": {
                    "id": "Jumlah seluruh laporan per kelompok (sepanjang waktu)",
                    "en": "The counts of all cases by group (all time)",
                },
                "columns": base["summary"],
            },
        ],
    }


_PAGINATION = {
    "order": "id",
    "limit": {"default": DEFAULT_LIMIT, "max": MAX_LIMIT},
    "next": 'the Link header rel="next" (absent on the last page)',
}
_PERSONAL_DATA = {
    "id": "Tidak ada: tanpa nama, surel, telepon, NIK, alamat jalan, maupun isi laporan",
    "en": "None: no name, e-mail, phone, NIK, street address, nor the report's words",
}
