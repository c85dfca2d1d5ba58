"""The city's reports (services/reporting/reports.py) and the cells a feedback adds to its
day's and month's buckets (services/reporting/projections.py)."""

from __future__ import annotations

from datetime import date

import pytest
from marshmallow import ValidationError

from services.reporting import projections, reports


def case(**fields) -> dict:
    return {
        "received": True,
        "submitted_at": "2026-12-01T20:30:00.000Z",  # 2 Dec 03:30 in Jakarta
        "channel": "whatsapp",
        "language": "jv",
        "kecamatan": "Pekalongan Utara",
        "kelurahan": "Panjang Wetan",
        "category": "flooding",
        "department_id": "bpbd",
        "priority": "normal",
        "status": "categorized",
        "status_seq": 0,
        **fields,
    }


def test_a_case_is_counted_in_its_city_day():
    counts = projections.contribution(case())
    cell = "flooding~bpbd~Pekalongan Utara~Panjang Wetan~whatsapp~jv~categorized~normal~0"
    assert counts[f"d:2026-12-02|cells.{cell}.n"] == 1  # the city's day, not UTC's 1 Dec
    assert not [k for k in counts if k.startswith("m:")]  # months are added up from days
    assert counts["total"] == 1 and counts["by_kelurahan.Panjang Wetan"] == 1
    assert counts["by_department.bpbd"] == 1 and counts["by_language.jv"] == 1


def test_a_transfer_counts_the_case_under_its_new_department():
    moved = case(assigned_department_id="dinas-pupr")
    assert projections.department_of(moved) == "dinas-pupr"
    assert projections.contribution(moved)["by_department.dinas-pupr"] == 1


def test_odd_values_cannot_break_a_cell_key():
    key = projections.cell(case(channel="a.b$c~d=e|f", category=None))
    assert "." not in key and "$" not in key and "=" not in key and "|" not in key
    where = projections.parse_cell(key)
    assert where["category"] is None and where["channel"] == "a_b_c_d_e_f"


def test_only_the_citys_own_area_names_are_counted():
    typed = case(kelurahan="  panjang   WETAN ", kecamatan="Jl. Merdeka 5, rumah biru")
    where = projections.parse_cell(projections.cell(typed))
    assert where["kelurahan"] == "Panjang Wetan"  # the city's spelling
    assert where["kecamatan"] is None  # free text typed as an area is not published
    assert not any(k.startswith("by_kecamatan.") for k in projections.contribution(typed))


def test_times_ratings_and_sla_outcome_go_into_the_cell():
    done = case(
        status_seq=3,
        case_status="resolved",
        first_categorized_at="2026-12-01T20:31:00.000Z",  # 1 minute
        first_response_at="2026-12-01T22:30:00.000Z",  # 2 hours
        resolved_at="2026-12-02T20:30:00.000Z",  # 1 day
        score=4,
    )
    metrics = projections.cell_metrics(done)
    assert metrics["n"] == 1 and metrics["sla_met"] == 1 and "sla_missed" not in metrics
    assert (metrics["score_n"], metrics["score_sum"], metrics["score_4"]) == (1, 4, 1)
    buckets = {k.split("_")[0]: int(k.split("_")[1]) for k in metrics if k[:3] in projections.TIMES}
    for name, minutes in (("ttc", 1), ("ttr", 120), ("tts", 1440)):
        shown = projections.bucket_minutes(buckets[name])
        assert abs(shown - minutes) <= max(1, 0.09 * minutes), (name, shown)
    assert projections.cell_metrics({**done, "overdue": True})["sla_missed"] == 1


def test_the_stored_contribution_keeps_its_values():
    counts = {"total": 1, "d:2026-12-02|cells.x.score_sum": 5}
    stored = projections.encode_counted(counts)
    assert stored == ["d:2026-12-02|cells.x.score_sum=5", "total"]
    assert projections.decode_counted(stored) == counts
    assert projections.decode_counted(["by_status.received"]) == {"by_status.received": 1}


def test_a_filter_reads_only_the_cells_it_keeps():
    keep = reports.wanted({"category": "flooding", "kelurahan": "Krapyak"})
    assert keep("flooding~bpbd~Pekalongan Utara~Krapyak~http~id~categorized~normal~0")
    assert not keep("flooding~bpbd~Pekalongan Utara~Degayu~http~id~categorized~normal~0")
    assert not keep("roads~dinas-pupr~Pekalongan Utara~Krapyak~http~id~categorized~normal~0")
    assert reports.wanted({"interval": "day"}) is None  # no filter: every cell


def cells_of(*docs: dict) -> dict:
    merged: dict = {}
    for doc in docs:
        for key, n in projections.contribution(doc).items():
            if key.startswith("d:"):
                _, path = key.split("|")
                _, cell, metric = path.split(".")
                merged.setdefault(cell, {})[metric] = merged.get(cell, {}).get(metric, 0) + n
    return merged


