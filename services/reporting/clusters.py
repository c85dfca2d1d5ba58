"""Clusters of "me too" reports (issue 15; pure: projection updates, notes, the hotspot list).

Categorization links a new feedback that repeats an open case at the same place to the
cluster of that case (``feedback.duplicate_suspected``: the cluster's id is its first case's
feedback id); a department may undo the link (``feedback.duplicate_reviewed``, ``undone``),
and the feedback is a case of its own again. A cluster's size is its first case and the
me-too cases whose link was not undone.

The size is a counter in the cluster's own document (``clusters``, ``_id`` the cluster id),
kept exact by the reconcile of ADR 0004: each me-too case's projection records its link (and
whether it was undone or confirmed), its contribution names its cluster
(``projections.cluster_counts``), and a change of it reaches the cluster once, whatever the
order and repeats of the two events. The cluster's place, category and times are not counts:
``note`` says what one link adds to them, by ``$min``/``$max`` and a guard on the earliest link,
so any order of links gives the same document.

A cluster is listed in the index of each month and category it got a me-too report in
(``cluster_index``, ``_id`` ``<YYYY-MM>|<category>``) before its document is first written, so
that the hotspot list reads the period's index documents and then those clusters by ``_id``:
its cost follows the period's clusters, not what is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from marshmallow import fields, validate

from services.reporting import projections, reports
from shared import events
from shared.events import Event, InvalidMessage
from shared.taxonomy import TAXONOMY
from shared.wilayah import WILAYAH

# a cluster id becomes a key of the counts (``c:<id>|members``) and an _id: no dots, $, |, =
KEYABLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_MIN_SIZE = 2
DEFAULT_LIMIT = 20
MAX_LIMIT = 200


def checked(data: dict) -> dict:
    """The event's data when its ids can key a cluster (Suara's are ``SU-`` and ten letters or
    digits), else InvalidMessage: the message is dead-lettered with the reason."""
    for name in ("feedback_id", "cluster_id", "similar_to"):
        if not KEYABLE_ID.fullmatch(data.get(name) or ""):
            raise InvalidMessage(
                f"{name} {data.get(name)!r} is not a feedback id ({KEYABLE_ID.pattern})"
            )
    return data


def on_duplicate_suspected(event: Event, now: datetime | None = None) -> projections.Change:
    """The me-too case's link, in its projection (published once; a repeat sets the same)."""
    data = checked(event.data)
    return (
        {"_id": data["feedback_id"]},
        {
            "$set": {
                "me_too": {
                    "cluster_id": data["cluster_id"],
                    "similar_to": data["similar_to"],
                    "suspected_at": data["suspected_at"],
                },
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": dict(projections.DEFAULTS),
        },
    )


def on_duplicate_reviewed(event: Event, now: datetime | None = None) -> projections.Change:
    """A department's review of a link: the cluster it undid or confirmed, in a set (so the
    review may come before the link and be repeated; an undo outweighs a confirmation)."""
    data = checked(event.data)
    kept = "me_too_undone" if data["decision"] == "undone" else "me_too_confirmed"
    return (
        {"_id": data["feedback_id"]},
        {
            "$addToSet": {kept: data["cluster_id"]},
            "$set": {"updated_at": now or datetime.now(UTC)},
            "$setOnInsert": dict(projections.DEFAULTS),
        },
    )


def utc(when: str | None) -> str | None:
    """A time as events carry it (UTC, ``Z``), so stored times compare as strings."""
    moment = projections.event_time(when)
    return None if moment is None else events.iso(moment)


def index_id(month: str, category: str) -> str:
    """The index document that lists a month's clusters of one category: ``2026-12|roads``."""
    return f"{month}|{category}"


@dataclass(frozen=True)
class Note:
    """What one me-too link adds to its cluster's document (all but the counts)."""

    cluster_id: str
    listing: str  # the index document it is listed in (``index_id``)
    first_seen: str  # the first case's submission, else the link's time: kept by $min
    seen: str  # the link's time: last_seen, kept by $max
    origin: str  # ``<time>|<feedback id>``: the earliest link names the place and category
    place: dict  # category, kelurahan (the city's name or None), department_id


def note(data: dict, first_submitted: str | None) -> Note:
    """The note of a ``feedback.duplicate_suspected`` (its data), given the first case's
    submission time from its projection (None when not known). InvalidMessage when its
    ``suspected_at`` is not a time (the message is dead-lettered with the reason)."""
    seen = utc(data.get("suspected_at"))
    day = projections.city_day(seen)
    if seen is None or day is None:
        raise InvalidMessage(f"suspected_at {data.get('suspected_at')!r} is not a time")
    first = utc(first_submitted)
    return Note(
        cluster_id=data["cluster_id"],
        listing=index_id(f"{day:%Y-%m}", data["category"]),
        first_seen=min(first, seen) if first else seen,
        seen=seen,
        origin=f"{seen}|{data['feedback_id']}",
        place={
            "category": data["category"],
            "kelurahan": projections.area_name(data.get("kelurahan"), "kelurahan"),
            "department_id": data.get("department_id"),
        },
    )


# ---------------------------------------------------------------- the hotspot list


class ClusterQuery(reports.PeriodAndPlace):
    """``GET /api/v1/reports/clusters``: the reports' period and place filters, the smallest
    size shown and how many."""

    min_size = fields.Integer(
        load_default=DEFAULT_MIN_SIZE, validate=validate.Range(min=2, max=100_000)
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


def index_ids(query: dict, start: date, end: date) -> list[str]:
    """The index documents of the period's months: of the query's category, else of all."""
    categories = [query["category"]] if query.get("category") else TAXONOMY.category_ids
    return [index_id(m, c) for m in reports.months(start, end) for c in categories]


def size(doc: dict) -> int:
    """The first case and its me-too cases still linked."""
    return 1 + max(0, int(doc.get("members") or 0))


def row(doc: dict) -> dict:
    """A cluster as the report shows it: no text, nothing about anyone."""
    kelurahan = doc.get("kelurahan")
    known = WILAYAH.find(kelurahan) if kelurahan else None
    return {
        "cluster_id": doc["_id"],
        "size": size(doc),
        "confirmed": max(0, int(doc.get("confirmed") or 0)),
        "category": doc.get("category"),
        "department": doc.get("department_id"),
        "kelurahan": kelurahan,
        "kecamatan": known.kecamatan if known else None,
        "first_seen": doc.get("first_seen"),
        "last_seen": doc.get("last_seen"),
    }


def _wanted(query: dict):
    """Whether a cluster's row passes the query's filters (areas as the city names them)."""
    asked = {}
    for field in ("kecamatan", "kelurahan"):
        if query.get(field):
            asked[field] = projections.area_name(query[field], field) or query[field]
    for field in ("category", "department"):
        if query.get(field):
            asked[field] = query[field]
    return lambda found: all(found.get(f) == v for f, v in asked.items())


def top(docs: list[dict], query: dict, start: date, end: date) -> tuple[int, list[dict]]:
    """(how many clusters pass, the ``limit`` largest of them): those of at least ``min_size``
    that were seen in [start, end] (city days) and pass the filters; the largest first, then the
    latest seen."""
    wanted = _wanted(query)
    rows = []
    for doc in docs:
        found = row(doc)
        first = projections.city_day(found["first_seen"])
        last = projections.city_day(found["last_seen"])
        if found["size"] < query["min_size"] or first is None or last is None:
            continue
        if first > end or last < start or not wanted(found):
            continue
        rows.append(found)
    rows.sort(key=lambda r: r["cluster_id"])
    rows.sort(key=lambda r: (r["size"], r["last_seen"]), reverse=True)
    return len(rows), rows[: query["limit"]]
