"""Surge alerts (issue 13): a burst of one category's cases in one kelurahan, against that
pair's own usual rate (pure: no database, no broker).

A case counts once, in one place: its kelurahan (one of the city's 27, ``shared/data/
wilayah.yaml``, matched without regard to case or spacing; a case with no kelurahan, or a name
that is none of them, counts nowhere), its category (the first categorization reporting sees:
a later recategorization does not move it, so an alert already sent is never taken back) and
its ``submitted_at`` (intake's clock, so a redelivered or replayed event lands in the same
place). Counts are kept in hourly buckets (UTC hours; the city's WIB is UTC+7, so its hours
are the same) per (kelurahan, category), each holding the ids of its cases (``entry``: the
case's time and id, marked when imported), so that adding one is idempotent.

The baseline of a pair is the mean hourly count over the ``baseline_days`` (28) before the
window, hours with nothing included, imported history included (it is the city's usual rate);
each pair keeps one small document of its hourly counts (``hours``), raised with ``$max`` from
the bucket's size, so that it too is idempotent and order-free.

A surge: at least ``min_count`` (SUARA_SURGE_MIN, 5) live cases in the last ``window_min``
minutes (SUARA_SURGE_WINDOW_MIN, 60) and at least ``factor`` (SUARA_SURGE_FACTOR, 3) times the
baseline's count for such a window (``threshold``). Imported cases never count in a window and
never start a surge; a case older than the window (a replay, a backlog) is counted but
evaluates nothing. The first detection opens a surge (``decide``: ``open``) and alerts; later
detections extend it (``above_until``: when its count would drop below the threshold with no
new case); it ends one window's length after that, and only then may a new one open.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared import outbox_entries
from shared.wilayah import WILAYAH

EVENT = "alert.spike_detected"
HOUR = timedelta(hours=1)
HOUR_FORMAT = "%Y%m%d%H"
IMPORTED = "i"  # the mark of an imported case's entry


@dataclass(frozen=True)
class Rules:
    min_count: int = 5
    factor: float = 3.0
    window_min: int = 60
    baseline_days: int = 28

    @classmethod
    def from_config(cls, surge: Mapping) -> Rules:
        """From the service config's ``SURGE`` (shared/config.py)."""
        return cls(int(surge["min"]), float(surge["factor"]), int(surge["window_min"]))

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_min)


# ---------------------------------------------------------------- where and when a case counts

_KELURAHAN = {" ".join(k.name.lower().split()): k for k in WILAYAH.kelurahan}


def place(location: Mapping | None) -> tuple[str, str] | None:
    """(kelurahan, kecamatan), by their official names, of a location; None when it names no
    kelurahan of the city."""
    name = (location or {}).get("kelurahan")
    if not isinstance(name, str):
        return None
    found = _KELURAHAN.get(" ".join(name.lower().split()))
    return (found.name, found.kecamatan) if found else None


def parse_time(value: str) -> datetime:
    """An event's ISO 8601 time (``...Z`` or with an offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hour_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(HOUR_FORMAT)


def _hour_start(key: str) -> datetime:
    return datetime.strptime(key, HOUR_FORMAT).replace(tzinfo=UTC)


def pair_id(kelurahan: str, category: str) -> str:
    return f"{kelurahan}|{category}"


def bucket_id(kelurahan: str, category: str, hour: str) -> str:
    return f"{pair_id(kelurahan, category)}|{hour}"


def surge_id(kelurahan: str, category: str, number: int) -> str:
    """The record of a pair's ``number``-th surge: its ``_id`` is what only one writer gets."""
    return f"{pair_id(kelurahan, category)}|{number}"


def entry(feedback_id: str, at: datetime, imported: bool) -> str:
    """A case in its bucket: the same text however often its events come."""
    text = f"{int(at.timestamp())}:{feedback_id}"
    return f"{text}:{IMPORTED}" if imported else text


def _live_time(item: str) -> int | None:
    """The time of a live case's entry (epoch seconds); None for an imported one."""
    stamp, _, rest = item.partition(":")
    if rest.endswith(":" + IMPORTED) or not stamp.isdigit():
        return None
    return int(stamp)


# ---------------------------------------------------------------- the window and the baseline


def window_hours(now: datetime, rules: Rules) -> list[str]:
    """The hourly buckets the window ``(now - window, now]`` reaches, oldest first."""
    hour = _hour_start(hour_of(now - rules.window))
    hours = []
    while hour <= now:
        hours.append(hour.strftime(HOUR_FORMAT))
        hour += HOUR
    return hours


def in_baseline(hour: str, now: datetime, rules: Rules) -> bool:
    """Whether a bucket's hour is recent enough to matter to a baseline (or a window)."""
    return _hour_start(hour) >= _baseline_start(now, rules)


def _baseline_start(now: datetime, rules: Rules) -> datetime:
    return _baseline_end(now, rules) - timedelta(days=rules.baseline_days)


def _baseline_end(now: datetime, rules: Rules) -> datetime:
    """The baseline stops where the window's first hour starts: a surge is not its own usual."""
    return _hour_start(hour_of(now - rules.window))


def stale_hours(hours: Mapping[str, int], now: datetime, rules: Rules) -> list[str]:
    """Hourly counts that have left the baseline: to be dropped from the pair's document."""
    return sorted(h for h in hours if not in_baseline(h, now, rules))


