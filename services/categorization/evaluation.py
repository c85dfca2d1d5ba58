"""Evaluation of a category model on labelled examples: per-class scores and confusions."""

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
class Report:
    model_version: str
    examples: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    labels: list[str]
    # confusion[i][j]: examples of labels[i] predicted as labels[j]
    confusion: list[list[int]]

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


def evaluate(model: Model, examples: Iterable[tuple[str, str]]) -> Report:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    pairs = list(examples)
    if not pairs:
        raise ValueError("no examples to evaluate on")
    texts = [text for text, _ in pairs]
    truth = [category for _, category in pairs]
    predicted = [p.category for p in model.predict(texts)]
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
    short = [SHORT_LABELS.get(label, label[:6]) for label in report.labels]
    cell = max(max(len(s) for s in short), 4)
    lines.append(" " * (cell + 1) + " ".join(f"{s:>{cell}}" for s in short))
    for name, row in zip(short, report.confusion, strict=True):
        cells = " ".join(f"{n:>{cell}}" if n else f"{'.':>{cell}}" for n in row)
        lines.append(f"{name:>{cell}} {cells}")
    return "\n".join(lines)
