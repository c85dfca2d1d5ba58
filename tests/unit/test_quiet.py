"""Quiet hours (shared/quiet.py): which local times hold a message back, and until
when."""

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from shared import quiet

NIGHT = (time(21, 0), time(6, 0))  # across midnight
SIESTA = (time(12, 0), time(13, 30))  # within a day


def jakarta(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in Jakarta (UTC+7 all year), as the UTC datetime the code gets."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def test_a_window_is_read_from_its_setting():
    assert quiet.parse_quiet_hours("21:00-06:00") == NIGHT
    assert quiet.parse_quiet_hours(" 9:05 - 17:45 ") == (time(9, 5), time(17, 45))
    assert quiet.parse_quiet_hours("22:00-24:00") == (time(22, 0), time(0, 0))
    assert quiet.parse_quiet_hours("") is None
    assert quiet.parse_quiet_hours("   ") is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("21-06", "expected HH:MM-HH:MM"),
        ("21:00", "expected HH:MM-HH:MM"),
        ("21:00-06:00-07:00", "expected HH:MM-HH:MM"),
        ("9pm-6am", "expected HH:MM-HH:MM"),
        ("25:00-06:00", "25:00 is not a time of day"),
        ("21:00-06:60", "06:60 is not a time of day"),
        ("24:00-06:00", "24:00 is not a time of day"),
        ("08:00-08:00", "starts where it ends"),
    ],
)
def test_a_bad_window_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(ValueError, match=says):
        quiet.parse_quiet_hours(raw)


def test_outside_the_window_a_message_goes_now():
    for now in (jakarta(2, 6, 0), jakarta(2, 12, 0), jakarta(2, 20, 59)):
        assert quiet.next_allowed(now, NIGHT) == now
    assert quiet.next_allowed(jakarta(2, 3, 0), None) == jakarta(2, 3, 0)


def test_across_midnight_a_message_waits_for_the_morning():
    assert quiet.next_allowed(jakarta(2, 21, 0), NIGHT) == jakarta(3, 6, 0)  # exactly at start
    assert quiet.next_allowed(jakarta(2, 23, 59), NIGHT) == jakarta(3, 6, 0)
    assert quiet.next_allowed(jakarta(3, 0, 0), NIGHT) == jakarta(3, 6, 0)
    assert quiet.next_allowed(jakarta(3, 5, 59), NIGHT) == jakarta(3, 6, 0)
    assert quiet.next_allowed(jakarta(3, 6, 0), NIGHT) == jakarta(3, 6, 0)  # exactly at end


def test_across_midnight_at_the_end_of_a_month_and_a_year():
    assert quiet.next_allowed(jakarta(31, 22, 0), NIGHT) == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_within_a_day_a_message_waits_for_the_windows_end():
    assert quiet.next_allowed(jakarta(2, 11, 59), SIESTA) == jakarta(2, 11, 59)
    assert quiet.next_allowed(jakarta(2, 12, 0), SIESTA) == jakarta(2, 13, 30)
    assert quiet.next_allowed(jakarta(2, 13, 29), SIESTA) == jakarta(2, 13, 30)
    assert quiet.next_allowed(jakarta(2, 13, 30), SIESTA) == jakarta(2, 13, 30)
    assert quiet.next_allowed(jakarta(2, 23, 0), SIESTA) == jakarta(2, 23, 0)


def test_the_window_is_local_time_and_the_answer_is_utc():
    # 14:30 UTC is 21:30 in Jakarta and 22:30 in Makassar (both quiet), 15:30 in Lagos (not)
    now = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
    assert quiet.next_allowed(now, NIGHT) == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert quiet.next_allowed(now, NIGHT, "Asia/Makassar") == datetime(2026, 12, 2, 22, tzinfo=UTC)
    assert quiet.next_allowed(now, NIGHT, "Africa/Lagos") == now
    later = quiet.next_allowed(now, NIGHT)
    assert later.tzinfo is UTC
    # an aware time in another offset means the same instant
    local = now.astimezone(timezone(timedelta(hours=7)))
    assert quiet.next_allowed(local, NIGHT) == later
    assert quiet.next_allowed(local, NIGHT).tzinfo is UTC


def test_a_jakarta_day_has_no_daylight_saving_gaps():
    # every quarter hour of a year maps to 06:00 local (23:00 UTC) or goes at once
    now = datetime(2026, 1, 1, tzinfo=UTC)
    while now.year == 2026:
        allowed = quiet.next_allowed(now, NIGHT)
        assert allowed == now or (allowed.hour, allowed.minute) == (23, 0)
        assert timedelta(0) <= allowed - now <= timedelta(hours=9)
        now += timedelta(minutes=15)


def test_a_naive_time_or_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="aware"):
        quiet.next_allowed(datetime(2026, 12, 2, 22, 0), NIGHT)
    with pytest.raises(ValueError, match="not a time zone"):
        quiet.next_allowed(jakarta(2, 22), NIGHT, "Mars/Olympus")


def test_what_quiet_hours_hold_back():
    assert quiet.held("status.3") and quiet.held("categorized.r1") and quiet.held("overdue")
    assert quiet.held("assigned.r1", priority="normal")
    assert not quiet.held("assigned.r1", priority="urgent")
    for at_once in ("received", "status_answer.Q-1", "urgent"):
        assert not quiet.held(at_once), at_once
