"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over intake's cases (pure).

Every endpoint answers ``.json`` and ``.xml``. A category is a service (``service_code`` = the
category id); a case is a service request. What a GET shows is public: never the contact, the
street address or an internal note; the description is the citizen's text with e-mail
addresses, phone numbers and NIK replaced (as in events); the location is the kelurahan and
kecamatan, and the pin rounded to 3 decimals (about 110 m), so that no home is pointed at.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.intake import lifecycle, privacy
from shared.taxonomy import Attribute, Category, Taxonomy

SPEC = "http://wiki.open311.org/GeoReport_v2"
JURISDICTION = "pekalongankota.go.id"
ZONE = ZoneInfo("Asia/Jakarta")
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
CLOSED = frozenset({"resolved", "closed", "rejected", "duplicate"})
WINDOW = timedelta(days=90)  # the spec's default window, and the longest one asked for
MAX_ROWS = 1000  # the spec's default (and our largest) number of requests per answer
MAX_IDS = 100  # service_request_id=a,b,...: at most this many
DESCRIPTION_MAX = 4000  # the schema's maxLength
PIN_DECIMALS = 3


class Open311Error(Exception):
    """An answer in the spec's error shape: ``[{"code", "description"}, ...]``."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__("; ".join(descriptions))
        self.status, self.descriptions = status, descriptions or ("error",)

    def body(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def output_format(value: str) -> str:
    if value not in FORMATS:
        raise Open311Error(404, f"format {value!r}: json or xml")
    return value


def check_jurisdiction(args: Mapping[str, str]) -> None:
    given = args.get("jurisdiction_id")
    if given not in (None, "", JURISDICTION):
        raise Open311Error(404, f"jurisdiction_id: this endpoint serves {JURISDICTION} only")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in the city's time, e.g. 2026-12-02T13:00:00+07:00."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value.astimezone(ZONE).isoformat(timespec="seconds")


# ---------------------------------------------------------------- discovery and services


def discovery(base_url: str) -> dict:
    return {
        "changeset": "2026-12-02T00:00:00+07:00",
        "contact": "Dinkominfo Kota Pekalongan, via the Suara forum",
        "key_service": "API keys are issued by Dinkominfo (SUARA_API_KEYS)",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": "2026-12-02T00:00:00+07:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def service(category: Category, taxonomy: Taxonomy) -> dict:
    return {
        "service_code": category.id,
        "service_name": category.label_id,
        "description": f"{category.label_en}: {taxonomy.default_department(category.id).name}",
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group or taxonomy.default_department(category.id).name,
    }


def services(taxonomy: Taxonomy) -> list[dict]:
    return [service(c, taxonomy) for c in taxonomy.categories]


def _category(taxonomy: Taxonomy, code: str) -> Category:
    if code not in taxonomy.category_ids:
        raise Open311Error(404, f"service_code {code!r} not found")
    return taxonomy.category(code)


def service_definition(taxonomy: Taxonomy, code: str) -> dict:
    category = _category(taxonomy, code)
    return {
        "service_code": category.id,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": None,
                "order": order,
                "description": a.description,
                **({"values": [{"key": k, "name": n} for k, n in a.values]} if a.values else {}),
            }
            for order, a in enumerate(category.attributes, start=1)
        ],
    }


# ---------------------------------------------------------------- POST requests


_ATTRIBUTE = re.compile(r"^attribute\[([a-z][a-z0-9_]*)\](\[\])?$")
_TEXT_FIELDS = {
    "address_string": 300,
    "address_id": 100,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 30,
    "description": 5000,
    "media_url": 2000,
    "device_id": 200,
    "account_id": 200,
    "jurisdiction_id": 100,
    "api_key": 500,
    "service_code": 100,
    "lat": 40,
    "long": 40,
}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{6,20}$")


def parse_request(form: Mapping[str, list[str]], taxonomy: Taxonomy) -> dict:
    """A feedback submission from a ``POST requests`` form (field -> its values); a list of
    what is wrong (Open311Error 400) otherwise. The service code is the citizen's own choice
    of category; attributes are checked against the service definition."""
    problems: list[str] = []
    single: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    for name, values in form.items():
        match = _ATTRIBUTE.fullmatch(name)
        if match:
            answers[match.group(1)] = [v.strip() for v in values]
            continue
        if name not in _TEXT_FIELDS:
            continue  # fields the spec does not name are ignored, as clients expect
        if len(values) > 1:
            problems.append(f"{name}: given more than once")
            continue
        value = values[0].strip()
        if len(value) > _TEXT_FIELDS[name] or "\x00" in value:
            problems.append(f"{name}: longer than {_TEXT_FIELDS[name]} characters")
        elif value:
            single[name] = value
    code = single.get("service_code")
    category = None
    if code is None:
        problems.append("service_code: required (GET services.json lists them)")
    elif code not in taxonomy.category_ids:
        problems.append(f"service_code: {code!r} is not a service (GET services.json)")
    else:
        category = taxonomy.category(code)
    lat, lon = _coordinate(single, "lat", 90, problems), _coordinate(single, "long", 180, problems)
    if (lat is None) != (lon is None) and not problems:
        problems.append("lat and long: give both, or neither")
    if lat is None and "address_string" not in single and "address_id" not in single:
        problems.append("location: lat and long, or address_string, is required")
    if "email" in single and not _EMAIL.fullmatch(single["email"]):
        problems.append("email: not an e-mail address")
    if "phone" in single and not _PHONE.fullmatch(single["phone"]):
        problems.append("phone: not a phone number")
    if "media_url" in single and not re.match(r"^https?://[^\s]+$", single["media_url"]):
        problems.append("media_url: an http(s) URL")
    attributes = _answers(category, answers, problems) if category else {}
    description = single.get("description")
    if description is not None and len(description) < 3:
        problems.append("description: at least 3 characters")
    if problems:
        raise Open311Error(400, *problems)
    assert category is not None
    name = " ".join(filter(None, (single.get("first_name"), single.get("last_name")))) or None
    contact = {"name": name, "email": single.get("email"), "phone": single.get("phone")}
    contact = {k: v for k, v in contact.items() if v}
    return {
        "text": description or _described(category, attributes),
        "location": {"lat": lat, "lon": lon, "address": single.get("address_string")},
        "contact": {**contact, "language": "id"} if contact else None,
        "category": category.id,  # the citizen chose it: categorization takes it as given
        "attributes": attributes or None,
        "media_url": single.get("media_url"),
    }


def _coordinate(single: dict, name: str, bound: float, problems: list[str]) -> float | None:
    if name not in single:
        return None
    try:
        value = float(single[name])
    except ValueError:
        value = float("nan")
    if not -bound <= value <= bound:  # NaN fails too
        problems.append(f"{name}: a number from -{bound} to {bound}")
        return None
    return value


def _answers(category: Category, answers: dict[str, list[str]], problems: list[str]) -> dict:
    known = {a.code: a for a in category.attributes}
    for code in sorted(set(answers) - set(known)):
        problems.append(f"attribute[{code}]: service {category.id} has no such attribute")
    found = {}
    for attribute in category.attributes:
        values = [v for v in answers.get(attribute.code, []) if v]
        if not values:
            if attribute.required:
                problems.append(f"attribute[{attribute.code}]: required")
            continue
        problem = _check_answer(attribute, values)
        if problem:
            problems.append(f"attribute[{attribute.code}]: {problem}")
        else:
            found[attribute.code] = values if attribute.datatype == "multivaluelist" else values[0]
    return found


def _check_answer(attribute: Attribute, values: list[str]) -> str | None:
    if attribute.datatype != "multivaluelist" and len(values) > 1:
        return "one value"
    keys = {k for k, _ in attribute.values}
    if attribute.datatype.endswith("valuelist"):
        wrong = [v for v in values if v not in keys]
        return f"one of {', '.join(sorted(keys))}" if wrong else None
    value = values[0]
    if len(value) > 1000:
        return "at most 1000 characters"
    if attribute.datatype == "number":
        try:
            float(value)
        except ValueError:
            return "a number"
    if attribute.datatype == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "an ISO 8601 date and time"
    return None


def _described(category: Category, attributes: dict) -> str:
    """The text of a request that came without a description: its service and answers."""
    answers = ", ".join(f"{k}: {v}" for k, v in attributes.items())
    return f"{category.label_id}" + (f" ({answers})" if answers else "")


def created(record: dict, taxonomy: Taxonomy) -> list[dict]:
    """The answer to ``POST requests``."""
    department = taxonomy.default_department(record["requested_category"]).name
    return [
        {
            "service_request_id": record["_id"],
            "service_notice": f"Diterima; diteruskan ke {department}. Lacak: {record['_id']}",
            "account_id": None,
        }
    ]


# ---------------------------------------------------------------- GET requests


@dataclass(frozen=True)
class Query:
    ids: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = MAX_ROWS
    extensions: bool = False

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end] of requested_datetime: the 90 days up to ``end`` unless given."""
        end = self.end or (self.start + WINDOW if self.start else now)
        return self.start or end - WINDOW, end

    def matches(self, view: dict) -> bool:
        return (not self.codes or view["service_code"] in self.codes) and (
            not self.statuses or view["status"] in self.statuses
        )


