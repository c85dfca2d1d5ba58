"""Quiet hours (pure): when a message that is not urgent may go out.

A window such as "21:00-06:00" is read in the city's local time; a message due inside it waits
until the window ends. The start belongs to the window, the end does not: at 21:00 a message
waits, at 06:00 it goes. Times come in and go out as aware datetimes (UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Window = tuple[time, time]

_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", re.ASCII)
# what never waits: the receipt and a status answer (the citizen has just written), and
# anything urgent
_NEVER_HELD = ("received", "status_answer", "urgent")


def parse_quiet_hours(raw: str | None) -> Window | None:
    """``"21:00-06:00"`` -> (21:00, 06:00); an empty value -> None (no quiet hours). A window
    may cross midnight; its end may be written 24:00. ValueError says what is wrong."""
    text = (raw or "").strip()
    if not text:
        return None
    found = _WINDOW.fullmatch(text)
    if found is None:
        raise ValueError(
            f"quiet hours {text!r}: expected HH:MM-HH:MM in local time, e.g. 21:00-06:00 "
            "(empty: no quiet hours)"
        )
    sh, sm, eh, em = (int(part) for part in found.groups())
    if (eh, em) == (24, 0):
        eh = 0
    for hour, minute in ((sh, sm), (eh, em)):
        if hour > 23 or minute > 59:
            raise ValueError(f"quiet hours {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    start, end = time(sh, sm), time(eh, em)
    if start == end:
        raise ValueError(
            f"quiet hours {text!r}: the window starts where it ends; leave the value empty for "
            "no quiet hours"
        )
    return start, end


def next_allowed(now: datetime, window: Window | None, tz: str = "Asia/Jakarta") -> datetime:
    """When a message due at ``now`` may be sent: ``now`` outside the window (or with no
    window), else the window's end, in UTC."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if window is None:
        return now.astimezone(UTC)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{tz!r} is not a time zone (e.g. Asia/Jakarta)") from None
    start, end = window
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 13:00-15:00, within one day
        if not start <= clock < end:
            return now.astimezone(UTC)
        ends_on = local.date()
    else:  # e.g. 21:00-06:00, across midnight
        if end <= clock < start:
            return now.astimezone(UTC)
        ends_on = local.date() + timedelta(days=1) if clock >= start else local.date()
    return datetime.combine(ends_on, end, tzinfo=zone).astimezone(UTC)


def held(delivery_kind: str, priority: str | None = None) -> bool:
    """Does quiet hours hold this delivery back? Not the receipt, a status answer or anything
    urgent (an ``urgent`` delivery, or a case assigned with priority urgent)."""
    if priority == "urgent":
        return False
    return delivery_kind.split(".", 1)[0] not in _NEVER_HELD
