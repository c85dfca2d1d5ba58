""" "Me too" (services/categorization/duplicates.py): signatures, similarity, the pair scorer,
places, the decision, and what the place documents hold; the scorer's learning
(duplicate_fit.py) and ``suara pairs``."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.categorization import duplicates as d
from shared import config

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
SETTINGS = d.Settings()
WA = "min gorong2 dpn SDN 2 Kergon mampet, tiap ujan banyune luber ke jalan"
EN = "The culvert in front of SD Negeri 2 Kergon is blocked, water overflows onto the road"
OTHER = "Pagar sekolah SD Negeri 2 Kergon roboh kena angin, bahaya buat anak-anak"
SCHOOL = (-6.8905, 109.6702)
DEV_PAIRS = Path("services/categorization/corpus/duplicates_dev.jsonl")
TRAIN_PAIRS = Path("services/categorization/corpus/duplicates_train.jsonl")


def north(lat: float, metres: float) -> float:
    return lat + metres / d.METRES_PER_DEGREE


def case(fid="SU-A", text=WA, at=NOW, lat=SCHOOL[0], lon=SCHOOL[1], kel="kel:bendan kergon"):
    return d.OpenCase(fid, at, fid, d.signature(text), d.Place(lat, lon, kel))


def link(text=EN, at=NOW, place=None, candidates=(), settings=SETTINGS, fid="SU-B"):
    place = place or d.Place(north(SCHOOL[0], 40), SCHOOL[1], "kel:bendan kergon")
    return d.find_link(fid, at, d.signature(text), place, candidates, settings)


def test_a_signature_is_small_sorted_ints_and_the_same_for_the_same_text():
    sig = d.signature(WA)
    assert 0 < len(sig) <= d.SIGNATURE_SIZE
    assert list(sig) == sorted(sig) and all(isinstance(h, int) and 0 <= h < 2**32 for h in sig)
    assert d.signature(WA) == sig
    long = " ".join(json.loads(line)["a"] for line in DEV_PAIRS.read_text().splitlines())
    assert len(d.signature(long)) == d.SIGNATURE_SIZE


def test_one_problem_in_whatsapp_indonesian_and_english_is_likely_the_same_another_is_not():
    same = d.probability(d.signature(WA), d.signature(EN))
    other = d.probability(d.signature(WA), d.signature(OTHER))
    assert same >= SETTINGS.min_similarity > other
    assert d.similarity(d.signature(WA), d.signature(WA)) == pytest.approx(1.0)
    assert d.probability(d.signature(WA), d.signature(WA)) > 0.9


def test_similarity_is_symmetric_bounded_and_zero_for_nothing_in_common():
    a, b = d.signature(WA), d.signature(OTHER)
    assert d.similarity(a, b) == d.similarity(b, a)
    assert 0 <= d.similarity(a, b) <= 1
    assert d.similarity((), a) == 0.0 == d.similarity((), ())
    assert d.similarity(d.signature("tolong min"), d.signature("mohon pak")) == 0.0


def test_place_words_and_the_kelurahan_name_do_not_make_two_problems_alike():
    words = d._words("Jalan depan SD di Kelurahan Bendan Kergon, dekat gang 3")
    assert "kergon" not in words and "depan" not in words and "gang" not in words


def test_concepts_join_spellings_and_languages_and_pairs_of_tokens():
    table = d.concepts()
    assert {"~sumbat"} <= set(table["mampet"]) and table["buntu"] == table["mampet"]
    sig = set(d.signature("air PDAM tidak mengalir"))
    assert set(d.signature("pdam mati")) <= sig | set(d.signature("pdam mati"))
    assert d.similarity(d.signature("PDAM mati"), d.signature("air PDAM tidak mengalir")) > 0.5


def test_a_broken_concept_file_stops_with_its_line(tmp_path):
    bad = tmp_path / "concepts.tsv"
    bad.write_text("# fine\nsaluran got selokan\n", encoding="utf-8")
    with pytest.raises(ValueError, match="concepts.tsv:2"):
        d.concepts.__wrapped__(bad)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Bendan Kergon", "kel:bendan kergon"),
        ("Kel. Bendan  Kergon", "kel:bendan kergon"),
        ("KELURAHAN bendan-kergon", "kel:bendan kergon"),
        ("Kraton Lor", "kel:kraton lor"),
        ("", None),
        (None, None),
        ("Kel.", None),
    ],
)
def test_kelurahan_keys_are_normalised(raw, key):
    assert d.kelurahan_key(raw) == key


def test_a_place_needs_both_coordinates_or_a_kelurahan():
    assert d.place_of({"lat": -6.9, "lon": None, "kelurahan": None}) == d.Place()
    assert not d.place_of(None).known
    assert d.place_of({"lat": -6.9, "lon": 109.6}).has_coordinates
    assert d.place_of({"kelurahan": "Degayu"}).known


def test_haversine_distance():
    a = d.Place(*SCHOOL)
    assert d.distance_m(a, d.Place(north(SCHOOL[0], 40), SCHOOL[1])) == pytest.approx(40, abs=0.5)
    assert d.distance_m(a, d.Place(kelurahan="kel:x")) is None
    # one degree of longitude at the equator
    assert d.distance_m(d.Place(0, 0), d.Place(0, 1)) == pytest.approx(111_195, rel=1e-3)


def offset(lat: float, lon: float, metres: float, bearing: int) -> d.Place:
    dy = metres * math.cos(math.radians(bearing))
    dx = metres * math.sin(math.radians(bearing))
    east = d.METRES_PER_DEGREE * math.cos(math.radians(lat))
    return d.Place(lat + dy / d.METRES_PER_DEGREE, lon + dx / east)


def test_every_point_within_the_radius_lies_in_the_3x3_cells_around_a_point():
    settings = d.Settings(radius_m=150)
    for lat, lon in (SCHOOL, (0.0001, -0.0001), (59.9, 10.7), (-6.88, 109.7)):
        here = d.Place(lat, lon)
        lookup = set(d.nearby_keys(here, settings))
        assert len(lookup) == 9
        for bearing in range(0, 360, 15):
            for metres in (1, 75, 149):
                there = offset(lat, lon, metres, bearing)
                assert d.distance_m(here, there) <= 150
                (cell,) = d.home_keys(there, settings)
                assert cell in lookup, (lat, lon, bearing, metres)


def test_keys_a_case_is_written_to_and_a_lookup_reads():
    place = d.Place(*SCHOOL, kelurahan="kel:bendan kergon")
    home = d.home_keys(place, SETTINGS)
    assert home[0].startswith("geo:150:") and home[1] == "kel:bendan kergon"
    nearby = d.nearby_keys(place, SETTINGS)
    assert len(nearby) == 10 and set(home) <= set(nearby)
    assert d.nearby_keys(d.Place(kelurahan="kel:degayu"), SETTINGS) == ["kel:degayu"]
    assert d.home_keys(d.Place(), SETTINGS) == [] == d.nearby_keys(d.Place(), SETTINGS)


def test_a_report_links_to_the_earliest_similar_open_case_nearby():
    first = case("SU-A", at=NOW - timedelta(days=2))
    second = d.OpenCase("SU-B", NOW - timedelta(days=1), "SU-A", d.signature(EN), first.place)
    found = link(fid="SU-C", candidates=[second, first])
    assert found.similar_to == "SU-A" and found.cluster_id == "SU-A"
    assert found.similarity >= SETTINGS.min_similarity
    assert found.distance_m == pytest.approx(40, abs=0.5)


def test_the_cluster_is_the_earliest_cases_cluster():
    joined = d.OpenCase("SU-B", NOW - timedelta(days=1), "SU-X", d.signature(WA), case().place)
    assert link(fid="SU-C", candidates=[joined]).cluster_id == "SU-X"


def test_no_link_to_another_problem_too_far_too_old_or_itself():
    assert link(text=OTHER, candidates=[case()]) is None
    far = d.Place(north(SCHOOL[0], 400), SCHOOL[1], "kel:bendan kergon")
    assert link(place=far, candidates=[case()]) is None
    assert link(candidates=[case(at=NOW - timedelta(days=15))]) is None
    assert link(candidates=[case(at=NOW - timedelta(days=13))]) is not None
    assert link(fid="SU-A", candidates=[case("SU-A")]) is None


def test_without_coordinates_on_either_side_the_kelurahan_decides():
    no_coordinates = d.Place(kelurahan="kel:bendan kergon")
    found = link(place=no_coordinates, candidates=[case()])
    assert found is not None and found.distance_m is None
    assert link(place=d.Place(kelurahan="kel:medono"), candidates=[case()]) is None
    only_kelurahan = case(lat=None, lon=None)
    assert link(candidates=[only_kelurahan]) is not None
    assert link(place=d.Place(*SCHOOL), candidates=[case(lat=None, lon=None)]) is None


def test_the_settings_change_the_decision():
    assert link(candidates=[case()], settings=d.Settings(min_similarity=0.99)) is None
    far = d.Place(north(SCHOOL[0], 400), SCHOOL[1])
    assert link(place=far, candidates=[case()], settings=d.Settings(radius_m=500)) is not None
    old = case(at=NOW - timedelta(days=20))
    assert link(candidates=[old], settings=d.Settings(window_days=30)) is not None


def test_when_no_check_runs():
    data = {"feedback_id": "SU-A", "text": WA, "location": {"kelurahan": "Medono"}}
    assert d.skip_reason(data, SETTINGS) is None
    assert d.skip_reason({**data, "imported": True}, SETTINGS) == "imported"
    assert d.skip_reason({**data, "location": None}, SETTINGS) == "no_location"
    assert d.skip_reason({**data, "location": {"lat": 1.0}}, SETTINGS) == "no_location"
    assert d.skip_reason(data, d.Settings(enabled=False)) == "disabled"


def test_a_check_records_the_link_and_what_the_place_documents_need():
    data = {
        "feedback_id": "SU-B",
        "text": EN,
        "submitted_at": "2026-12-03T08:00:00.000Z",
        "location": {"lat": north(SCHOOL[0], 40), "lon": SCHOOL[1], "kelurahan": "Bendan Kergon"},
    }
    first = {"feedback_id": "SU-A", "text": WA, "submitted_at": "2026-12-02T08:00:00Z"}
    first["location"] = {"lat": SCHOOL[0], "lon": SCHOOL[1], "kelurahan": "Kel. Bendan Kergon"}
    alone = d.check(first, SETTINGS, [], NOW)
    assert alone["cluster_id"] == "SU-A" and alone["similar_to"] is None
    doc = {"_id": alone["home_keys"][0], "cases": {"SU-A": d.entry("SU-A", alone)}}
    record = d.check(data, SETTINGS, [doc], NOW)
    assert (record["similar_to"], record["cluster_id"]) == ("SU-A", "SU-A")
    assert record["submitted_at"] == NOW and record["kelurahan_name"] == "Bendan Kergon"
    assert record["open"] is True and record["checked"] is True
    assert len(record["nearby_keys"]) == 10 and len(record["home_keys"]) == 2


def test_a_submitted_time_that_is_no_time_counts_as_now():
    assert d.submitted("yesterday", NOW) == NOW
    assert d.submitted(None, NOW) == NOW
    assert d.submitted("2026-12-01T00:00:00", NOW) == datetime(2026, 12, 1, tzinfo=UTC)


def test_entries_round_trip_and_broken_ones_are_skipped():
    record = d.check(
        {"feedback_id": "SU-A", "text": WA, "location": {"kelurahan": "Medono"}}, SETTINGS, [], NOW
    )
    item = d.entry("SU-A", record)
    assert d.case_of(item) == d.OpenCase(
        "SU-A", NOW, "SU-A", tuple(record["signature"]), d.Place(None, None, "kel:medono")
    )
    assert d.case_of({"id": "SU-X"}) is None
    docs = [{"cases": {"SU-A": item, "SU-X": {"id": "SU-X"}}}, {"cases": {"SU-A": item}}]
    assert [c.id for c in d.cases_in(docs)] == ["SU-A"]


def test_slots_are_safe_field_names():
    assert d.slot("SU-0123456789") == "SU-0123456789"
    odd = d.slot("a.b$c")
    assert odd.startswith("h") and "." not in odd and "$" not in odd and len(odd) == 33


def test_evictions_drop_old_entries_then_the_oldest_beyond_the_cap():
    cases = {
        "old": {"at": NOW - timedelta(days=20)},
        "broken": {"at": "yesterday"},
        **{f"c{i}": {"at": NOW - timedelta(hours=i)} for i in range(5)},
    }
    assert sorted(d.evictions(cases, "new", NOW, SETTINGS, cap=10)) == ["broken", "old"]
    dropped = d.evictions(cases, "new", NOW, SETTINGS, cap=4)
    assert set(dropped) == {"old", "broken", "c4", "c3"}
    assert "c0" not in d.evictions(cases, "c0", NOW, SETTINGS, cap=1)


def test_a_clusters_members_are_its_first_case_its_joiners_and_its_followers():
    docs = [
        {
            "cases": {
                "SU-A": {"cluster_id": "SU-A"},
                "SU-B": {"cluster_id": "SU-A"},
                "SU-C": {"cluster_id": "SU-C"},  # undone, or a case of its own
                "SU-D": {"cluster_id": "SU-X"},
            }
        }
    ]
    assert d.cluster_members(docs, "SU-A", ["SU-E"]) == ["SU-A", "SU-B", "SU-E"]


def test_settings_come_from_the_environment():
    assert d.Settings.of(config.duplicate_settings({})) == d.Settings()
    env = {
        "SUARA_DUPLICATES": "off",
        "SUARA_DUPLICATE_WINDOW_DAYS": "7",
        "SUARA_DUPLICATE_RADIUS_M": "80.5",
        "SUARA_DUPLICATE_MIN_SIMILARITY": "0.6",
    }
    settings = d.Settings.of(config.duplicate_settings(env))
    assert settings == d.Settings(False, 7.0, 80.5, 0.6)
    assert settings.cell_m == 81
    assert config.load("categorization", env)["DUPLICATES"]["enabled"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUARA_DUPLICATES", "maybe"),
        ("SUARA_DUPLICATE_WINDOW_DAYS", "0"),
        ("SUARA_DUPLICATE_WINDOW_DAYS", "two"),
        ("SUARA_DUPLICATE_RADIUS_M", "0"),
        ("SUARA_DUPLICATE_RADIUS_M", "nan"),
        ("SUARA_DUPLICATE_MIN_SIMILARITY", "1.5"),
        ("SUARA_DUPLICATE_MIN_SIMILARITY", "0"),
    ],
)
def test_a_bad_duplicate_setting_stops_the_service(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.duplicate_settings({name: value})


def test_every_duplicate_setting_is_documented():
    documented = {s.name for s in config.SETTINGS}
    assert {
        "SUARA_DUPLICATES",
        "SUARA_DUPLICATE_WINDOW_DAYS",
        "SUARA_DUPLICATE_RADIUS_M",
        "SUARA_DUPLICATE_MIN_SIMILARITY",
    } <= documented
    assert next(
        s for s in config.SETTINGS if s.name == "SUARA_DUPLICATE_MIN_SIMILARITY"
    ).default == (str(d.Settings().min_similarity))


def test_the_dev_pairs_are_well_formed_and_the_text_decision_scores_on_them():
    rows = [json.loads(line) for line in DEV_PAIRS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 80 and {r["same"] for r in rows} == {True, False}
    hits = [
        (d.probability(d.signature(r["a"]), d.signature(r["b"])) >= SETTINGS.min_similarity)
        == r["same"]
        for r in rows
    ]
    assert sum(hits) / len(hits) >= 0.9


def test_the_training_pairs_are_balanced_and_grouped_by_place():
    rows = [json.loads(line) for line in TRAIN_PAIRS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300 and abs(sum(r["same"] for r in rows) - len(rows) / 2) <= 10
    assert all(r["a"].strip() and r["b"].strip() and r["group"] and r["kelurahan"] for r in rows)
    assert {r["category"] for r in rows} >= {"roads", "water", "waste", "other", "health"}


# the pair scorer

NO_WATER = "Air PDAM di Perum Medono mati tiga hari, tidak keluar sama sekali"
NO_WATER_JV = "pdam perum medono ra mili wis 3 dino"
BROWN_WATER = "Air PDAM di Perum Medono keruh kecoklatan dan bau"
UNCOLLECTED = "Sampah di TPS Krapyak sudah lima hari tidak diangkut"
BURNT = "Ada yang membakar sampah di TPS Krapyak tiap sore, asapnya masuk rumah"
POTHOLE = "Jalan depan Pasar Podosugih berlubang besar, motor jatuh"
RAILING = "Pagar pembatas jembatan dekat Pasar Podosugih retak dan miring"


def p(a: str, b: str) -> float:
    return d.probability(d.signature(a), d.signature(b))


def test_the_same_object_failing_otherwise_is_another_problem():
    threshold = SETTINGS.min_similarity
    assert p(NO_WATER, NO_WATER_JV) >= threshold
    assert p(NO_WATER, BROWN_WATER) < threshold and p(NO_WATER_JV, BROWN_WATER) < threshold
    assert p(UNCOLLECTED, "tps krapyak uwuh numpuk ra diangkut") >= threshold
    assert p(UNCOLLECTED, BURNT) < threshold
    assert p(POTHOLE, "Big pothole in front of Podosugih market, bikes fall in") >= threshold
    assert p(POTHOLE, RAILING) < threshold


def test_pair_features_are_symmetric_and_name_the_kinds_apart():
    a, b = d.signature(NO_WATER), d.signature(BROWN_WATER)
    features = dict(zip(d.FEATURES, d.pair_features(a, b), strict=True))
    assert d.pair_features(a, b) == d.pair_features(b, a)
    assert features["objects"] > 0 and features["states"] == 0 and features["state_clash"] == 1
    assert all(0 <= x <= 1 for x in features.values())
    assert d.pair_features((), ()) == [0.0] * len(d.FEATURES)
    assert 0 <= p("", "") <= 1


def test_negators_and_affixes_reach_the_concepts():
    table = d.concepts()
    assert "~tidak_air" in table["tidak_mili"]
    assert d._paired(["ra", "mili"], table) == ["ra", "mili"]  # normalize makes "ra" "tidak"
    assert d._paired(["not", "running"], table) == ["tidak_running"]
    assert d._paired(["tidak", "diangkut"], table) == ["tidak_angkut"]  # the stem, if need be
    assert "~retak" in d._concepts_of("retakan", table)  # not "reta" after "kan"
    assert d._concepts_of("menyumbat", table) == table["sumbat"]  # meny + sumbat
    assert d._concepts_of("xyzzy", table) == ()


def test_related_states_share_a_family_and_families_are_no_words():
    assert "@outage" in d.families()["~mati"] and "@outage" in d.families()["~gelap"]
    assert not any(name.startswith("@") for names in d.concepts().values() for name in names)
    dead = dict(
        zip(d.FEATURES, d.pair_features(*map(d.signature, ("lampu mati", "gelap"))), strict=True)
    )
    assert dead["states"] == 0 and dead["families"] == 1 and dead["family_clash"] == 0
    other = d.pair_features(*map(d.signature, ("air pdam mati", "air pdam keruh")))
    assert dict(zip(d.FEATURES, other, strict=True))["family_clash"] == 1


def test_rare_words_weigh_more_than_every_report_s_words():
    idf, unseen = d.rarity()
    common = idf[d._hash(d.CONCEPT_KIND, "sampah")]
    assert common < idf.get(d._hash(d.CONCEPT_KIND, "lindi"), unseen) <= unseen


def test_the_scorer_file_is_the_default_threshold_and_a_wrong_one_stops(tmp_path):
    scorer = d.scorer()
    assert scorer.threshold == SETTINGS.min_similarity == d.Settings().min_similarity
    assert len(scorer.weights) == len(d.FEATURES)
    assert d.Scorer.of(scorer.as_dict()) == scorer
    with pytest.raises(ValueError, match="features"):
        d.Scorer.of({**scorer.as_dict(), "features": ["dice"]})
    assert d.Scorer((0.0,) * len(d.FEATURES), -100.0).probability_of([1] * len(d.FEATURES)) == 0


def test_a_pair_is_scored_in_well_under_a_tenth_of_a_millisecond():
    import time

    sigs = [d.signature(t) for t in (NO_WATER, BROWN_WATER, UNCOLLECTED, BURNT, POTHOLE, WA)]
    d.probability(sigs[0], sigs[1])
    started = time.perf_counter()
    for _ in range(50):
        for a in sigs:
            for b in sigs:
                d.probability(a, b)
    assert (time.perf_counter() - started) / (50 * 36) < 1e-4


# learning the scorer (duplicate_fit.py)


def test_cross_validation_scores_each_place_with_a_scorer_that_never_saw_it(monkeypatch):
    from services.categorization import duplicate_fit

    seen: list[set[int]] = []

    def fit(rows, labels, c=1.0):
        seen.append({int(r[0]) for r in rows})
        return d.Scorer((1.0,), 0.0)

    monkeypatch.setattr(duplicate_fit, "fit", fit)
    rows = [[float(i)] for i in range(10)]
    groups = [f"g{i // 2}" for i in range(10)]  # two pairs a place
    out = duplicate_fit.cross_validated(rows, [i % 2 == 0 for i in range(10)], groups, folds=5)
    assert len(seen) == 5 and len(out) == 10
    for trained in seen:
        assert len(trained) == 8
        held_out = set(range(10)) - trained
        assert len({groups[i] for i in held_out}) == 1  # a whole place, nothing of it seen


def test_the_threshold_puts_precision_first():
    from services.categorization import duplicate_fit

    scored = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, False), (0.2, True)]
    threshold, scores = duplicate_fit.best_threshold(scored, min_precision=0.9)
    assert 0.7 < threshold <= 0.8 and scores.precision == 1.0 and scores.recall == 0.5
    loose, _ = duplicate_fit.best_threshold(scored, min_precision=0.5)
    assert loose <= 0.6


def test_a_fitted_scorer_separates_what_it_learned():
    from services.categorization import duplicate_fit

    rows = [[x / 10] for x in range(10)] * 3
    scorer = duplicate_fit.fit(rows, [r[0] >= 0.5 for r in rows], c=10.0)
    assert scorer.probability_of([0.9]) > 0.5 > scorer.probability_of([0.1])


def test_pair_scores():
    scored = [(0.9, True), (0.5, False), (0.2, True), (0.1, False)]
    scores = d.pair_scores(scored, 0.4)
    assert (scores.tp, scores.fp, scores.fn, scores.tn) == (1, 1, 1, 1)
    assert scores.precision == scores.recall == scores.f1 == 0.5
    assert d.pair_scores([(0.1, False)], 0.4).f1 == 0.0


def test_suara_pairs_prints_the_figures_at_the_configured_threshold_and_a_sweep(
    tmp_path, capsys, monkeypatch
):
    from services.categorization import cli

    monkeypatch.setenv("SUARA_DUPLICATE_MIN_SIMILARITY", "0.42")
    pairs = tmp_path / "pairs.jsonl"
    lines = [
        json.dumps({"a": WA, "b": EN, "same": True}),
        json.dumps({"a": WA, "b": OTHER, "same": False}),
        "not json",
        json.dumps({"a": WA, "same": True}),
    ]
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["pairs", str(pairs)]) == 0
    out, err = capsys.readouterr()
    assert "2 pairs (1 same, 1 different)" in out and "MIN_SIMILARITY=0.42" in out
    assert "precision 1.000  recall 1.000  F1 1.000" in out
    assert "0.42" in out and "<- configured" in out and "0.60" in out
    assert "line 3: invalid JSON" in err and "line 4: expected a and b" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert cli.main(["pairs", str(empty)]) == 2


def test_suara_pairs_names_the_failures_by_note(tmp_path, capsys):
    from services.categorization import cli

    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"a": NO_WATER, "b": BROWN_WATER, "same": True, "note": "murky is no water here"},
        {"a": UNCOLLECTED, "b": BURNT, "same": False, "note": "burnt"},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli.main(["pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("murky is no water here"))
    assert line.split()[-3:] == ["1", "1", "0"]


def test_suara_pairs_fit_cross_validates_and_writes_a_scorer(tmp_path, capsys):
    from services.categorization import cli

    output = tmp_path / "scorer.json"
    assert cli.main(["pairs", "--fit", str(TRAIN_PAIRS), "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "5-fold CV by place" in out and "<- configured" in out
    written = d.Scorer.of(json.loads(output.read_text(encoding="utf-8")))
    assert 0.05 <= written.threshold <= 0.95 and written.trained_on == str(TRAIN_PAIRS)


@pytest.mark.parametrize(
    ("text", "over"),
    [
        ("Lubang depan SD 1 sudah ditambal bulan lalu, terima kasih", True),
        ("lampu PJU gang 3 wis didandani, saiki nyala", True),
        ("The streetlight by the mosque was already fixed, thanks", True),
        ("Banjir tahun lalu sampai lutut di gang ini", True),
        ("lubang besar depan SD 1, motor sering jatuh", False),
        ("sudah diperbaiki tapi bocor lagi", False),  # reopened
        ("air PDAM sudah tidak mengalir tiga hari", False),  # "no longer" is not "over"
        ("genangan di gang ini sejak tahun lalu tidak surut", False),  # since: it goes on
    ],
)
def test_a_report_says_its_problem_is_over(text, over):
    assert d.settled(d._tokens(text)) is over
    assert (d._hash(d.STATE_KIND, d.SETTLED) in d.signature(text)) is over


def test_a_fixed_problem_is_no_voice_of_the_same_problem_now():
    now = d.signature("Lubang besar di jalan depan SD Kuripan Kidul, anak sering jatuh")
    fixed = d.signature("Lubang depan SD Kuripan Kidul sudah ditambal bulan lalu, terima kasih")
    again = d.signature("jalan depan SD Kuripan Kidul bolong gede, anak-anak hampir jatuh")
    named = dict(zip(d.FEATURES, d.pair_features(now, fixed), strict=True))
    assert named["settled_clash"] == 1 and named["states"] > 0  # the mark is no shared state
    assert dict(zip(d.FEATURES, d.pair_features(now, again), strict=True))["settled_clash"] == 0
    scorer = d.scorer()
    assert scorer.probability(now, fixed) < scorer.threshold <= scorer.probability(now, again)
