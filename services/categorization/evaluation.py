"""Evaluation of a category model on labelled examples: per-class scores and confusions,
how well its confidence is calibrated (expected calibration error and a reliability table),
and the scores of each slice (language, text style), so that weak slices show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from services.categorization.classifier import Model
from services.categorization.taxonomy import CATEGORY_IDS, SHORT_LABELS


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    examples: int
    confidence: float  # the mean confidence of the bin's predictions
    accuracy: float  # the share of them that were right


@dataclass(frozen=True)
class Calibration:
    ece: float  # expected calibration error: sum of |accuracy - confidence| weighted by size
    bins: list[ReliabilityBin]


@dataclass(frozen=True)
class SliceScores:
    examples: int
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class UrgencyScores:
    examples: int
    urgent: int  # labelled urgent
    flagged: int  # flagged urgent
    precision: float
    recall: float


@dataclass(frozen=True)
class ReviewPoint:
    """What a review threshold does: the share of feedback sent to staff, and how often the
    rest (routed without review) lands in the right category."""

    threshold: float
    review_share: float
    routed_accuracy: float


@dataclass(frozen=True)
class Report:
    model_version: str
    examples: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    labels: list[str]
    # confusion[i][j]: examples of labels[i] predicted as labels[j]
    confusion: list[list[int]]
    calibration: Calibration | None = None
    # {"language": {"id": scores, ...}, "style": {"short": scores, ...}}
    slices: dict[str, dict[str, SliceScores]] | None = None
    # the urgent flag against the labels: all, then by language ({"all": ..., "id": ...})
    urgency: dict[str, UrgencyScores] | None = None
    # the review threshold's trade-off at a few thresholds (from the same confidences)
    review: list[ReviewPoint] | None = None

    @property
    def min_class(self) -> tuple[str, float]:
        """The weakest class with support, and its F1."""
        scored = [(label, s.f1) for label, s in self.per_class.items() if s.support]
        return min(scored, key=lambda item: item[1]) if scored else ("", 0.0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (stored as `Model.metrics`)."""
        data = asdict(self)
        data["min_class"] = {"category": self.min_class[0], "f1": self.min_class[1]}
        return data


SHORT_CHARS = 60  # an SMS-like text
LONG_CHARS = 300  # a long, often many-topic complaint


def text_style(text: str) -> str:
    """A text's style for slicing: short (SMS-like), long, or plain."""
    n = len(text.strip())
    return "short" if n <= SHORT_CHARS else "long" if n >= LONG_CHARS else "plain"


def calibration(confidences: list[float], correct: list[bool], bins: int = 10) -> Calibration:
    """Expected calibration error over ``bins`` equal-width confidence bins, and the table."""
    if not confidences:
        return Calibration(ece=0.0, bins=[])
    rows, ece, total = [], 0.0, len(confidences)
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        members = [
            i for i, c in enumerate(confidences) if (low < c <= high) or (k == 0 and c == 0.0)
        ]
        if not members:
            continue
        confidence = sum(confidences[i] for i in members) / len(members)
        accuracy = sum(1 for i in members if correct[i]) / len(members)
        ece += len(members) / total * abs(accuracy - confidence)
        rows.append(
            ReliabilityBin(
                round(low, 2),
                round(high, 2),
                len(members),
                round(confidence, 4),
                round(accuracy, 4),
            )
        )
    return Calibration(ece=round(ece, 4), bins=rows)


REVIEW_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def review_points(
    confidences: list[float], correct: list[bool], thresholds=REVIEW_THRESHOLDS
) -> list[ReviewPoint]:
    """For each threshold: the share below it (to review) and the accuracy above it."""
    points = []
    for threshold in thresholds:
        routed = [ok for c, ok in zip(confidences, correct, strict=True) if c >= threshold]
        points.append(
            ReviewPoint(
                threshold,
                round(1 - len(routed) / len(confidences), 4) if confidences else 0.0,
                round(sum(routed) / len(routed), 4) if routed else 1.0,
            )
        )
    return points


def _macro_f1(truth: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    present = sorted(set(truth))
    return float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0))


def slice_scores(truth: list[str], predicted: list[str], keys: list[str]) -> dict[str, SliceScores]:
    """Accuracy and macro-F1 of each value of ``keys`` (one per example)."""
    found: dict[str, SliceScores] = {}
    for key in sorted(set(keys)):
        idx = [i for i, k in enumerate(keys) if k == key]
        t, p = [truth[i] for i in idx], [predicted[i] for i in idx]
        found[key] = SliceScores(
            examples=len(idx),
            accuracy=round(sum(a == b for a, b in zip(t, p, strict=True)) / len(idx), 4),
            macro_f1=round(_macro_f1(t, p), 4),
        )
    return found


def _urgent_flags(model: Model, texts: list[str]) -> list[bool]:
    """The urgent flag triage raises (services/categorization/triage.py: the rules, then the
    model's urgency head)."""
    from services.categorization import triage

    return [d.priority == "urgent" for d in triage.decide_many(texts, model)]


def urgency_scores(
    truth: list[bool], flagged: list[bool], languages: list[str] | None = None
) -> dict[str, UrgencyScores]:
    """Precision and recall of the urgent flag, over all examples and per language."""
    groups = {"all": list(range(len(truth)))}
    for i, language in enumerate(languages or []):
        groups.setdefault(language, []).append(i)
    found = {}
    for name, idx in groups.items():
        hits = sum(1 for i in idx if truth[i] and flagged[i])
        urgent = sum(1 for i in idx if truth[i])
        raised = sum(1 for i in idx if flagged[i])
        found[name] = UrgencyScores(
            examples=len(idx),
            urgent=urgent,
            flagged=raised,
            precision=round(hits / raised, 4) if raised else 1.0,
            recall=round(hits / urgent, 4) if urgent else 1.0,
        )
    return found