def test_filters_keep_only_their_cells_and_the_summary_adds_them_up():
    cells = cells_of(
        case(),
        case(kelurahan="Krapyak", kecamatan="Pekalongan Utara", overdue=True),
        case(category="roads", department_id="dinas-pupr", channel="http", language="id"),
    )
    everything = reports.summary(reports.selected(cells, {}))
    assert everything["total"] == 3 and everything["overdue"] == 1
    assert everything["by_category"] == {"flooding": 2, "roads": 1}
    assert everything["by_kelurahan"] == {"Krapyak": 1, "Panjang Wetan": 2}
    flooding_here = reports.selected(cells, {"category": "flooding", "kelurahan": "Krapyak"})
    assert reports.summary(flooding_here)["total"] == 1


def test_sla_report_per_department_and_category():
    resolved = {
        "status_seq": 3,
        "case_status": "resolved",
        "first_categorized_at": "2026-12-01T20:31:00.000Z",
        "resolved_at": "2026-12-02T00:30:00.000Z",  # 4 hours
    }
    cells = cells_of(
        case(**resolved),
        case(**resolved, overdue=True),
        case(overdue=True),  # open and overdue
        case(category="roads", department_id="dinas-pupr"),
    )
    report = reports.sla(reports.selected(cells, {}))
    bpbd = report["by_department"]["bpbd"]
    assert bpbd["cases"] == 3 and bpbd["resolved"] == 2
    assert bpbd["resolved_within_sla"] == 0.5 and bpbd["overdue_now"] == 1
    assert abs(bpbd["to_resolve"]["median_minutes"] - 240) <= 0.09 * 240
    assert bpbd["categories"]["flooding"]["cases"] == 3
    assert report["by_department"]["dinas-pupr"]["to_resolve"]["median_minutes"] is None
    assert report["overdue_now"] == 1


def test_satisfaction_comes_from_sums_and_counts():
    cells = cells_of(case(score=5), case(score=2), case(score=4, department_id="dlh"), case())
    report = reports.satisfaction(reports.selected(cells, {}))
    assert report["ratings"] == 3 and report["mean_score"] == 3.67
    assert report["by_department"]["bpbd"] == {
        "ratings": 2,
        "mean_score": 3.5,
        "by_score": {"2": 1, "5": 1},
    }


def test_percentiles_walk_the_histogram():
    assert reports.percentile({}, 0.5) is None
    histogram = {projections.histogram_bucket(60 * m): 1 for m in (1, 10, 100, 1000)}
    assert reports.percentile(histogram, 0.5) == pytest.approx(10, rel=0.09)
    assert reports.percentile(histogram, 0.9) == pytest.approx(1000, rel=0.09)


def test_timeseries_by_week_starts_on_monday():
    per_day = {
        date(2026, 11, 30): [({"category": "roads"}, {"n": 2})],  # a Monday
        date(2026, 12, 2): [({"category": "flooding"}, {"n": 1})],
        date(2026, 12, 7): [({"category": "roads"}, {"n": 1})],
    }
    points = reports.timeseries(per_day, "week")
    assert [(p["period"], p["total"]) for p in points] == [("2026-11-30", 3), ("2026-12-07", 1)]
    assert points[0]["by_category"] == {"flooding": 1, "roads": 2}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "from"),
        ({"category": "banjir"}, "category"),
        ({"department": "dinas-x"}, "department"),
        ({"interval": "hour"}, "interval"),
        ({"language": {"$gt": ""}}, "language"),
        ({"kelurahan": ""}, "kelurahan"),
        ({"from": "2020-01-01", "to": "2026-12-01"}, "from"),
    ],
)
def test_a_bad_query_names_its_field(args, field):
    with pytest.raises(ValidationError) as caught:
        reports.ReportQuery().load(args)
    assert field in caught.value.messages


def test_a_default_period_is_the_last_30_days():
    start, end = reports.period({}, date(2026, 12, 2))
    assert (start, end) == (date(2026, 11, 3), date(2026, 12, 2))


def test_hotspots_carry_the_kelurahan_centroid_and_count_open_cases():
    cells = cells_of(
        case(),
        case(status_seq=2, case_status="resolved"),
        case(kelurahan="Kampung Entah", category="roads"),
    )
    spots = reports.hotspots(reports.selected(cells, {}))
    assert [s["kelurahan"] for s in spots] == ["Panjang Wetan"]  # not the city's: not shown
    panjang = spots[0]
    assert (panjang["lat"], panjang["lon"]) == (-6.866, 109.683)
    assert (panjang["total"], panjang["open"], panjang["by_category"]) == (2, 1, {"flooding": 2})


def test_trending_compares_this_week_with_the_mean_of_four_before():
    now = cells_of(*[case() for _ in range(6)], case(category="roads"))
    before = cells_of(*[case() for _ in range(8)], *[case(category="roads") for _ in range(4)])
    rows = reports.trending(reports.selected(now, {}), reports.selected(before, {}))
    flooding, roads = rows
    assert (flooding["category"], flooding["this_week"], flooding["weekly_mean_before"]) == (
        "flooding",
        6,
        2.0,
    )
    assert flooding["ratio"] == 3.0 and flooding["change"] == 4.0
    assert (roads["this_week"], roads["ratio"]) == (1, 1.0)
