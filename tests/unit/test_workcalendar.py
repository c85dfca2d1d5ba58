"""The city's working time and the SLA's due times (pure)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.intake import lifecycle, sla, tokens
from shared import config, workcalendar

CITY = workcalendar.calendar("Asia/Jakarta", "mon-fri", "08:00-16:00", "ID")


def wib(*args) -> datetime:
    """A time in Pekalongan (UTC+7), as UTC."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=7)


def test_working_hours_run_within_the_day_and_skip_the_night():
    assert CITY.add(wib(2026, 12, 1, 9, 0), 3) == wib(2026, 12, 1, 12, 0)  # Tuesday
    assert CITY.add(wib(2026, 12, 1, 15, 0), 3) == wib(2026, 12, 2, 10, 0)


def test_before_opening_the_clock_starts_at_opening_and_weekends_do_not_count():
    assert CITY.add(wib(2026, 12, 1, 5, 0), 1) == wib(2026, 12, 1, 9, 0)
    assert CITY.add(wib(2026, 12, 4, 15, 0), 2) == wib(2026, 12, 7, 9, 0)  # Friday -> Monday
    assert CITY.add(wib(2026, 12, 5, 10, 0), 1) == wib(2026, 12, 7, 9, 0)  # Saturday


def test_public_holidays_and_the_citys_extra_days_are_not_working_days():
    # Thursday 24 Dec, 15:00: 1 h that day, Christmas (Fri), the weekend, then Monday
    assert CITY.add(wib(2026, 12, 24, 15, 0), 2) == wib(2026, 12, 28, 9, 0)
    leave = workcalendar.calendar("Asia/Jakarta", "mon-fri", "08:00-16:00", "ID", "2026-12-28")
    assert leave.add(wib(2026, 12, 24, 15, 0), 2) == wib(2026, 12, 29, 9, 0)
    assert not CITY.working_day(date(2026, 8, 17))  # Hari Kemerdekaan


def test_hours_between_is_the_inverse_of_add():
    start = wib(2026, 12, 3, 14, 30)
    for hours in (0.5, 1, 7.5, 8, 24, 40, 100):
        assert CITY.hours_between(start, CITY.add(start, hours)) == pytest.approx(hours)
    assert CITY.hours_between(start, start - timedelta(hours=1)) == 0


def test_a_calendar_where_every_hour_counts():
    always = workcalendar.calendar("Asia/Jakarta", "mon-sun", "00:00-24:00", None)
    start = wib(2026, 12, 5, 23, 30)
    assert always.add(start, 49) == start + timedelta(hours=49)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SUARA_WORKING_DAYS": "mon-xyz"}, "days are mon"),
        ({"SUARA_WORKING_DAYS": "fri-mon"}, "runs forward"),
        ({"SUARA_WORKING_HOURS": "16:00-08:00"}, "open before"),
        ({"SUARA_WORKING_HOURS": "8"}, "HH:MM-HH:MM"),
        ({"SUARA_TIMEZONE": "Mars/Olympus"}, "not a time zone"),
        ({"SUARA_HOLIDAYS": "XX"}, "no public holidays"),
        ({"SUARA_EXTRA_HOLIDAYS": "24-12-2026"}, "YYYY-MM-DD"),
        ({"SUARA_SLA_HOURS": "floods=4"}, "unknown category"),
        ({"SUARA_SLA_HOURS": "flooding=soon"}, "not a number"),
        ({"SUARA_URGENT_SLA_HOURS": "flooding=0"}, "more than 0"),
        ({"SUARA_REOPEN_DAYS": "0"}, "more than 0"),
        ({"SUARA_SECRET_KEYS": "short"}, "32 characters"),
    ],
)
def test_bad_calendar_and_sla_settings_stop_the_service_with_the_reason(settings, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load("intake", settings)


def test_the_default_policy_takes_the_taxonomys_sla_and_overrides():
    cfg = config.load("intake", {"SUARA_SLA_HOURS": "roads=4", "SUARA_URGENT_SLA_HOURS": "roads=1"})
    policy = sla.Policy.from_config(cfg)
    monday = wib(2026, 12, 7, 8, 0)
    assert policy.due_at(monday, "roads", "normal") == wib(2026, 12, 7, 12, 0)
    assert policy.due_at(monday, "roads", "urgent") == monday + timedelta(hours=1)  # calendar
    assert policy.due_at(monday, "flooding", "normal") == wib(2026, 12, 9, 16, 0)  # 24 h
    assert policy.reopen_window == timedelta(days=14)


def test_overdue_only_while_the_department_still_owes_an_answer():
    due, now = wib(2026, 12, 7, 12, 0), wib(2026, 12, 7, 13, 0)
    assert sla.is_overdue("in_progress", due, now)
    assert not sla.is_overdue("resolved", due, now)
    assert not sla.is_overdue("in_progress", due, due)
    assert not sla.is_overdue("categorized", None, now)


def test_transfers_go_to_a_known_other_department_while_the_case_is_worked():
    known = {"bpbd", "dinas-pupr"}
    lifecycle.check_transfer("acknowledged", "dinas-pupr", "bpbd", known)
    with pytest.raises(lifecycle.MoveInvalid, match="no such department"):
        lifecycle.check_transfer("acknowledged", "dinas-pupr", "dinas-sihir", known)
    with pytest.raises(lifecycle.MoveInvalid, match="already"):
        lifecycle.check_transfer("acknowledged", "bpbd", "bpbd", known)
    with pytest.raises(lifecycle.MoveRefused):
        lifecycle.check_transfer("resolved", "dinas-pupr", "bpbd", known)
    assert lifecycle.after_transfer("in_progress") == "categorized"
    assert lifecycle.after_transfer("reopened") == "reopened"


def test_citizen_tokens_verify_under_any_configured_secret_and_only_for_their_case():
    old, new = "o" * 32, "n" * 32
    token = tokens.citizen_token((old,), "SU-0123456789")
    assert len(token) == 32 and tokens.verify((new, old), "SU-0123456789", token)
    assert not tokens.verify((new,), "SU-0123456789", token)
    assert not tokens.verify((old,), "SU-0123456780", token)
    assert tokens.citizen_token((new, old), "SU-0123456789") != token  # the first signs
