"""Training the category model and its urgency head.

Training is deterministic: the same examples, urgency labels, hyperparameters, seed, language
data files and scikit-learn version give the same model and the same `version`
(`serialisation.fingerprint`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from services.categorization.classifier import DEFAULT_HYPERPARAMETERS, Hyperparameters, Model
from services.categorization.estimators import KeywordCounts
from services.categorization.features import model_text
from services.categorization.normalize import normalize
from services.categorization.serialisation import fingerprint
from services.categorization.taxonomy import CATEGORY_IDS, is_category

URGENCY_MIN_POSITIVES = 10


class TrainingError(ValueError):
    pass


def build_pipeline(params: Hyperparameters, seed: int) -> Any:
    """The unfitted pipeline: the feature union (word and char TF-IDF, keyword counts) and
    the estimator of `params`."""
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=params.word_ngrams,
                    min_df=params.word_min_df,
                    max_features=params.word_max_features,
                    sublinear_tf=params.sublinear_tf,
                    lowercase=False,
                    dtype=np.float32,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=params.char_ngrams,
                    min_df=params.char_min_df,
                    max_features=params.char_max_features,
                    sublinear_tf=params.sublinear_tf,
                    lowercase=False,
                    dtype=np.float32,
                ),
            ),
            ("keywords", KeywordCounts()),
        ],
        transformer_weights={
            "word": 1.0,
            "char": params.char_weight,
            "keywords": params.keyword_weight,
        },
    )
    if params.estimator == "logreg":
        model: Any = LogisticRegression(C=params.C, max_iter=2000, random_state=seed)
    elif params.estimator == "svm":
        model = CalibratedClassifierCV(
            LinearSVC(C=params.C, random_state=seed),
            method=params.calibration,
            cv=StratifiedKFold(params.calibration_folds, shuffle=True, random_state=seed),
            ensemble=False,
        )
    else:
        raise ValueError(f"unknown estimator {params.estimator!r}")
    return Pipeline([("features", features), ("model", model)])


def _shrink(pipeline: Any) -> None:
    """Drop what prediction does not need and store weights as float32 (half the bytes)."""
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_
    model = pipeline.named_steps["model"]
    linear = [model]
    if hasattr(model, "calibrated_classifiers_"):
        linear = [c.estimator for c in model.calibrated_classifiers_]
    for estimator in linear:
        estimator.coef_ = np.ascontiguousarray(estimator.coef_, dtype=np.float32)


def train(
    examples: Iterable[tuple[str, str]],
    *,
    urgent: Iterable[tuple[str, bool]] | None = None,
    seed: int = 0,
    hyperparameters: Hyperparameters = DEFAULT_HYPERPARAMETERS,
    trained_at: datetime | None = None,
) -> Model:
    """Fit a model on (text, category) pairs. Duplicates (same normalised text and category)
    count once; every category of the taxonomy needs at least two examples. ``urgent``
    ((text, is it urgent) pairs, the corpus's labels) also fits the urgency head on the same
    features (``URGENCY_MIN_POSITIVES`` urgent texts at least, else no head)."""
    pairs: dict[tuple[str, str], None] = {}
    for text, category in examples:
        if not is_category(category):
            raise TrainingError(f"unknown category {category!r}")
        normalized = normalize(text)
        if normalized:
            pairs[(normalized, category)] = None
    data = sorted(pairs)
    counts = {c: 0 for c in CATEGORY_IDS}
    for _, category in data:
        counts[category] += 1
    missing = [c for c, n in counts.items() if n < 2]
    if missing:
        raise TrainingError(f"need at least 2 examples per category; too few for {missing}")

    pipeline = build_pipeline(hyperparameters, seed)
    english = hyperparameters.english
    pipeline.fit(
        [model_text(text, english) for text, _ in data], [category for _, category in data]
    )
    labels = _urgency_labels(urgent or ())
    head = _fit_urgency(pipeline, labels, english, seed) if labels else None
    _shrink(pipeline)
    trained_at = trained_at or datetime.now(UTC)
    version = fingerprint(data, hyperparameters, seed, sklearn.__version__, labels)
    return Model(
        pipeline,
        version=f"{trained_at:%Y.%m.%d}-{version}",
        trained_at=trained_at,
        hyperparameters=hyperparameters,
        training_size=len(data),
        urgency=head,
    )


def _urgency_labels(urgent: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """(normalised text, urgent) once per text (urgent if any copy is), sorted; none when too
    few urgent texts to learn from."""
    labels: dict[str, bool] = {}
    for text, is_urgent in urgent:
        normalized = normalize(text)
        if normalized:
            labels[normalized] = labels.get(normalized, False) or bool(is_urgent)
    if sum(labels.values()) < URGENCY_MIN_POSITIVES or all(labels.values()):
        return []
    return sorted(labels.items())


def _fit_urgency(pipeline: Any, labels: list[tuple[str, bool]], english: str, seed: int) -> Any:
    """A logistic regression on the category model's own features, calibrated (Platt, on 5
    folds' held-out predictions): its probability means what it says."""
    features = pipeline.named_steps["features"].transform(
        [model_text(text, english) for text, _ in labels]
    )
    head = CalibratedClassifierCV(
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000, random_state=seed),
        cv=5,
        method="sigmoid",
        ensemble=False,  # one regression (on all texts), its sigmoid from the 5 folds: one dot
    )
    head.fit(features, [u for _, u in labels])
    for calibrated in head.calibrated_classifiers_:
        calibrated.estimator.coef_ = np.ascontiguousarray(
            calibrated.estimator.coef_, dtype=np.float32
        )
    return head