def baseline_per_hour(hours: Mapping[str, int], now: datetime, rules: Rules) -> float:
    """The mean count per hour over the ``baseline_days`` before the window (empty hours
    included)."""
    start, end = _baseline_start(now, rules), _baseline_end(now, rules)
    total = sum(n for h, n in hours.items() if start <= _hour_start(h) < end)
    return total / (rules.baseline_days * 24)


def threshold(baseline: float, rules: Rules) -> int:
    """How many cases in a window make a surge: ``min_count``, or ``factor`` times the
    baseline's count for a window if that is more."""
    usual = baseline * rules.window_min / 60
    return max(rules.min_count, math.ceil(rules.factor * usual - 1e-9))


def evaluates(at: datetime, imported: bool, now: datetime, rules: Rules) -> bool:
    """Whether counting this case should look for a surge: a live case, inside the window."""
    return not imported and at > now - rules.window


@dataclass(frozen=True)
class Assessment:
    count: int  # live cases in the window
    threshold: int
    baseline_per_hour: float
    started_at: datetime | None  # the window's first case
    above_until: datetime | None  # when the count drops below the threshold, if no case comes

    @property
    def above(self) -> bool:
        return self.count >= self.threshold


def assess(
    buckets: Iterable[Iterable[str]], hours: Mapping[str, int], now: datetime, rules: Rules
) -> Assessment:
    """The window ending ``now`` of a pair, from its buckets' entries and its hourly counts."""
    since = (now - rules.window).timestamp()
    # one entry per case (a case is in one bucket, once): not a set of times, which would
    # merge two cases of the same second
    times = sorted(
        (
            t
            for cases in buckets
            for t in map(_live_time, set(cases))
            if t is not None and t > since
        ),
        reverse=True,
    )
    baseline = baseline_per_hour(hours, now, rules)
    needed = threshold(baseline, rules)
    above_until = None
    if len(times) >= needed:
        # the needed-th newest case leaves the window last among those that keep it above
        above_until = datetime.fromtimestamp(times[needed - 1], UTC) + rules.window
    return Assessment(
        count=len(times),
        threshold=needed,
        baseline_per_hour=baseline,
        started_at=datetime.fromtimestamp(times[-1], UTC) if times else None,
        above_until=above_until,
    )


# ---------------------------------------------------------------- the surge's lifecycle


def is_open(surge: Mapping | None, now: datetime, rules: Rules) -> bool:
    """A surge lasts until one window's length after its count last fell below the threshold."""
    if not surge or surge.get("above_until") is None:
        return False
    until = surge["above_until"]
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    return now < until + rules.window


def decide(assessment: Assessment, current: Mapping | None, now: datetime, rules: Rules) -> str:
    """``open`` (a new surge: alert), ``extend`` (the open one goes on) or ``none``."""
    if not assessment.above:
        return "none"
    return "extend" if is_open(current, now, rules) else "open"


def next_number(seq: int, current: Mapping | None) -> int:
    """The number a new surge of a pair takes: the noted one when its record was never written
    (a crash after noting it), else the next."""
    return seq if seq and current is None else seq + 1


@dataclass(frozen=True)
class Place:
    kelurahan: str
    kecamatan: str | None
    category: str
    department_id: str | None


def alert_data(
    alert_id: str, where: Place, assessment: Assessment, now: datetime, rules: Rules
) -> dict:
    """The data of ``alert.spike_detected``: where, what and how many; no case, no text."""
    return {
        "alert_id": alert_id,
        "kelurahan": where.kelurahan,
        "kecamatan": where.kecamatan,
        "category": where.category,
        "department_id": where.department_id,
        "count": assessment.count,
        "window_minutes": rules.window_min,
        "baseline_per_hour": round(assessment.baseline_per_hour, 4),
        "threshold": assessment.threshold,
        "started_at": iso(assessment.started_at or now),
        "detected_at": iso(now),
    }


def alert_id(surge_key: str, salt: str) -> str:
    """A surge's alert id: the same for every writer that races to open it (so they stage one
    event, and note it pending once), another for the same key in another database (``salt``:
    made when the pair's baseline was first written)."""
    return "spike-" + hashlib.sha256(f"{salt}|{surge_key}".encode()).hexdigest()[:16]


def new_surge(
    surge_key: str,
    salt: str,
    where: Place,
    assessment: Assessment,
    now: datetime,
    rules: Rules,
) -> tuple[dict, list[dict]]:
    """The record of a new surge with its alert staged in it (outbox), and the staged entries."""
    alert = alert_id(surge_key, salt)
    data = alert_data(alert, where, assessment, now, rules)
    entry = outbox_entries.entry("reporting", EVENT, data, subject=alert, correlation_id=alert)
    entry["id"] = entry["event"]["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:suara:{alert}"))
    staged = [entry]
    record = {
        "_id": surge_key,
        "alert_id": alert,
        "kelurahan": where.kelurahan,
        "kecamatan": where.kecamatan,
        "category": where.category,
        "department_id": where.department_id,
        "started_at": assessment.started_at or now,
        "detected_at": now,
        "count": assessment.count,
        "peak": assessment.count,
        "threshold": assessment.threshold,
        "baseline_per_hour": assessment.baseline_per_hour,
        "above_until": assessment.above_until,
        **outbox_entries.staged(staged, now),
    }
    return record, staged
