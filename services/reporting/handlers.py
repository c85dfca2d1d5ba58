"""Reporting's use cases: the reports, read from the counters and the period's cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pymongo.database import Database

from services.reporting import clusters, projections, reports, store
from shared import metrics


def today() -> date:
    return datetime.now(UTC).astimezone(projections.CITY_TZ).date()


def _per_day(db: Database, query: dict, start: date, end: date) -> dict[date, dict]:
    return store.period_cells(db, start, end, query.get("category"), reports.wanted(query))


def _cells(db: Database, query: dict, start: date, end: date) -> list[tuple[dict, dict]]:
    return reports.selected(reports.merged(_per_day(db, query, start, end).values()), query)


def summary(db: Database, args: dict, now: date | None = None) -> dict:
    """``GET /api/v1/reports/summary``: all-time from the counters; with a period or a filter,
    from the period's cells (a filter without a period: the last ``SUMMARY_DAYS``)."""
    query = reports.ReportQuery().load(args)
    if not reports.filtered(query):
        report = store.summary(db)
    else:
        start, end = reports.period(query, now or today(), reports.SUMMARY_DAYS)
        report = reports.summary(_cells(db, query, start, end))
        report["period"] = reports.echo(query, start, end)
        report["generated_at"] = reports.stamp()
    report["notifications"] = store.notification_counts(db)
    return report


def sla(db: Database, args: dict, now: date | None = None) -> dict:
    query = reports.ReportQuery().load(args)
    start, end = reports.period(query, now or today())
    report = reports.sla(_cells(db, query, start, end))
    return {"period": reports.echo(query, start, end), **report, "generated_at": reports.stamp()}


def satisfaction(db: Database, args: dict, now: date | None = None) -> dict:
    query = reports.ReportQuery().load(args)
    start, end = reports.period(query, now or today())
    report = reports.satisfaction(_cells(db, query, start, end))
    return {"period": reports.echo(query, start, end), **report, "generated_at": reports.stamp()}


def hotspots(db: Database, args: dict, now: date | None = None) -> dict:
    query = reports.ReportQuery().load(args)
    start, end = reports.period(query, now or today())
    spots = reports.hotspots(_cells(db, query, start, end))
    return {
        "period": reports.echo(query, start, end),
        "hotspots": spots,
        "generated_at": reports.stamp(),
    }


def trending(db: Database, args: dict, now: date | None = None) -> dict:
    """This week (the 7 days to ``to``) against the mean of the 4 weeks before, per category
    and kecamatan (a period in the query is ignored: the weeks are fixed)."""
    query = reports.ReportQuery().load(args)
    end = query.get("to") or now or today()
    week_start = end - timedelta(days=6)
    before_start = week_start - timedelta(days=28)
    this_week = _cells(db, query, week_start, end)
    before = _cells(db, query, before_start, week_start - timedelta(days=1))
    return {
        "period": reports.echo(query, week_start, end),
        "compared_with": {
            "from": before_start.isoformat(),
            "to": (week_start - timedelta(days=1)).isoformat(),
        },
        "trending": reports.trending(this_week, before),
        "generated_at": reports.stamp(),
    }


def timeseries(db: Database, args: dict, now: date | None = None) -> dict:
    """``GET /api/v1/reports/timeseries?interval=day|week|month``: the period's cells, read
    once, added up per day, ISO week or month."""
    query = reports.ReportQuery().load(args)
    start, end = reports.period(query, now or today())
    found = _per_day(db, query, start, end)
    per_day = {day: reports.selected(found.get(day, {}), query) for day in reports.days(start, end)}
    return {
        "period": reports.echo(query, start, end),
        "interval": query["interval"],
        "points": reports.timeseries(per_day, query["interval"]),
        "generated_at": reports.stamp(),
    }


def read_metrics(db: Database) -> None:
    """Reporting's scrape-time metric: the cases overdue now (the all-time counters)."""
    metrics.OVERDUE.set(store.summary(db)["overdue"])


# ---------------------------------------------------------------- "me too" clusters


def on_duplicate_suspected(db: Database, event) -> None:
    """``feedback.duplicate_suspected``: the cluster's place and times, then the link in the
    me-too case's projection, whose reconcile counts it in the cluster (once)."""
    change = clusters.on_duplicate_suspected(event)  # InvalidMessage for an unusable id
    data = event.data
    store.note_cluster(db, clusters.note(data, store.submitted_at(db, data["cluster_id"])))
    store.apply(db, change)


def on_duplicate_reviewed(db: Database, event) -> None:
    """``feedback.duplicate_reviewed``: an undone link leaves its cluster (counted down once),
    a confirmed one counts as confirmed; in any order with the link itself."""
    store.apply(db, clusters.on_duplicate_reviewed(event))


def clusters_report(db: Database, args: dict, now: date | None = None) -> dict:
    """``GET /api/v1/reports/clusters``: the largest "me too" clusters seen in the period, from
    the period's index documents and those clusters' own, by _id."""
    query = clusters.ClusterQuery().load(args)
    start, end = reports.period(query, now or today())
    count, rows = clusters.top(
        store.cluster_docs(db, clusters.index_ids(query, start, end)), query, start, end
    )
    return {
        "period": reports.echo(query, start, end),
        "min_size": query["min_size"],
        "count": count,
        "clusters": rows,
        "generated_at": reports.stamp(),
    }