_ID = re.compile(r"^SU-[0-9A-Z]{10}$")


def is_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


def update_window(args: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """``servicerequestupdates``' [start_date, end_date]: the last day unless given, at most
    90 days."""
    problems: list[str] = []
    start, end = _date(args, "start_date", problems), _date(args, "end_date", problems)
    if problems:
        raise Open311Error(400, *problems)
    end = end or (start + timedelta(days=1) if start else now)
    start = start or end - timedelta(days=1)
    if end < start or end - start > WINDOW:
        raise Open311Error(400, "start_date to end_date: forward, and at most 90 days")
    return start, end


def parse_query(args: Mapping[str, str], taxonomy: Taxonomy) -> Query:
    """``GET requests``' parameters; Open311Error 400 lists what is wrong."""
    problems: list[str] = []
    ids = tuple(i.strip() for i in args.get("service_request_id", "").split(",") if i.strip())
    if len(ids) > MAX_IDS:
        problems.append(f"service_request_id: at most {MAX_IDS} ids")
    if any(not is_id(i) for i in ids):
        problems.append("service_request_id: ids such as SU-0123456789, comma-separated")
    codes = frozenset(c.strip() for c in args.get("service_code", "").split(",") if c.strip())
    unknown = sorted(codes - set(taxonomy.category_ids))
    if unknown:
        problems.append(f"service_code: unknown {', '.join(unknown)}")
    statuses = frozenset(s.strip() for s in args.get("status", "").split(",") if s.strip())
    if statuses - {"open", "closed"}:
        problems.append("status: open or closed (comma-separated)")
    start, end = _date(args, "start_date", problems), _date(args, "end_date", problems)
    if start and end:
        if end < start:
            problems.append("end_date: before start_date")
        elif end - start > WINDOW:
            problems.append("start_date to end_date: at most 90 days")
    page = _int(args, "page", 1, 1, 10_000, problems)
    page_size = _int(args, "page_size", MAX_ROWS, 1, MAX_ROWS, problems)
    extensions = args.get("extensions", "false").lower()
    if extensions not in ("true", "false"):
        problems.append("extensions: true or false")
    if problems:
        raise Open311Error(400, *problems)
    return Query(ids, codes, statuses, start, end, page, page_size, extensions == "true")


def _date(args: Mapping[str, str], name: str, problems: list[str]) -> datetime | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        problems.append(f"{name}: a w3c date and time, e.g. 2026-12-01T00:00:00+07:00")
        return None
    return value if value.tzinfo else value.replace(tzinfo=ZONE)


def _int(args, name, default, low, high, problems) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        problems.append(f"{name}: a whole number from {low} to {high}")
        return default
    return int(raw)


def request_view(
    record: dict, taxonomy: Taxonomy, extensions: bool = False, base_url: str = ""
) -> dict:
    """A case as a service request: public fields only (see the module's docstring).
    ``media_url``: the case's first photo at ``base_url`` (served to the holder of the
    citizen token and to staff only)."""
    category = (
        record.get("category") or record.get("requested_category") or record.get("category_hint")
    )
    service_name = taxonomy.category(category).label_id if category else None
    history = lifecycle.public_history(record.get("history") or [])
    notes = [h["note"] for h in history if h.get("note")]
    location = record.get("location") or {}
    view = {
        "service_request_id": record["_id"],
        "status": "closed" if record["status"] in CLOSED else "open",
        "status_notes": notes[-1] if notes else None,
        "service_name": service_name,
        "service_code": category or "other",
        "description": privacy.redact(record["text"])[:DESCRIPTION_MAX],
        "agency_responsible": record.get("department"),
        "service_notice": None,
        "requested_datetime": iso(record["created_at"]),
        "updated_datetime": iso(record.get("updated_at")),
        "expected_datetime": iso(record.get("due_at")),
        "address": _area(location),
        "address_id": None,
        "zipcode": None,
        "lat": _rounded(location.get("lat")),
        "long": _rounded(location.get("lon")),
        "media_url": f"{base_url}/media/{record['media'][0]}" if record.get("media") else None,
    }
    if extensions:
        view["extended_status"] = record["status"]  # Suara's own state
        view["notes"] = [
            {"status": h["status"], "note": h.get("note"), "datetime": iso(_at(h["at"]))}
            for h in history
        ]
    return view


def _at(value) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value


def _area(location: dict) -> str | None:
    parts = [location.get("kelurahan"), location.get("kecamatan")]
    parts = [p for p in parts if p]
    return ", ".join([*parts, "Kota Pekalongan"]) if parts else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, PIN_DECIMALS)


def updates(record: dict, start: datetime, end: datetime) -> list[dict]:
    """The case's public updates between ``start`` and ``end`` (FixMyStreet's
    ``servicerequestupdates``): each move, with its public note."""
    found = []
    for n, step in enumerate(record.get("history") or [], start=1):
        at = step["at"].replace(tzinfo=UTC) if step["at"].tzinfo is None else step["at"]
        if not start <= at <= end:
            continue
        public = step.get("visibility") == "public" and step.get("note")
        found.append(
            {
                "update_id": f"{record['_id']}-{n}",
                "service_request_id": record["_id"],
                "status": "closed" if step["status"] in CLOSED else "open",
                "extended_status": step["status"],
                "updated_datetime": iso(at),
                "description": privacy.redact(step["note"]) if public else None,
                "media_url": None,
            }
        )
    return found


# ---------------------------------------------------------------- XML

# the element of each item of a list, by the list's element
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "errors": "error",
}


def to_xml(root: str, body) -> bytes:
    """The XML form of an answer: ``<services><service>...`` and the like; ``None`` is an
    empty element, booleans are ``true``/``false``."""
    element = ET.Element(root)
    _fill(element, body)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        tag = _ITEMS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, tag), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
