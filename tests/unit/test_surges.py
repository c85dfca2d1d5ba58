"""Surge detection (services/reporting/surges.py): where a case counts, the window against the
pair's own baseline, and a surge's lifecycle (once per surge); pure, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.reporting import surges
from shared import config, events

RULES = surges.Rules()  # 5 in 60 minutes, and 3 times the usual
NOW = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 10:30 WIB


def entries(*minutes_ago: float, imported: bool = False, start: int = 0) -> list[str]:
    return [
        surges.entry(f"SU-{start + i:010d}", NOW - timedelta(minutes=m), imported)
        for i, m in enumerate(minutes_ago)
    ]


def history(per_hour: int, days: int = 28) -> dict[str, int]:
    """Hourly counts of a pair for the ``days`` before the window (every hour ``per_hour``)."""
    end = datetime(2026, 12, 2, 2, tzinfo=UTC)  # the window's first hour starts here
    return {surges.hour_of(end - timedelta(hours=h)): per_hour for h in range(1, days * 24 + 1)}


# ---------------------------------------------------------------- where and when a case counts


def test_a_case_counts_in_its_kelurahan_by_its_official_name_with_its_kecamatan():
    assert surges.place({"kelurahan": "Degayu"}) == ("Degayu", "Pekalongan Utara")
    assert surges.place({"kelurahan": "  panjang   WETAN "}) == (
        "Panjang Wetan",
        "Pekalongan Utara",
    )
    # the kecamatan comes from the city's list, whatever the client said
    assert surges.place({"kelurahan": "Kramatsari", "kecamatan": "X"})[1] == "Pekalongan Barat"


@pytest.mark.parametrize(
    "location",
    [None, {}, {"kelurahan": None}, {"kelurahan": "Kuripan"}, {"kelurahan": "Jl. Merdeka 5"}],
)
def test_a_case_in_no_kelurahan_of_the_city_counts_nowhere(location):
    assert surges.place(location) is None


def test_an_entry_is_the_same_however_often_its_case_comes_and_marks_imported_history():
    at = surges.parse_time("2026-12-02T03:04:05.678Z")
    assert surges.entry("SU-1", at, False) == surges.entry("SU-1", at, False) == "1796180645:SU-1"
    assert surges.entry("SU-1", at, True) == "1796180645:SU-1:i"
    assert surges.parse_time("2026-12-02T10:04:05+07:00") == at.replace(microsecond=0)


def test_keys_name_the_pair_and_the_utc_hour():
    at = datetime(2026, 12, 2, 3, 59, 59, tzinfo=UTC)
    assert (
        surges.bucket_id("Degayu", "flooding", surges.hour_of(at)) == "Degayu|flooding|2026120203"
    )
    assert surges.pair_id("Degayu", "flooding") == "Degayu|flooding"
    assert surges.surge_id("Degayu", "flooding", 2) == "Degayu|flooding|2"


def test_the_window_reaches_the_hour_buckets_it_overlaps():
    assert surges.window_hours(NOW, RULES) == ["2026120202", "2026120203"]
    on_the_hour = datetime(2026, 12, 2, 3, tzinfo=UTC)
    assert surges.window_hours(on_the_hour, RULES) == ["2026120202", "2026120203"]
    three_hours = surges.Rules(window_min=180)
    assert surges.window_hours(NOW, three_hours) == [
        "2026120200",
        "2026120201",
        "2026120202",
        "2026120203",
    ]


# ---------------------------------------------------------------- the baseline


def test_the_baseline_is_the_mean_of_the_28_days_before_the_window_empty_hours_included():
    assert surges.baseline_per_hour({}, NOW, RULES) == 0
    assert surges.baseline_per_hour(history(2), NOW, RULES) == pytest.approx(2.0)
    one_day = {h: 24 for h in list(history(24))[:1]}  # 24 cases in one hour of 28 days
    assert surges.baseline_per_hour(one_day, NOW, RULES) == pytest.approx(24 / 672)


def test_the_window_and_anything_older_than_28_days_stay_out_of_the_baseline():
    hours = {
        "2026120203": 50,  # the window's own hours: a surge is not its own usual
        "2026120202": 50,
        surges.hour_of(NOW - timedelta(days=29)): 50,  # too old
    }
    assert surges.baseline_per_hour(hours, NOW, RULES) == 0
    assert surges.stale_hours(hours, NOW, RULES) == [surges.hour_of(NOW - timedelta(days=29))]
    assert surges.in_baseline(surges.hour_of(NOW - timedelta(days=27)), NOW, RULES)


def test_the_threshold_is_the_minimum_or_factor_times_the_usual_count_of_a_window():
    assert surges.threshold(0, RULES) == 5
    assert surges.threshold(1.0, RULES) == 5  # 3 x 1 < 5
    assert surges.threshold(2.0, RULES) == 6
    assert surges.threshold(2.1, RULES) == 7  # a count of 6.3 is needed: 7
    assert surges.threshold(2.0, surges.Rules(window_min=30)) == 5  # 3 x 1 per half hour
    assert surges.threshold(4.0, surges.Rules(window_min=30)) == 6


# ---------------------------------------------------------------- the window


def test_five_cases_within_the_hour_make_a_surge_where_nothing_is_usual():
    found = surges.assess([entries(50, 30, 20, 10, 1)], {}, NOW, RULES)
    assert (found.count, found.threshold, found.above) == (5, 5, True)
    assert found.started_at == (NOW - timedelta(minutes=50)).replace(second=0, microsecond=0)
    # with no new case, the fifth newest (50 min ago) leaves the window in 10 minutes
    assert found.above_until == found.started_at + timedelta(minutes=60)


def test_four_cases_or_old_or_imported_ones_do_not():
    assert not surges.assess([entries(50, 30, 20, 10)], {}, NOW, RULES).above
    old = surges.assess([entries(70, 65, 61), entries(10, 5, start=10)], {}, NOW, RULES)
    assert (old.count, old.above) == (2, False)
    imported = entries(9, 8, 7, 6, 5, 4, imported=True)
    assert surges.assess([imported, entries(1)], {}, NOW, RULES).count == 1


def test_a_burst_that_is_usual_for_its_pair_is_no_surge():
    usual = history(2)  # 2 an hour for 28 days: 6 needed
    assert not surges.assess([entries(50, 40, 30, 20, 10)], usual, NOW, RULES).above
    assert surges.assess([entries(50, 40, 30, 20, 10, 1)], usual, NOW, RULES).above


def test_a_steady_trickle_never_surges():
    usual = history(3)
    for minute in range(0, 24 * 60, 20):  # three an hour, all day
        now = NOW + timedelta(minutes=minute)
        recent = [surges.entry(f"SU-{i}", now - timedelta(minutes=20 * i), False) for i in range(3)]
        assert not surges.assess([recent], usual, now, RULES).above
    # ... nor where nothing was usual
    assert not surges.assess([entries(40, 20, 1)], {}, NOW, RULES).above


def test_two_cases_of_the_same_second_count_twice():
    same = [surges.entry(f"SU-{i}", NOW, False) for i in range(5)]
    assert surges.assess([same], {}, NOW, RULES).count == 5


def test_only_live_cases_inside_the_window_evaluate():
    assert surges.evaluates(NOW - timedelta(minutes=59), False, NOW, RULES)
    assert not surges.evaluates(NOW - timedelta(minutes=61), False, NOW, RULES)  # a replay
    assert not surges.evaluates(NOW, True, NOW, RULES)  # imported history never alerts


# ---------------------------------------------------------------- the lifecycle


def surge_until(above_until: datetime) -> dict:
    return {"_id": "Degayu|flooding|1", "above_until": above_until}


def test_the_first_detection_opens_a_surge_and_the_next_extend_it():
    found = surges.assess([entries(50, 30, 20, 10, 1)], {}, NOW, RULES)
    assert surges.decide(found, None, NOW, RULES) == "open"
    opened = surge_until(found.above_until)
    later = NOW + timedelta(minutes=5)
    more = surges.assess([entries(55, 35, 25, 15, 6, 0)], {}, later, RULES)
    assert surges.decide(more, opened, later, RULES) == "extend"
    below = surges.assess([entries(1)], {}, later, RULES)
    assert surges.decide(below, opened, later, RULES) == "none"


def test_a_surge_ends_an_hour_after_it_fell_below_the_threshold_then_a_new_one_may_open():
    fell_below = NOW
    current = surge_until(fell_below)
    burst = surges.assess([entries(4, 3, 2, 1, 0)], {}, NOW, RULES)
    assert surges.decide(burst, current, fell_below + timedelta(minutes=59), RULES) == "extend"
    assert surges.decide(burst, current, fell_below + timedelta(minutes=60), RULES) == "open"
    assert surges.is_open(current, fell_below + timedelta(minutes=59), RULES)
    assert not surges.is_open(current, fell_below + timedelta(minutes=60), RULES)
    naive = {"above_until": fell_below.replace(tzinfo=None)}  # as pymongo reads it back
    assert surges.is_open(naive, fell_below, RULES)


def test_a_surge_takes_the_next_number_or_the_one_noted_without_a_record():
    assert surges.next_number(0, None) == 1
    assert surges.next_number(3, {"_id": "x|y|3"}) == 4
    assert surges.next_number(3, None) == 3  # noted, then a crash before its record


def test_the_alert_keeps_its_contract_and_carries_no_case_and_no_text():
    found = surges.assess([entries(50, 30, 20, 10, 1)], {}, NOW, RULES)
    where = surges.Place("Degayu", "Pekalongan Utara", "flooding", "bpbd")
    record, staged = surges.new_surge("Degayu|flooding|1", "salt", where, found, NOW, RULES)
    (entry,) = staged
    assert (entry["exchange"], entry["routing_key"]) == ("reporting.events", "alert.spike_detected")
    event = events.decode(events.encode(entry["event"]))
    assert event.subject == event.correlation_id == record["alert_id"]
    assert event.data == {
        "alert_id": record["alert_id"],
        "kelurahan": "Degayu",
        "kecamatan": "Pekalongan Utara",
        "category": "flooding",
        "department_id": "bpbd",
        "count": 5,
        "window_minutes": 60,
        "baseline_per_hour": 0.0,
        "threshold": 5,
        "started_at": "2026-12-02T02:40:00.000Z",
        "detected_at": "2026-12-02T03:30:00.000Z",
    }
    assert "SU-" not in events.encode(entry["event"]).decode()
    assert record["outbox"] == staged and record["above_until"] == found.above_until
    # every writer racing to open this surge stages the same event, and no other surge does
    again, _ = surges.new_surge("Degayu|flooding|1", "salt", where, found, NOW, RULES)
    assert again["outbox"][0]["id"] == entry["id"] == event.id
    assert again["alert_id"] == record["alert_id"]
    other, _ = surges.new_surge("Degayu|flooding|2", "salt", where, found, NOW, RULES)
    elsewhere, _ = surges.new_surge("Degayu|flooding|1", "other", where, found, NOW, RULES)
    assert len({record["alert_id"], other["alert_id"], elsewhere["alert_id"]}) == 3


# ---------------------------------------------------------------- settings


def test_the_settings_default_to_5_in_an_hour_and_three_times_the_usual():
    assert config.load("reporting", {})["SURGE"] == {"min": 5, "factor": 3.0, "window_min": 60}
    rules = surges.Rules.from_config(
        config.surge_rules(
            {"SUARA_SURGE_MIN": "8", "SUARA_SURGE_FACTOR": "2.5", "SUARA_SURGE_WINDOW_MIN": "30"}
        )
    )
    assert rules == surges.Rules(min_count=8, factor=2.5, window_min=30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUARA_SURGE_MIN", "0"),
        ("SUARA_SURGE_MIN", "five"),
        ("SUARA_SURGE_FACTOR", "0.5"),
        ("SUARA_SURGE_FACTOR", "x"),
        ("SUARA_SURGE_WINDOW_MIN", "5"),
        ("SUARA_SURGE_WINDOW_MIN", "2000"),
    ],
)
def test_a_bad_surge_setting_stops_the_service(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load("reporting", {name: value})
