"""The forum report (services/reporting/forum.py, pure) and its page (forum_page.py)."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting import forum, forum_page, forum_pdf, forum_web, projections, reports
from shared.http import HttpError

FLOOD = [
    "Banjir rob setinggi lutut di gang masjid, air masuk rumah warga sejak subuh",
    "Rob masuk rumah lagi, air laut naik sampai lutut, pompa air tidak jalan",
    "Banjir di jalan depan sekolah, air setinggi lutut, anak tidak bisa lewat",
    "Saluran mampet jadi banjir tiap hujan, hubungi saya di [phone]",
]
WASTE = [
    "Sampah menumpuk di TPS pasar, bau sekali dan lalat banyak",
    "Sampah belum diangkut tiga hari, TPS penuh, bau menyengat",
    "Tumpukan sampah plastik di pinggir sungai, tolong diangkut",
]


def cell(category: str, kecamatan: str, n: int = 1, **metrics) -> tuple[dict, dict]:
    doc = {
        "received": True,
        "category": category,
        "kecamatan": kecamatan,
        "status": "categorized",
        "status_seq": 0,
    }
    return projections.parse_cell(projections.cell(doc)), {"n": n, **metrics}


def sampled(category: str, texts: list[str], kecamatan: str = "Pekalongan Utara") -> list[dict]:
    return [
        {"category": category, "kecamatan": kecamatan, "text": t, "day": "2026-12-02"}
        for t in texts
    ]


def test_characteristic_terms_are_the_themes_own_words_not_shared_or_placeholders():
    everything = FLOOD + WASTE
    flood = [t["term"] for t in forum.characteristic_terms(FLOOD, everything)]
    waste = [t["term"] for t in forum.characteristic_terms(WASTE, everything)]
    assert {"lutut", "banjir", "rob"} & set(flood[:5])
    assert "sampah" in waste[:3]
    assert not {"phone", "di", "yang", "tolong"} & set(flood + waste)  # placeholders, stop words
    assert all(t.isalpha() for t in flood + waste)  # letters only: no numbers
    assert not set(flood[:3]) & set(waste[:3])


def test_no_texts_no_terms():
    assert forum.characteristic_terms([], FLOOD) == []
    assert forum.characteristic_terms(["di yang dan"], ["di yang dan"]) == []  # stop words only


def test_representatives_are_the_texts_nearest_the_centroid_distinct():
    outlier = "Lampu jalan mati total di perempatan"
    texts = [*FLOOD[:3], outlier, FLOOD[0]]  # a repeat of the first, and one off the theme
    chosen = forum.representatives(texts, texts + WASTE)
    assert len(chosen) == 3
    assert 3 not in chosen  # the outlier is the farthest from the centroid
    assert len({" ".join(texts[i].split()) for i in chosen}) == 3  # a repeated text once
    assert sorted(forum.representatives(FLOOD[:2], FLOOD)) == [0, 1]  # fewer than 3
    assert forum.representatives([], FLOOD) == []


def test_trend_against_the_previous_period_of_equal_length():
    assert forum.previous_period(date(2026, 12, 1), date(2026, 12, 31)) == (
        date(2026, 10, 31),
        date(2026, 11, 30),
    )
    assert forum.previous_period(date(2026, 12, 2), date(2026, 12, 2)) == (
        date(2026, 12, 1),
        date(2026, 12, 1),
    )
    assert forum.trend(6, 4) == {"previous": 4, "change": 2, "ratio": 1.5}
    assert forum.trend(3, 0) == {"previous": 0, "change": 3, "ratio": None}
    assert forum.trend(0, 5)["change"] == -5


def test_the_report_per_theme_and_area_with_trend_sla_satisfaction_terms_and_texts():
    now = [
        cell("flooding", "Pekalongan Utara", 3, sla_met=1, sla_missed=1, score_n=2, score_sum=7),
        cell("flooding", "Pekalongan Barat", 1, tts_20=1),
        cell("waste", "Pekalongan Barat", 2),
    ]
    before = [cell("flooding", "Pekalongan Utara", 1), cell("roads", "Pekalongan Timur", 5)]
    report = forum.build(
        now,
        before,
        sampled("flooding", FLOOD) + sampled("waste", WASTE),
        {"flooding": {"id": "Banjir & Rob", "en": "Flooding"}},
    )
    assert report["total"] == 6 and report["trend"] == {"previous": 6, "change": 0, "ratio": 1.0}
    flood, waste = report["themes"]  # the most cases first; roads had none now: not a theme
    assert flood["category"] == "flooding" and flood["label"]["en"] == "Flooding"
    assert flood["cases"] == 4 and flood["trend"] == {"previous": 1, "change": 3, "ratio": 4.0}
    assert flood["sla"]["resolved"] == 2 and flood["sla"]["resolved_within_sla"] == 0.5
    assert flood["sla"]["median_minutes_to_resolve"] is not None
    assert flood["satisfaction"] == {"ratings": 2, "mean_score": 3.5}
    assert [(a["kecamatan"], a["cases"]) for a in flood["areas"]] == [
        ("Pekalongan Utara", 3),
        ("Pekalongan Barat", 1),
    ]
    assert flood["areas"][0]["trend"]["previous"] == 1
    assert flood["areas"][1]["trend"] == {"previous": 0, "change": 1, "ratio": None}
    assert len(flood["representative_texts"]) == 3 and flood["sampled_texts"] == 4
    assert all(r["text"] in FLOOD for r in flood["representative_texts"])
    assert flood["terms"] and waste["terms"][0]["term"] == "sampah"
    assert report["sample"]["texts"] == 7


def test_an_empty_period():
    report = forum.build([], [cell("waste", "Pekalongan Barat", 2)], [])
    assert report["total"] == 0 and report["themes"] == []
    assert report["trend"] == {"previous": 2, "change": -2, "ratio": 0.0}
    assert report["sample"]["texts"] == 0


def test_a_theme_without_sampled_texts_has_no_terms_nor_texts():
    (theme,) = forum.build([cell("waste", "Pekalongan Barat")], [], [])["themes"]
    assert theme["terms"] == [] and theme["representative_texts"] == []


def test_the_sample_keeps_the_lowest_ranks_and_every_case_the_same_chance():
    entries = [forum.sample_entry(f"id-{i}") for i in range(50)]
    keep, drop = forum.kept(entries + entries[:10], 5)  # repeats count once
    assert keep == sorted(entries)[:5] and len(drop) == 45
    assert forum.entry_id(keep[0]).startswith("id-")
    # each of 50 cases is in a sample of 5 with chance 0.1: over 2000 months of other ids
    kept_first = sum(
        forum.sample_entry(f"m{m}-id-0")
        in forum.kept([forum.sample_entry(f"m{m}-id-{i}") for i in range(50)], 5)[0]
        for m in range(2000)
    )
    assert 120 < kept_first < 280


def test_sample_ids_months_and_the_bounded_read():
    assert forum.sample_id("2026-12", "flooding") == "2026-12|flooding"
    assert reports.months(date(2026, 11, 20), date(2027, 1, 3)) == ["2026-11", "2026-12", "2027-01"]
    ids = [f"id-{i}" for i in range(1000)]
    chosen = forum.bounded(ids, 50)
    assert len(chosen) == 50 and chosen == forum.bounded(reversed(ids), 50)


def test_a_case_passes_the_filters_as_its_cell_would():
    doc = {
        "received": True,
        "category": "flooding",
        "kecamatan": "pekalongan  utara",  # the city's name, case and spacing aside
        "kelurahan": "Bandengan",
        "status": "categorized",
    }
    where = forum.case_where(doc)
    assert where["kecamatan"] == "Pekalongan Utara"
    assert forum.matches(where, {"kelurahan": "Bandengan", "category": "flooding"})
    assert not forum.matches(where, {"kelurahan": "Tirto"})


def test_the_page_escapes_texts_in_both_languages_and_allows_only_its_own_css():
    report = {
        "period": {"from": "2026-12-01", "to": "2026-12-02", "kelurahan": "Bandengan"},
        "compared_with": {"from": "2026-11-29", "to": "2026-11-30"},
        "generated_at": "2026-12-02T10:00:00Z",
        **forum.build(
            [cell("flooding", "Pekalongan Utara", 2, sla_met=1, tts_30=1)],
            [],
            sampled("flooding", ["Banjir <script>alert(1)</script> di gang", *FLOOD[:2]]),
            {"flooding": {"id": "Banjir & Rob", "en": "Flooding & tidal flooding"}},
        ),
    }
    page = forum_page.render(report, "id", {"kelurahan": "Bandengan", "lang": "id"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Laporan Forum Warga" in page and "Banjir &amp; Rob" in page
    assert "lang=en" in page and "kelurahan=Bandengan" in page
    assert "@media print" in page
    assert "100 %" in page and "3,3 jam" in page  # within SLA; median to resolve (bucket 30)
    english = forum_page.render(report, "en", {})
    assert "Citizens&#39; forum report" in english and "Flooding &amp; tidal flooding" in english
    assert "style-src 'sha256-" in forum_page.headers()["Content-Security-Policy"]
    assert forum_page.language(None, "en-GB,en;q=0.8") == "en"
    assert forum_page.language("id", "en") == "id" and forum_page.language(None, None) == "id"


def test_no_chromium_no_pdf_and_the_answer_is_503(monkeypatch):
    monkeypatch.setattr(forum_pdf.shutil, "which", lambda name: None)
    with pytest.raises(forum_pdf.Unavailable, match="Chromium"):
        forum_pdf.to_pdf("<p>x</p>")
    with pytest.raises(HttpError) as raised:
        forum_web.as_pdf(None, None)  # before anything is read
    assert raised.value.status == 503 and "chromium" in raised.value.message


def test_a_chromium_that_hangs_is_stopped_at_the_time_limit(tmp_path):
    hanging = tmp_path / "chromium"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(0o755)
    with pytest.raises(forum_pdf.Unavailable, match="longer than"):
        forum_pdf.to_pdf("<p>x</p>", timeout_s=0.5, binary=str(hanging))
