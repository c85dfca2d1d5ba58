"""The city's reports (pure), added up from the cells of the period's days.

A report's query names a period (``from``, ``to``: days in the city's time, by submission) and
any of kecamatan, kelurahan, category, department, channel and language. The store reads the
period's cells that the filters keep (``wanted``), whatever else is stored. Each cell
(``projections.cell``) holds the cases of one combination of those fields with their state,
priority and whether they went overdue, and what they add up to: their number, ratings (sums
and counts: a mean is never stored), time histograms and SLA outcomes.

Times (to categorize, to first response, to resolve) come from histograms whose buckets grow by
2^(1/4): a median or p90 read from them is within 9 % of the true value (or within a minute
under 10 minutes). They are measured from the submission.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.reporting import projections
from shared.taxonomy import TAXONOMY
from shared.wilayah import WILAYAH

FILTERS = ("kecamatan", "kelurahan", "category", "department", "channel", "language")
CLOSED = frozenset({"resolved", "closed", "rejected", "duplicate"})
MAX_DAYS = 366 * 3  # the longest period one report reads
DEFAULT_DAYS = 30
SUMMARY_DAYS = 365  # a summary filtered by place or theme, with no period: the last year


class PeriodAndPlace(Schema):
    """The filters every report takes: a period (``check_period``), a place, a theme."""

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    kecamatan = fields.String(validate=validate.Length(min=1, max=80))
    kelurahan = fields.String(validate=validate.Length(min=1, max=80))
    category = fields.String(validate=validate.OneOf(TAXONOMY.category_ids))
    department = fields.String(validate=validate.OneOf(TAXONOMY.department_ids))

    @validates_schema
    def _a_period(self, data, **kwargs):
        check_period(data)


class ReportQuery(PeriodAndPlace):
    channel = fields.String(validate=validate.Regexp(r"^[a-z0-9_-]{1,40}$"))
    language = fields.String(validate=validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$"))
    interval = fields.String(load_default="day", validate=validate.OneOf(("day", "week", "month")))


def check_period(data: dict) -> None:
    """A query's ``from`` not after its ``to``, at most ``MAX_DAYS`` apart (ValidationError)."""
    start, end = data.get("from_"), data.get("to")
    if start and end and start > end:
        raise ValidationError("from is after to", "from")
    if start and end and (end - start).days > MAX_DAYS:
        raise ValidationError(f"a period of at most {MAX_DAYS} days", "from")