def evaluate(
    model: Model,
    examples: Iterable[tuple[str, str]],
    languages: list[str] | None = None,
    urgent: list[bool] | None = None,
    styles: list[str | None] | None = None,
) -> Report:
    """Scores of ``model`` on ``examples``; ``languages``, one per example (the corpus's
    ``lang``), adds the per-language slices beside the per-style ones; ``urgent`` (the
    labels) adds the precision and recall of the urgent flag triage raises; ``styles``
    (labelled styles, None where a line has none) replaces the style guessed from the length
    (`text_style`)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    pairs = list(examples)
    if not pairs:
        raise ValueError("no examples to evaluate on")
    texts = [text for text, _ in pairs]
    truth = [category for _, category in pairs]
    predictions = model.predict(texts)
    predicted = [p.category for p in predictions]
    confidences = [float(p.confidence) for p in predictions]
    correct = [a == b for a, b in zip(predicted, truth, strict=True)]
    style_keys = [
        (styles[i] if styles and styles[i] else text_style(t)) for i, t in enumerate(texts)
    ]
    labels = list(CATEGORY_IDS)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    present = [i for i, n in enumerate(support) if n > 0]
    per_class = {
        label: ClassScores(
            precision=round(float(precision[i]), 4),
            recall=round(float(recall[i]), 4),
            f1=round(float(f1[i]), 4),
            support=int(support[i]),
        )
        for i, label in enumerate(labels)
    }
    macro_f1 = sum(float(f1[i]) for i in present) / len(present)
    return Report(
        model_version=model.version,
        examples=len(pairs),
        accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(macro_f1, 4),
        per_class=per_class,
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
        calibration=calibration(confidences, correct),
        slices={
            **({"language": slice_scores(truth, predicted, languages)} if languages else {}),
            "style": slice_scores(truth, predicted, style_keys),
        },
        review=review_points(confidences, correct),
        urgency=(
            urgency_scores(urgent, _urgent_flags(model, texts), languages)
            if urgent is not None
            else None
        ),
    )


def evaluate_records(model: Model, records) -> Report:
    """``evaluate`` on corpus records (services/categorization/corpus.py): their categories,
    and their languages and urgent labels for the slices and the urgent flag."""
    return evaluate(
        model,
        [record.example for record in records],
        [record.lang for record in records],
        [record.urgent for record in records],
        [record.style for record in records],
    )


def format_report(report: Report) -> str:
    """A readable table of per-class scores, the totals, and the confusion matrix."""
    width = max(len(label) for label in report.labels)
    lines = [
        f"model {report.model_version} on {report.examples} examples",
        "",
        f"{'category':<{width}}  precision  recall     f1  support",
    ]
    for label in report.labels:
        s = report.per_class[label]
        lines.append(
            f"{label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    weakest, weakest_f1 = report.min_class
    lines += [
        "",
        f"accuracy  {report.accuracy:.3f}",
        f"macro-F1  {report.macro_f1:.3f}",
        f"min F1    {weakest_f1:.3f} ({weakest})",
        "",
        "confusion matrix (rows: true, columns: predicted)",
    ]
    tail = (
        _calibration_lines(report)
        + _review_lines(report)
        + _slice_lines(report)
        + _urgency_lines(report)
    )
    short = [SHORT_LABELS.get(label, label[:6]) for label in report.labels]
    cell = max(max(len(s) for s in short), 4)
    lines.append(" " * (cell + 1) + " ".join(f"{s:>{cell}}" for s in short))
    for name, row in zip(short, report.confusion, strict=True):
        cells = " ".join(f"{n:>{cell}}" if n else f"{'.':>{cell}}" for n in row)
        lines.append(f"{name:>{cell}} {cells}")
    return "\n".join(lines + tail)


def _calibration_lines(report: Report) -> list[str]:
    if report.calibration is None:
        return []
    lines = [
        "",
        f"calibration: expected calibration error {report.calibration.ece:.3f}",
        "confidence      n  mean conf  accuracy",
    ]
    for b in report.calibration.bins:
        lines.append(
            f"{b.low:.1f}-{b.high:.1f}  {b.examples:6d}  {b.confidence:9.3f}  {b.accuracy:8.3f}"
        )
    return lines


def _review_lines(report: Report) -> list[str]:
    if not report.review:
        return []
    lines = ["", "review threshold", "threshold  to review  routed accuracy"]
    for p in report.review:
        lines.append(f"{p.threshold:9.2f}  {p.review_share:9.3f}  {p.routed_accuracy:15.3f}")
    return lines


def _urgency_lines(report: Report) -> list[str]:
    if not report.urgency:
        return []
    lines = ["", "urgent flag", "language    examples  urgent  flagged  precision  recall"]
    for key, u in report.urgency.items():
        lines.append(
            f"{key:<10}  {u.examples:8d}  {u.urgent:6d}  {u.flagged:7d}  {u.precision:9.3f}"
            f"  {u.recall:6.3f}"
        )
    return lines


def _slice_lines(report: Report) -> list[str]:
    lines = []
    for kind, scores in (report.slices or {}).items():
        lines += ["", f"by {kind}", f"{kind:<10}  examples  accuracy  macro-F1"]
        for key, s in scores.items():
            lines.append(f"{key:<10}  {s.examples:8d}  {s.accuracy:8.3f}  {s.macro_f1:8.3f}")
    return lines
