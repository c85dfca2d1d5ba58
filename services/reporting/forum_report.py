"""The forum report's use case (``GET /api/v1/reports/forum``): the period's and the period
before's cells (the days'), and the theme's sampled cases, read by ``_id``; the report
itself is ``forum.build`` (pure).

The texts are the projection's, which intake redacted before they left it (e-mail addresses,
phone numbers, NIK); they are redacted again here with intake's own ``privacy.redact`` (pure,
it imports nothing but ``re``), so a text projected before a rule was added is scrubbed too.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.intake import privacy  # pure: the one definition of what personal data looks like
from services.reporting import forum, handlers, projections, reports, store
from shared.taxonomy import TAXONOMY

if TYPE_CHECKING:  # for annotations only: the store does the I/O
    from pymongo.database import Database

QUERY_ONLY = ("lang",)  # the page's own parameters, not the report's


def query_of(args: dict) -> dict:
    """The report's filters (``reports.ReportQuery``; a bad one raises ValidationError)."""
    return reports.ReportQuery().load({k: v for k, v in args.items() if k not in QUERY_ONLY})


def _sampled(db: Database, query: dict, start: date, end: date, categories: list[str]):
    """The sampled cases of the period's months and these categories that were submitted in
    the period and pass the filters: at most ``forum.MAX_TEXTS_PER_THEME`` read per theme."""
    keys = {
        forum.sample_id(month, c): c for month in reports.months(start, end) for c in categories
    }
    per_theme: dict[str, list[str]] = {}
    for key, ids in store.sampled_ids(db, list(keys)).items():
        per_theme.setdefault(keys[key], []).extend(ids)
    found, read = [], set()
    for ids in per_theme.values():
        for fid in forum.bounded(ids):
            if fid in read:  # recategorized: in its old theme's sample too, counted once
                continue
            read.add(fid)
            doc = store.sampled_case(db, fid)
            if not doc or not doc.get("received") or not doc.get("text"):
                continue
            day = projections.city_day(doc.get("submitted_at"))
            where = forum.case_where(doc)
            if day is None or not start <= day <= end or not forum.matches(where, query):
                continue
            found.append(
                {
                    "category": where.get("category"),
                    "kecamatan": where.get("kecamatan"),
                    "text": privacy.redact(doc["text"]),
                    "day": day.isoformat(),
                }
            )
    return found


def report(db: Database, args: dict, now: date | None = None) -> dict:
    query = query_of(args)
    start, end = reports.period(query, now or handlers.today())
    before_start, before_end = forum.previous_period(start, end)
    cells = handlers._cells(db, query, start, end)
    before = handlers._cells(db, query, before_start, before_end)
    categories = sorted({w["category"] for w, _ in cells if w.get("category")})
    sampled = _sampled(db, query, start, end, categories)
    labels = {c.id: dict(c.labels) for c in TAXONOMY.categories}
    return {
        "period": reports.echo(query, start, end),
        "compared_with": {"from": before_start.isoformat(), "to": before_end.isoformat()},
        **forum.build(cells, before, sampled, labels),
        "generated_at": reports.stamp(),
    }
