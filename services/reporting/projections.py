"""Reporting's projection of every feedback, built from events (pure: filters and updates).

Each update is idempotent and commutes with the others, so the projection is right whatever
order events arrive in, and however often: ``received`` only sets what it knows,
``categorized`` applies only a newer revision, and ``urgent`` only raises a flag. The times a
report measures (first categorization, first response, resolution) are kept by ``$min`` and
``$max`` in changes of their own, without a revision's guard, so that a late event still
counts. An event may so give more than one change (``Change`` or a list of them).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.events import Event
from shared.wilayah import WILAYAH

Change = tuple[dict, dict]
CITY_TZ = ZoneInfo("Asia/Jakarta")
DEFAULTS = {"status": "received", "revision": 0, "status_seq": 0}
# a department's move that answers the citizen (the first one is the "first response")
RESPONSES = frozenset({"acknowledged", "in_progress", "resolved", "rejected", "duplicate"})


def _times(feedback_id: str, earliest: dict | None = None, latest: dict | None = None) -> Change:
    update: dict = {"$setOnInsert": dict(DEFAULTS)}
    if earliest:
        update["$min"] = earliest
    if latest:
        update["$max"] = latest
    return {"_id": feedback_id}, update


def on_received(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    data = event.data
    location = data.get("location") or {}
    return (
        {"_id": data["feedback_id"]},
        {
            "$set": {
                "received": True,
                "channel": data["channel"],
                "source": data.get("source"),
                "submitted_at": data["submitted_at"],
                "kecamatan": location.get("kecamatan"),
                "kelurahan": location.get("kelurahan"),
                "language": data.get("language"),
                # redacted by intake (as every event's text): for staff and the forum report
                "text": data.get("text"),
                "imported": bool(data.get("imported")),
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": dict(DEFAULTS),
        },
    )


def on_categorized(event: Event, now: datetime | None = None) -> list[Change]:
    data = event.data
    revision = data.get("revision", 1)
    first = _times(data["feedback_id"], earliest={"first_categorized_at": data["categorized_at"]})
    return [first, _categorized(data, revision, now)]


def _categorized(data: dict, revision: int, now: datetime | None) -> Change:
    return (
        # no match for a stale or repeated revision: the upsert then hits the unique _id
        # and is ignored by the store
        {"_id": data["feedback_id"], "revision": {"$lt": revision}},
        {
            "$set": {
                "category": data["category"],
                "department": data["department"],
                "department_id": data.get("department_id"),
                "priority": data["priority"],
                "method": data["method"],
                "status": "in_review" if data.get("needs_review") else "categorized",
                "categorized_at": data["categorized_at"],
                "revision": revision,
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": {"status_seq": 0},
        },
    )


def on_urgent(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    return (
        {"_id": event.data["feedback_id"]},
        {
            "$set": {"urgent": True, "updated_at": now or datetime.now(UTC)},
            # may come first: then the document needs the revision later updates compare with
            "$setOnInsert": dict(DEFAULTS),
        },
    )


def on_status_changed(event: Event, now: datetime | None = None) -> list[Change]:
    """A department's move (``feedback.status_changed``): a later ``sequence`` only. The case's
    state is kept apart from the system's (``status``, which categorizations set), so that the
    two commute: once a case has moved, its counted state is the moved one. Its first
    response and its (last) resolution are kept whatever order moves arrive in."""
    data = event.data
    changes = [_moved(data, now)]
    earliest, latest = {}, {}
    if data["to"] in RESPONSES and data.get("actor") in (None, "department", "admin"):
        earliest["first_response_at"] = data["changed_at"]
    if data["to"] == "resolved":
        latest["resolved_at"] = data["changed_at"]
    if earliest or latest:
        changes.append(_times(data["feedback_id"], earliest, latest))
    return changes


def _moved(data: dict, now: datetime | None) -> Change:
    return (
        {"_id": data["feedback_id"], "status_seq": {"$lt": data["sequence"]}},
        {
            "$set": {
                "case_status": data["to"],
                "status_seq": data["sequence"],
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": {"status": "received", "revision": 0},
        },
    )


def on_reassigned(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """A transfer (``feedback.reassigned``): the department a person chose, kept apart from the
    categorization's (``department``) so the two commute; a later transfer only."""
    data = event.data
    return (
        # a later transfer only; the first one finds no assign_seq (``$not`` matches that)
        {"_id": data["feedback_id"], "assign_seq": {"$not": {"$gte": data["sequence"]}}},
        {
            "$set": {
                "assigned_department": data["department"],
                "assigned_department_id": data["department_id"],
                "assign_seq": data["sequence"],
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": dict(DEFAULTS),
        },
    )


def on_rated(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """The citizen's rating (``feedback.rated``): one per case."""
    return (
        {"_id": event.data["feedback_id"]},
        {
            "$set": {"score": event.data["score"], "updated_at": now or datetime.now(UTC)},
            "$setOnInsert": dict(DEFAULTS),
        },
    )


def on_overdue(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """A case passed its due time (``feedback.overdue``): a flag, only ever raised."""
    return (
        {"_id": event.data["feedback_id"]},
        {
            "$set": {"overdue": True, "updated_at": now or datetime.now(UTC)},
            "$setOnInsert": dict(DEFAULTS),
        },
    )


def me_too_link(doc: dict) -> str | None:
    """The cluster a "me too" case counts in: the one ``feedback.duplicate_suspected`` linked
    it to, unless a department undid that link (services/reporting/clusters.py)."""
    link = doc.get("me_too") or {}
    cluster_id = link.get("cluster_id")
    if not isinstance(cluster_id, str) or cluster_id in (doc.get("me_too_undone") or []):
        return None
    return cluster_id


CLUSTER_BUCKET = "c:"  # a contribution's key into a cluster's document: ``c:<cluster>|members``


def cluster_counts(doc: dict) -> dict[str, int]:
    """What a "me too" case adds to its cluster's document: one member, and one confirmed
    member once a department confirmed the link. An undone link adds nothing, so undoing it
    takes the member away (once: the reconcile moves differences, ADR 0004)."""
    cluster_id = me_too_link(doc)
    if cluster_id is None:
        return {}
    counts = {f"{CLUSTER_BUCKET}{cluster_id}|members": 1}
    if cluster_id in (doc.get("me_too_confirmed") or []):
        counts[f"{CLUSTER_BUCKET}{cluster_id}|confirmed"] = 1
    return counts


def counted_status(doc: dict) -> str | None:
    """The state a feedback is counted in: its department's latest move, else the system's."""
    return doc.get("case_status") if doc.get("status_seq") else doc.get("status")


# ---------------------------------------------------------------- counters
# The summary comes from one counters document, not from a scan. Each feedback document keeps
# what it has contributed so far (``counted``); after every event the store moves the
# difference into the counters, exactly once (services/reporting/store.reconcile).
COUNTED_GROUPS = {
    "category": "by_category",
    "status": "by_status",
    "priority": "by_priority",
    "channel": "by_channel",
    "department": "by_department",
    "kecamatan": "by_kecamatan",
    "kelurahan": "by_kelurahan",
    "language": "by_language",
}
# by_score: ratings; sla: overdue; duplicates: the me-too cases (``duplicates.me_too``)
GROUPS = (*COUNTED_GROUPS.values(), "by_score", "sla", "duplicates")


def department_of(doc: dict) -> str | None:
    """The department a case is counted under: the one a transfer chose, else the
    categorization's (by id; an event of before ids: its name as given)."""
    return doc.get("assigned_department_id") or doc.get("department_id") or doc.get("department")


def _value(doc: dict, field: str) -> str | None:
    if field == "status":
        return counted_status(doc)
    if field == "department":
        return department_of(doc)
    if field in ("kecamatan", "kelurahan"):
        # an area as the city names it; anything else typed over the API is not published
        return area_name(doc.get(field), field)
    return doc.get(field)


def area_name(value: object, kind: str) -> str | None:
    """The city's own name of a kecamatan or kelurahan (case and spacing aside), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    wanted = " ".join(value.split()).casefold()
    names = WILAYAH.kecamatan if kind == "kecamatan" else [k.name for k in WILAYAH.kelurahan]
    return next((n for n in names if n.casefold() == wanted), None)


def contribution(doc: dict) -> dict[str, int]:
    """What one projected feedback adds to the counters: nothing until it was received. The
    all-time summary's keys (``by_category.roads``), and the same feedback's cell of its day
    (``d:2026-12-02|cells.<cell>.n``, see ``cell``); and, for a "me too" case, its place in
    its cluster (``c:<cluster>|members``, see ``cluster_counts``), received yet or not."""
    clustered = cluster_counts(doc)
    if not doc.get("received"):
        return clustered
    counts = {"total": 1, **clustered}
    for field, group in COUNTED_GROUPS.items():
        value = _value(doc, field)
        if isinstance(value, str) and value and "." not in value and not value.startswith("$"):
            counts[f"{group}.{value}"] = 1
    if doc.get("score") in (1, 2, 3, 4, 5):
        counts[f"by_score.{doc['score']}"] = 1
    if doc.get("overdue"):
        counts["sla.overdue"] = 1
    if me_too_link(doc):
        counts["duplicates.me_too"] = 1
    day = city_day(doc.get("submitted_at"))
    if day is not None:
        metrics = cell_metrics(doc)
        key = cell(doc)
        for metric, n in metrics.items():
            counts[f"d:{day.isoformat()}|cells.{key}.{metric}"] = n
    return counts


# ---------------------------------------------------------------- cells
# Each day of submissions, in the city's time, has one small document per "cell", a
# combination of what reports filter and group by; a feedback is in exactly one cell of its day,
# and moves between cells as its state changes. Reports add up the cells of the period's days
# (weeks and months are added up from days): their cost follows the period, not the stored data.
CELL_FIELDS = (
    "category",
    "department",
    "kecamatan",
    "kelurahan",
    "channel",
    "language",
    "status",
    "priority",
)
CELL_SEPARATOR = "~"
# time histograms: bucket b holds [2^(b/4) - 1, 2^((b+1)/4) - 1) minutes, so a percentile read
# from them is within 9 % of the true value (or within a minute below 10 minutes)
HISTOGRAM_STEPS = 4
TIMES = {
    "ttc": "first_categorized_at",  # time to categorize
    "ttr": "first_response_at",  # time to first response (a department's first move)
    "tts": "resolved_at",  # time to resolve
}


def event_time(when: str | None) -> datetime | None:
    """A time as an event carries it (ISO 8601; a naive one is UTC), None when absent or
    unreadable."""
    if not when:
        return None
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def city_day(when: str | None) -> date | None:
    moment = event_time(when)
    return None if moment is None else moment.astimezone(CITY_TZ).date()


def _part(value: object) -> str:
    """A value as one part of a cell's key: no dots, no $, no separator ("-" when none)."""
    if value is None or value == "":
        return "-"
    text = str(value).strip()[:80]
    for bad in (".", "$", "=", "|", CELL_SEPARATOR, "\x00"):
        text = text.replace(bad, "_")
    return text or "-"


def cell(doc: dict) -> str:
    """``roads~dinas-pupr~Pekalongan Utara~Panjang Wetan~http~id~resolved~normal~0``: the
    case's category, department, kecamatan, kelurahan, channel, language, state, priority and
    whether it went overdue."""
    parts = [_part(_value(doc, field)) for field in CELL_FIELDS]
    return CELL_SEPARATOR.join([*parts, "1" if doc.get("overdue") else "0"])


def parse_cell(key: str) -> dict:
    parts = key.split(CELL_SEPARATOR)
    found = {f: (None if p == "-" else p) for f, p in zip(CELL_FIELDS, parts, strict=False)}
    found["overdue"] = parts[-1] == "1" if len(parts) > len(CELL_FIELDS) else False
    return found


def cell_metrics(doc: dict) -> dict[str, int]:
    """What a feedback adds to its cell: ``n``, its rating (``score_n``, ``score_sum``,
    ``score_5``), its times (histogram buckets ``ttc_7``...), and once resolved whether within
    its SLA (``sla_met`` / ``sla_missed``)."""
    metrics = {"n": 1}
    score = doc.get("score")
    if score in (1, 2, 3, 4, 5):
        metrics.update({"score_n": 1, "score_sum": int(score), f"score_{score}": 1})
    start = _moment(doc.get("submitted_at"))
    for name, field in TIMES.items():
        end = _moment(doc.get(field))
        if start is not None and end is not None and end >= start:
            metrics[f"{name}_{histogram_bucket((end - start).total_seconds())}"] = 1
    if doc.get("resolved_at") and counted_status(doc) in ("resolved", "closed"):
        metrics["sla_missed" if doc.get("overdue") else "sla_met"] = 1
    if me_too_link(doc):
        metrics["me_too"] = 1
    return metrics


def _moment(when: str | None) -> datetime | None:
    if not when:
        return None
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def histogram_bucket(seconds: float) -> int:
    return int(math.floor(HISTOGRAM_STEPS * math.log2(1 + max(0.0, seconds) / 60)))


def bucket_minutes(b: int) -> float:
    """The value a histogram bucket stands for: its middle (geometrically), in minutes."""
    return 2 ** ((b + 0.5) / HISTOGRAM_STEPS) - 1


def encode_counted(counts: dict[str, int]) -> list[str]:
    """A contribution as stored in the feedback's document: ``key`` (1) or ``key=n``."""
    return sorted(k if n == 1 else f"{k}={n}" for k, n in counts.items())


def decode_counted(stored: list[str]) -> dict[str, int]:
    counts = {}
    for item in stored:
        key, sep, n = item.rpartition("=")
        counts[key if sep else n] = int(n) if sep else 1
    return counts


def count_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The ``$inc`` that turns the contribution ``before`` into ``after`` (no zero entries)."""
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in sorted(delta.items()) if v}


def summary_from_counters(shards: list[dict]) -> dict:
    """The summary from the counters documents, added up: counts by category, state and
    priority; ``overdue``, the cases that passed their due time; ``satisfaction``, the
    ratings by score and their mean (from the counts: no average is stored)."""
    total, groups = 0, {group: {} for group in GROUPS}
    for shard in shards:
        total += shard.get("total", 0)
        for group, counts in groups.items():
            for key, n in (shard.get(group) or {}).items():
                counts[key] = counts.get(key, 0) + n
    by_score = {k: v for k, v in sorted(groups["by_score"].items()) if v}
    ratings = sum(by_score.values())
    mean = sum(int(k) * n for k, n in by_score.items()) / ratings if ratings else None
    return {
        "total": total,
        **{
            group: {k: v for k, v in sorted(groups[group].items()) if v}
            for group in COUNTED_GROUPS.values()
        },
        "overdue": groups["sla"].get("overdue", 0),
        "me_too": groups["duplicates"].get("me_too", 0),
        "satisfaction": {
            "ratings": ratings,
            "mean_score": None if mean is None else round(mean, 2),
            "by_score": by_score,
        },
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
