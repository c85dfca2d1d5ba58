"""Reporting's surge alerts, as use cases: follow each case's place, time and category, count
it once in its (kelurahan, category) hour, and publish ``alert.spike_detected`` once per surge
(the rules: services/reporting/surges.py; the collections: services/reporting/surge_store.py).

A case is counted by whichever of its two events completes what reporting knows of it, and
again, harmlessly, by every repeat: each step is idempotent (a set, a maximum, an insert that
only one writer wins), so any number of handlers and replicas may count the same case at once.
A write costs a few reads and writes by ``_id``, whatever is stored: the case, its bucket, its
pair's baseline, the window's other bucket, the pair's latest surge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.reporting import surge_store, surges
from shared import taxonomy
from shared.events import Event

if TYPE_CHECKING:  # for annotations only: the store does the I/O
    from pymongo.database import Database

log = logging.getLogger(__name__)

Publish = Callable[[dict], None]


def on_received(db: Database, rules: surges.Rules, publish: Publish, event: Event, now=None):
    """``feedback.received``: the case's kelurahan (if it is one of the city's) and time."""
    data = event.data
    where = surges.place(data.get("location"))
    if where is None:
        return False  # in no kelurahan of the city: it counts nowhere (nothing to write)
    at = surges.parse_time(data["submitted_at"])
    known = {"kelurahan": where[0], "kecamatan": where[1], "at": at}
    if data.get("imported"):
        known["imported"] = True
    case = surge_store.note_received(db, data["feedback_id"], known)
    return count(db, rules, publish, case, now)


def on_categorized(db: Database, rules: surges.Rules, publish: Publish, event: Event, now=None):
    """``feedback.categorized``: the case's first category, and its department."""
    data = event.data
    department_id = data.get("department_id") or taxonomy.department_id(data["department"])
    known = {"category": data["category"], "department_id": department_id}
    if data.get("imported"):
        known["imported"] = True
    case = surge_store.note_categorized(db, data["feedback_id"], known)
    return count(db, rules, publish, case, now)


def count(db: Database, rules: surges.Rules, publish: Publish, case: dict, now=None) -> bool:
    """Count a case known whole (place, time, category) in its bucket and baseline, then look
    for a surge of its pair; True when this call opened one (and staged its alert)."""
    if not (case.get("kelurahan") and case.get("category") and case.get("at")):
        return False  # not known whole (yet: a case in no kelurahan never is)
    now = now or datetime.now(UTC)
    at = case["at"] if case["at"].tzinfo else case["at"].replace(tzinfo=UTC)
    kelurahan, category = case["kelurahan"], case["category"]
    imported = bool(case.get("imported"))
    hour = surges.hour_of(at)
    pair = surges.pair_id(kelurahan, category)
    fields = {"kelurahan": kelurahan, "category": category}
    item = surges.entry(case["_id"], at, imported)
    bucket = surge_store.add_to_bucket(
        db, surges.bucket_id(kelurahan, category, hour), {**fields, "hour": hour}, item
    )
    if not surges.in_baseline(hour, now, rules):
        return False  # history older than any baseline: nothing to raise
    base = surge_store.raise_baseline(
        db, pair, {**fields, "kecamatan": case.get("kecamatan")}, hour, len(bucket["cases"])
    )
    if not surges.evaluates(at, imported, now, rules):
        return False
    hours = base.get("hours") or {}
    surge_store.drop_hours(db, pair, surges.stale_hours(hours, now, rules))
    others = [
        surges.bucket_id(kelurahan, category, h)
        for h in surges.window_hours(now, rules)
        if h != hour
    ]
    window = [bucket, *surge_store.buckets(db, others)]
    assessment = surges.assess((b.get("cases") or [] for b in window), hours, now, rules)
    if not assessment.above:
        return False
    seq = int(base.get("surge_seq") or 0)
    current = surge_store.surge(db, surges.surge_id(kelurahan, category, seq)) if seq else None
    if surges.decide(assessment, current, now, rules) == "extend":
        surge_store.extend_surge(db, current["_id"], assessment.above_until, assessment.count)
        return False
    number = surges.next_number(seq, current)
    # noted before the record is written: a crash between the two leaves a number without a
    # record, which the next surge of the pair takes (surges.next_number)
    surge_store.note_surge_number(db, pair, number)
    where = surges.Place(kelurahan, case.get("kecamatan"), category, case.get("department_id"))
    key = surges.surge_id(kelurahan, category, number)
    salt = base.get("salt") or pair
    record, staged = surges.new_surge(key, salt, where, assessment, now, rules)
    if not surge_store.open_surge(db, record, staged):
        return False  # another handler opened it a moment ago, and alerts
    log.info(
        "surge %s: %d %s cases in %s within %d min (threshold %d, usual %.3f/h)",
        record["alert_id"],
        assessment.count,
        category,
        kelurahan,
        rules.window_min,
        assessment.threshold,
        assessment.baseline_per_hour,
    )
    surge_store.relay(db, key, publish, staged)
    return True


def sweep(db: Database, publish: Publish) -> int:
    """Publish alerts a crash or a broker outage left staged."""
    return surge_store.sweep(db, publish)
