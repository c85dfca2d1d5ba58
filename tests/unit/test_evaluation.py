"""`suara eval`'s calibration and slices, as pure logic (issue 15: confidence that means
something, weak slices that show)."""

import pytest

from services.categorization import corpus
from services.categorization.cli import load_model
from services.categorization.evaluation import (
    calibration,
    evaluate,
    format_report,
    slice_scores,
    text_style,
)


def test_a_perfectly_calibrated_model_has_no_calibration_error():
    confidences = [0.9] * 10 + [0.6] * 10
    correct = [True] * 9 + [False] + [True] * 6 + [False] * 4
    result = calibration(confidences, correct)
    assert result.ece == pytest.approx(0.0)
    assert [(b.low, b.examples, b.accuracy) for b in result.bins] == [
        (0.5, 10, 0.6),
        (0.8, 10, 0.9),
    ]


def test_an_overconfident_model_shows_its_gap():
    result = calibration([0.95] * 10, [True] * 5 + [False] * 5)
    assert result.ece == pytest.approx(0.45)
    assert calibration([], []).ece == 0.0


def test_styles_and_slices():
    assert text_style("jln rusak pak") == "short"
    assert text_style("x" * 400) == "long"
    assert (
        text_style("Jalan di depan pasar berlubang besar sejak minggu lalu, motor sering jatuh")
        == "plain"
    )
    scores = slice_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["en", "en", "id", "id"])
    assert scores["en"].accuracy == 0.5 and scores["id"].accuracy == 1.0
    assert scores["id"].examples == 2


def test_eval_reports_calibration_and_slices_on_the_heldout_split():
    records = corpus.heldout_records()
    report = evaluate(load_model(None), [r.example for r in records], [r.lang for r in records])
    assert report.calibration is not None and 0 <= report.calibration.ece <= 1
    assert sum(b.examples for b in report.calibration.bins) == len(records)
    assert set(report.slices["language"]) >= {"id", "en", "jv"}
    text = format_report(report)
    assert "expected calibration error" in text and "by language" in text
    assert "calibration" in report.as_dict()


def test_urgency_precision_and_recall_overall_and_by_language():
    from services.categorization.evaluation import urgency_scores

    truth = [True, True, False, False, True]
    flagged = [True, False, True, False, True]
    scores = urgency_scores(truth, flagged, ["id", "id", "en", "en", "en"])
    assert (scores["all"].precision, scores["all"].recall) == (0.6667, 0.6667)
    assert (scores["id"].precision, scores["id"].recall) == (1.0, 0.5)
    assert (scores["en"].precision, scores["en"].recall) == (0.5, 1.0)
    assert urgency_scores([False], [False])["all"].precision == 1.0  # nothing raised


@pytest.mark.parametrize(
    ("name", "lines", "urgent"), [("urgency.jsonl", 60, 30), ("triage.jsonl", 469, 140)]
)
def test_the_hard_sets_are_never_trained_on(name, lines, urgent):
    from pathlib import Path

    hard, problems = corpus.read_file(Path(corpus.__file__).parent / "corpus/hard" / name)
    assert problems == [] and len(hard) == lines and sum(r.urgent for r in hard) == urgent
    known = {corpus.dedupe_key(r.text) for r in corpus.load()}
    assert not [r.text for r in hard if corpus.dedupe_key(r.text) in known]


def test_the_hard_triage_set_labels_every_style():
    from pathlib import Path

    hard, _ = corpus.read_file(Path(corpus.__file__).parent / "corpus/hard/triage.jsonl")
    assert {r.style for r in hard} == set(corpus.STYLES)
    assert {r.lang for r in hard} == set(corpus.LANGS)


def test_review_points_trade_the_review_share_for_routed_accuracy():
    from services.categorization.evaluation import review_points

    confidences = [0.95, 0.9, 0.85, 0.65, 0.55, 0.45, 0.35, 0.3]
    correct = [True, True, True, True, False, True, False, False]
    points = {p.threshold: p for p in review_points(confidences, correct, (0.3, 0.5, 0.8))}
    assert (points[0.3].review_share, points[0.3].routed_accuracy) == (0.0, 0.625)
    assert (points[0.5].review_share, points[0.5].routed_accuracy) == (0.375, 0.8)
    assert (points[0.8].review_share, points[0.8].routed_accuracy) == (0.625, 1.0)
    assert review_points([], []) and review_points([], [])[0].routed_accuracy == 1.0


def test_labelled_styles_replace_the_style_guessed_from_the_length():
    line = '{"text": "jln rusak parah", "category": "roads", "style": "sms"}'
    record = corpus.parse_line(line)
    assert record.style == "sms" and corpus.parse_line(line.replace('"sms"', "null")).style is None
    with pytest.raises(corpus.CorpusError, match="unknown style"):
        corpus.parse_line(line.replace('"sms"', '"poem"'))
    report = evaluate(
        load_model(None),
        [("jln rusak parah", "roads"), ("Lampu jalan mati di Jl. Merdeka", "streetlights")],
        styles=["indirect", None],
    )
    assert set(report.slices["style"]) == {"indirect", "short"}
    assert "review threshold" in format_report(report)


# Regression guards on the independent hard sets (issue 15): figures below what they give
# today (urgency 0.954 / 0.886, pair F1 0.773), so a change that makes triage or "me too"
# worse on texts nobody tuned on fails here. Nothing is chosen from these files.
def test_the_urgent_flag_on_the_hard_test_set_does_not_regress():
    from pathlib import Path

    from services.categorization import triage

    hard, _ = corpus.read_file(Path(corpus.__file__).parent / "corpus/hard/triage.jsonl")
    decisions = triage.decide_many([r.text for r in hard], load_model(None))
    flagged = [d.priority == "urgent" for d in decisions]
    hits = sum(f and r.urgent for f, r in zip(flagged, hard, strict=True))
    assert hits / sum(flagged) >= 0.94
    assert hits / sum(r.urgent for r in hard) >= 0.86


def test_me_too_on_the_hard_pairs_does_not_regress():
    from pathlib import Path

    from services.categorization import cli, duplicates
    from shared import config

    pairs = cli.read_pairs(Path(corpus.__file__).parent / "corpus/hard/pairs.jsonl")
    assert len(pairs) == 301
    scored = [
        (
            duplicates.probability(duplicates.signature(p["a"]), duplicates.signature(p["b"])),
            p["same"],
        )
        for p in pairs
    ]
    threshold = config.duplicate_settings({})["min_similarity"]
    assert duplicates.pair_scores(scored, threshold).f1 >= 0.75
