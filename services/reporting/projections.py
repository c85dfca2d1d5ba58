"""Reporting's projection of every feedback, built from events (pure: filters and updates).

Each update is idempotent and commutes with the others, so the projection is right whatever
order events arrive in, and however often: ``received`` only sets what it knows,
``categorized`` applies only a newer revision, and ``urgent`` only raises a flag.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import Event


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
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )


def on_categorized(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    data = event.data
    revision = data.get("revision", 1)
    return (
        # no match for a stale or repeated revision: the upsert then hits the unique _id
        # and is ignored by the store
        {"_id": data["feedback_id"], "revision": {"$lt": revision}},
        {
            "$set": {
                "category": data["category"],
                "department": data["department"],
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
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )


def on_status_changed(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """A department's move (``feedback.status_changed``): a later ``sequence`` only. The case's
    state is kept apart from the system's (``status``, which categorizations set), so that the
    two commute: once a case has moved, its counted state is the moved one."""
    data = event.data
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
        {"_id": data["feedback_id"], "assign_seq": {"$lt": data["sequence"]}},
        {
            "$set": {
                "assigned_department": data["department"],
                "assigned_department_id": data["department_id"],
                "assign_seq": data["sequence"],
                "updated_at": now or datetime.now(UTC),
            },
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )


def on_rated(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """The citizen's rating (``feedback.rated``): one per case."""
    return (
        {"_id": event.data["feedback_id"]},
        {
            "$set": {"score": event.data["score"], "updated_at": now or datetime.now(UTC)},
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )


def on_overdue(event: Event, now: datetime | None = None) -> tuple[dict, dict]:
    """A case passed its due time (``feedback.overdue``): a flag, only ever raised."""
    return (
        {"_id": event.data["feedback_id"]},
        {
            "$set": {"overdue": True, "updated_at": now or datetime.now(UTC)},
            "$setOnInsert": {"status": "received", "revision": 0, "status_seq": 0},
        },
    )


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
}
GROUPS = (*COUNTED_GROUPS.values(), "by_score", "sla")  # by_score: ratings; sla: overdue


def contribution(doc: dict) -> dict[str, int]:
    """What one projected feedback adds to the counters: nothing until it was received."""
    if not doc.get("received"):
        return {}
    counts = {"total": 1}
    for field, group in COUNTED_GROUPS.items():
        value = counted_status(doc) if field == "status" else doc.get(field)
        if isinstance(value, str) and value and "." not in value and not value.startswith("$"):
            counts[f"{group}.{value}"] = 1
    if doc.get("score") in (1, 2, 3, 4, 5):
        counts[f"by_score.{doc['score']}"] = 1
    if doc.get("overdue"):
        counts["sla.overdue"] = 1
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
        "satisfaction": {
            "ratings": ratings,
            "mean_score": None if mean is None else round(mean, 2),
            "by_score": by_score,
        },
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
