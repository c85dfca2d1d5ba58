"""The city's working time (pure): which hours count toward an SLA.

A case's due time is so many *working* hours after it was submitted: the hours of the working
days (Monday to Friday by default) between the opening and closing time (08:00 to 16:00 by
default), in the city's time zone (Asia/Jakarta), skipping public holidays (Indonesia's, from
the ``holidays`` package, plus any extra days the city declares, e.g. cuti bersama).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3660  # a due time further than ten years of calendar days is a configuration error


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class WorkCalendar:
    zone: ZoneInfo
    days: frozenset[int]  # working weekdays, 0 = Monday
    opens: time
    closes: time
    holidays: Container[date] = field(default_factory=frozenset)

    def __post_init__(self):
        if not self.days:
            raise CalendarError("a working calendar needs at least one working day")
        if self.opens >= self.closes:
            raise CalendarError("the working day must open before it closes")

    def working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _hours_of(self, day: date) -> tuple[datetime, datetime]:
        """The working day's opening and closing moments (wall-clock); 24:00 is midnight."""
        closes = (
            datetime.combine(day + timedelta(days=1), time.min)
            if self.closes == time.max
            else datetime.combine(day, self.closes)
        )
        return datetime.combine(day, self.opens), closes

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start`` (an aware datetime), in UTC."""
        if hours < 0:
            raise CalendarError("hours must not be negative")
        left = timedelta(hours=hours)
        local = start.astimezone(self.zone)
        day = local.date()
        moment = local.replace(tzinfo=None)  # wall-clock time within the city's day
        for _ in range(_MAX_DAYS):
            if self.working_day(day):
                opens, closes = self._hours_of(day)
                begin = max(moment, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return _utc(begin + left, self.zone)
                    left -= closes - begin
            day += timedelta(days=1)
            moment = datetime.combine(day, time.min)
        raise CalendarError(f"{hours} working hours reach beyond {_MAX_DAYS} days")

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.zone).replace(tzinfo=None), end.astimezone(self.zone)
        b = b.replace(tzinfo=None)
        total, day = timedelta(), a.date()
        while day <= b.date():
            if self.working_day(day):
                opens, closes = self._hours_of(day)
                lo, hi = max(a, opens), min(b, closes)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def parse_days(raw: str) -> frozenset[int]:
    """``"mon-fri"`` or ``"mon,tue,sat"`` (or a mix) -> weekday numbers."""
    days: set[int] = set()
    for part in filter(None, (p.strip().lower() for p in raw.split(","))):
        first, _, last = part.partition("-")
        try:
            lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        except ValueError:
            raise CalendarError(f"{part!r}: days are {', '.join(WEEKDAYS)}") from None
        if hi < lo:
            raise CalendarError(f"{part!r}: a range runs forward, e.g. mon-fri")
        days.update(range(lo, hi + 1))
    if not days:
        raise CalendarError("no working day given")
    return frozenset(days)


def parse_hours(raw: str) -> tuple[time, time]:
    """``"08:00-16:00"`` -> (opens, closes); ``24:00`` (midnight) is kept as ``time.max``."""
    opens, sep, closes = raw.partition("-")
    if not sep:
        raise CalendarError(f"{raw!r}: expected HH:MM-HH:MM")
    try:
        start = time.fromisoformat(opens.strip())
        end = time.max if closes.strip() == "24:00" else time.fromisoformat(closes.strip())
    except ValueError:
        raise CalendarError(f"{raw!r}: expected HH:MM-HH:MM") from None
    if start >= end:
        raise CalendarError(f"{raw!r}: the day must open before it closes")
    return start, end


def parse_dates(raw: str) -> frozenset[date]:
    """``"2026-12-24,2026-12-31"`` -> dates."""
    try:
        return frozenset(date.fromisoformat(d.strip()) for d in raw.split(",") if d.strip())
    except ValueError as exc:
        raise CalendarError(f"{raw!r}: expected YYYY-MM-DD dates: {exc}") from None


class _Holidays(Container[date]):
    """A country's public holidays (any year, loaded as asked) and the city's extra days."""

    def __init__(self, country: str | None, extra: Iterable[date]):
        self._country = (
            holiday_data.country_holidays(country, language="en_US") if country else None
        )
        self._extra = frozenset(extra)

    def __contains__(self, day: object) -> bool:
        if day in self._extra:
            return True
        return self._country is not None and day in self._country


def calendar(
    zone: str, days: str, hours: str, country: str | None, extra: str = ""
) -> WorkCalendar:
    """A calendar from its settings (the strings of SUARA_TIMEZONE, SUARA_WORKING_DAYS, ...);
    CalendarError says what is wrong."""
    try:
        tz = ZoneInfo(zone)
    except Exception:
        raise CalendarError(f"{zone!r} is not a time zone (e.g. Asia/Jakarta)") from None
    if country:
        try:
            holiday_data.country_holidays(country)
        except NotImplementedError:
            raise CalendarError(f"no public holidays known for country {country!r}") from None
    opens, closes = parse_hours(hours)
    return WorkCalendar(tz, parse_days(days), opens, closes, _Holidays(country, parse_dates(extra)))