def period(query: dict, today: date, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The query's period: ``to`` (today) and ``from`` (``default_days`` before it)."""
    end = query.get("to") or today
    start = query.get("from_") or end - timedelta(days=default_days - 1)
    return start, end


def filtered(query: dict) -> bool:
    return any(query.get(f) for f in FILTERS) or bool(query.get("from_") or query.get("to"))


def months(start: date, end: date) -> list[str]:
    """The months ``YYYY-MM`` that [start, end] touches."""
    found, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# ---------------------------------------------------------------- cells


def merged(cell_maps: Iterable[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Cells ({cell: metrics}, of several days), added up."""
    cells: dict[str, dict[str, int]] = {}
    for one in cell_maps:
        for key, metrics in one.items():
            into = cells.setdefault(key, {})
            for metric, n in metrics.items():
                into[metric] = into.get(metric, 0) + n
    return cells


def wanted(query: dict):
    """Whether a cell's key is one the query's filters keep (to read only those)."""
    asked = {f: query[f] for f in FILTERS if query.get(f)}
    if not asked:
        return None

    def keep(key: str) -> bool:
        where = projections.parse_cell(key)
        return all(where.get(f) == v for f, v in asked.items())

    return keep


def nonzero(cells: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The cells without the zeros a case leaves behind when it moves to another cell."""
    kept = {k: {m: n for m, n in v.items() if n} for k, v in cells.items()}
    return {k: v for k, v in kept.items() if v}


def selected(cells: dict[str, dict[str, int]], query: dict) -> list[tuple[dict, dict]]:
    """(the cell's fields, its metrics) for the cells the query's filters keep, with cases."""
    wanted = {f: query[f] for f in FILTERS if query.get(f)}
    found = []
    for key, metrics in cells.items():
        if metrics.get("n", 0) <= 0:
            continue
        where = projections.parse_cell(key)
        if all(where.get(f) == v for f, v in wanted.items()):
            found.append((where, metrics))
    return found


# ---------------------------------------------------------------- reports


def summary(cells: list[tuple[dict, dict]]) -> dict:
    """The summary's shape (``projections.summary_from_counters``) for the selected cells."""
    groups = {group: {} for group in projections.COUNTED_GROUPS.values()}
    total = overdue = 0
    scores: dict[str, int] = {}
    for where, metrics in cells:
        n = metrics["n"]
        total += n
        for field, group in projections.COUNTED_GROUPS.items():
            value = where.get(field)
            if value:
                groups[group][value] = groups[group].get(value, 0) + n
        if where.get("overdue"):
            overdue += n
        for s in "12345":
            if metrics.get(f"score_{s}"):
                scores[s] = scores.get(s, 0) + metrics[f"score_{s}"]
    return {
        "total": total,
        **{group: dict(sorted(counts.items())) for group, counts in groups.items()},
        "overdue": overdue,
        # the cases that were "me too" of an open case (their link not undone)
        "me_too": sum(metrics.get("me_too", 0) for _, metrics in cells),
        "satisfaction": _satisfaction(cells),
    }


def _satisfaction(cells: list[tuple[dict, dict]]) -> dict:
    ratings = sum(m.get("score_n", 0) for _, m in cells)
    total = sum(m.get("score_sum", 0) for _, m in cells)
    by_score = {}
    for s in "12345":
        n = sum(m.get(f"score_{s}", 0) for _, m in cells)
        if n:
            by_score[s] = n
    return {
        "ratings": ratings,
        "mean_score": round(total / ratings, 2) if ratings else None,
        "by_score": by_score,
    }


def satisfaction(cells: list[tuple[dict, dict]]) -> dict:
    """Mean score and distribution, overall and per department (from sums and counts)."""
    by_department: dict[str, list] = {}
    for where, metrics in cells:
        by_department.setdefault(where.get("department") or "-", []).append((where, metrics))
    return {
        **_satisfaction(cells),
        "by_department": {
            d: _satisfaction(c)
            for d, c in sorted(by_department.items())
            if any(m.get("score_n") for _, m in c)
        },
    }


def percentile(histogram: dict[int, int], share: float) -> float | None:
    """The ``share`` percentile (0.5: the median) of a histogram, in minutes."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = share * total, 0
    for b in sorted(histogram):
        seen += histogram[b]
        if seen >= rank:
            return round(projections.bucket_minutes(b), 1)
    return round(projections.bucket_minutes(max(histogram)), 1)


def _times(cells: list[tuple[dict, dict]], name: str) -> dict:
    histogram: dict[int, int] = {}
    for _, metrics in cells:
        for metric, n in metrics.items():
            if metric.startswith(f"{name}_") and metric[len(name) + 1 :].isdigit():
                b = int(metric[len(name) + 1 :])
                histogram[b] = histogram.get(b, 0) + n
    return {
        "count": sum(histogram.values()),
        "median_minutes": percentile(histogram, 0.5),
        "p90_minutes": percentile(histogram, 0.9),
    }


def _sla_of(cells: list[tuple[dict, dict]]) -> dict:
    met = sum(m.get("sla_met", 0) for _, m in cells)
    missed = sum(m.get("sla_missed", 0) for _, m in cells)
    return {
        "cases": sum(m["n"] for _, m in cells),
        "to_categorize": _times(cells, "ttc"),
        "to_first_response": _times(cells, "ttr"),
        "to_resolve": _times(cells, "tts"),
        "resolved": met + missed,
        "resolved_within_sla": round(met / (met + missed), 3) if met + missed else None,
        "overdue_now": sum(
            m["n"] for w, m in cells if w.get("overdue") and w.get("status") not in CLOSED
        ),
    }


def sla(cells: list[tuple[dict, dict]]) -> dict:
    """Per department and category: times to categorize, to first response and to resolve
    (median, p90), the share resolved within the SLA, and what is overdue now."""
    groups: dict[tuple[str, str], list] = {}
    for where, metrics in cells:
        key = (where.get("department") or "-", where.get("category") or "-")
        groups.setdefault(key, []).append((where, metrics))
    by_department: dict[str, dict] = {}
    for (department, category), group in sorted(groups.items()):
        entry = by_department.setdefault(department, {"categories": {}})
        entry["categories"][category] = _sla_of(group)
    for department in by_department:
        group = [(w, m) for w, m in cells if (w.get("department") or "-") == department]
        by_department[department].update(_sla_of(group))
    return {**_sla_of(cells), "by_department": by_department}


def timeseries(per_day: dict[date, list[tuple[dict, dict]]], interval: str) -> list[dict]:
    """Cases received per day, ISO week (from its Monday) or month, by category."""
    points: dict[str, dict] = {}
    for day in sorted(per_day):
        if interval == "week":
            label = (day - timedelta(days=day.weekday())).isoformat()
        elif interval == "month":
            label = f"{day:%Y-%m}"
        else:
            label = day.isoformat()
        point = points.setdefault(label, {"period": label, "total": 0, "by_category": {}})
        for where, metrics in per_day[day]:
            point["total"] += metrics["n"]
            category = where.get("category") or "-"
            point["by_category"][category] = point["by_category"].get(category, 0) + metrics["n"]
    for point in points.values():
        point["by_category"] = dict(sorted(point["by_category"].items()))
    return list(points.values())


def hotspots(cells: list[tuple[dict, dict]]) -> list[dict]:
    """Cases per kelurahan and category, with the kelurahan's centroid (shared/data/
    wilayah.yaml; a kelurahan not in it has no coordinates), the most first."""
    spots: dict[str, dict] = {}
    for where, metrics in cells:
        name = where.get("kelurahan")
        if not name:
            continue
        known = WILAYAH.find(name)
        spot = spots.setdefault(
            name,
            {
                "kelurahan": name,
                "kecamatan": known.kecamatan if known else where.get("kecamatan"),
                "lat": known.lat if known else None,
                "lon": known.lon if known else None,
                "total": 0,
                "open": 0,
                "by_category": {},
            },
        )
        n = metrics["n"]
        spot["total"] += n
        if where.get("status") not in CLOSED:
            spot["open"] += n
        category = where.get("category") or "-"
        spot["by_category"][category] = spot["by_category"].get(category, 0) + n
    for spot in spots.values():
        spot["by_category"] = dict(sorted(spot["by_category"].items()))
    return sorted(spots.values(), key=lambda s: (-s["total"], s["kelurahan"]))


def trending(
    this_week: list[tuple[dict, dict]], before: list[tuple[dict, dict]], weeks: int = 4
) -> list[dict]:
    """Per category and kecamatan: this week's cases against the mean of the ``weeks``
    before (``ratio`` None when there were none before), the largest rise first."""

    def count(cells):
        found: dict[tuple[str, str], int] = {}
        for where, metrics in cells:
            key = (where.get("category") or "-", where.get("kecamatan") or "-")
            found[key] = found.get(key, 0) + metrics["n"]
        return found

    now, then = count(this_week), count(before)
    rows = []
    for key in sorted(set(now) | set(then)):
        mean = then.get(key, 0) / weeks
        current = now.get(key, 0)
        rows.append(
            {
                "category": key[0],
                "kecamatan": key[1],
                "this_week": current,
                "weekly_mean_before": round(mean, 2),
                "change": round(current - mean, 2),
                "ratio": round(current / mean, 2) if mean else None,
            }
        )
    return sorted(rows, key=lambda r: (-r["change"], r["category"], r["kecamatan"]))


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def echo(query: dict, start: date, end: date) -> dict:
    """What the report covers, as the answer says it."""
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        **{f: query[f] for f in FILTERS if query.get(f)},
    }
