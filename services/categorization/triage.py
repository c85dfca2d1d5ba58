"""Triage of one feedback text: category, department, priority and whether staff must review.

Pure logic: text in, `Decision` out. Combines normalisation, language detection, the category
model and the urgency rules. `decide_many` is the batched form (one model call per batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from services.categorization import language, normalize, urgency
from services.categorization.classifier import Model
from services.categorization.taxonomy import FALLBACK_CATEGORY
from services.categorization.taxonomy import departments as default_departments

# Below this calibrated confidence a decision goes to staff (SUARA_REVIEW_THRESHOLD overrides):
# the lowest bin edge of `suara eval`'s reliability table on the held-out split from which
# every bin's decisions are right more often than wrong (issue 15: 0.5-0.6 right 76 % of the
# time, 0.6-0.7 63 %, 0.7-0.8 76 %; 0.4-0.5 44 %, below that 46-57 % on a few texts); 5.9 % of
# the feedback goes to review and 91 % of the rest is routed right.
DEFAULT_REVIEW_THRESHOLD = 0.5
# Confidence reported when the text has no usable words (emoji, punctuation, other scripts).
NO_TEXT_CONFIDENCE = 0.0


class InvalidText(ValueError):
    """The feedback text cannot be triaged at all (not a string, or nothing but whitespace)."""


@dataclass(frozen=True)
class Decision:
    category: str
    confidence: float
    department: str
    priority: urgency.Priority
    urgency_reasons: list[str]
    language: language.Language
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    needs_review: bool = False
    model_version: str = ""
    # "model": the classifier decided; "fallback": no usable words, so "other" for staff.
    method: str = "model"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_text(text: object) -> str:
    """The text itself, or InvalidText saying why it cannot be triaged."""
    if not isinstance(text, str):
        raise InvalidText(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidText("text is empty or whitespace only")
    return text


# The urgency head's probability from which a text is urgent when no rule fired, unless the
# text says the danger is none or over or tells of the past (urgency.no_present_danger).
# Precision first (a false alarm teaches a duty officer to ignore the flag): the lowest
# threshold at which rules + head reach precision 0.95 on both development sets, the corpus's
# held-out split and hard/urgency.jsonl (issue 15: at 0.8, 0.94 and 1.00, recall 0.95 and
# 1.00; at 0.9, 0.95 and 1.00, recall 0.87 and 0.97). hard/triage.jsonl, written apart from
# both and never tuned on, gives the figures reported (services/categorization/corpus/README.md).
URGENCY_THRESHOLD = 0.9
MODEL_REASON = "model"  # the reason an urgent flag from the head gives


def decide_many(
    texts: Sequence[str],
    model: Model,
    *,
    departments: Mapping[str, str] | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> list[Decision]:
    """One Decision per text, in order. Raises InvalidText (naming the index) if any text is
    invalid: validate first with `validate_text` to skip bad items instead."""
    for index, text in enumerate(texts):
        try:
            validate_text(text)
        except InvalidText as exc:
            raise InvalidText(f"text #{index}: {exc}") from None
    depts = {**default_departments(), **(departments or {})}

    cleaned = [normalize.clean(text) for text in texts]
    normalized = [normalize.normalize_cleaned(c) for c in cleaned]
    usable = [i for i, n in enumerate(normalized) if normalize.has_letters(n)]
    languages = language.detect_many_cleaned(cleaned)
    predictions = dict(
        zip(usable, model.predict_normalized([normalized[i] for i in usable]), strict=True)
    )

    decisions: list[Decision] = []
    for i, norm in enumerate(normalized):
        urgent = urgency.assess_normalized(norm, texts[i])
        prediction = predictions.get(i)
        if (
            not urgent.urgent
            and prediction is not None
            and prediction.urgency is not None
            and prediction.urgency >= URGENCY_THRESHOLD
            and not urgency.no_present_danger(norm)
        ):  # present danger in words the rules do not know (and not said to be over)
            urgent = urgency.Urgency("urgent", [MODEL_REASON])
        if prediction is None:
            category, confidence, alternatives, method = (
                FALLBACK_CATEGORY,
                NO_TEXT_CONFIDENCE,
                [],
                "fallback",
            )
        else:
            category, confidence, alternatives, method = (
                prediction.category,
                prediction.confidence,
                prediction.alternatives,
                "model",
            )
        decisions.append(
            Decision(
                category=category,
                confidence=confidence,
                department=depts[category],
                priority=urgent.priority,
                urgency_reasons=urgent.reasons,
                language=languages[i],
                alternatives=alternatives,
                needs_review=method == "fallback" or confidence < review_threshold,
                model_version=model.version,
                method=method,
            )
        )
    return decisions


def decide(
    text: str,
    model: Model,
    *,
    departments: Mapping[str, str] | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> Decision:
    """Triage one text. Raises InvalidText for a non-string or whitespace-only text."""
    validate_text(text)
    return decide_many([text], model, departments=departments, review_threshold=review_threshold)[0]


def warm_up(model: Model) -> None:
    """Load what the first decision would otherwise load (the language model, ~0.4 s), e.g.
    in a service's setup rather than inside its first request."""
    decide_many(["jalan rusak"], model)
