"""The category model: TF-IDF over word and character n-grams, and a calibrated linear model.

Features are computed on the model text (`features.model_text`: normalised, English domain
words in Indonesian):
- word 1-2-grams catch phrases ("lampu jalan", "air masuk");
- char_wb 2-5-grams catch typos, affixes and Javanese forms the slang dictionary does not know
  ("dalane", "bolongan", "sampahe");
- per category, the number of its typical words (`features.KeywordCounts`): a prior for words
  the corpus has few examples of.
A LinearSVC (C=1) with temperature-scaled probabilities (cross-validated, so the top category
is the SVM's own) turns them into a category and a confidence. Hyperparameters were chosen by
5-fold cross-validation on the training split.

The concerns live in their own modules: `features` (what the model looks at),
`fast_features` and `predictor` (the speed path of prediction, without scikit-learn), `training`
(`train`, the pipeline, the urgency head) and `serialisation` (bytes, files, the version
fingerprint). This one holds the trained `Model` and what it predicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from services.categorization.features import model_text
from services.categorization.normalize import normalize
from services.categorization.predictor import Predictor

TOP_K = 3


def __getattr__(name: str) -> Any:
    # models pickled before the split name `classifier.KeywordCounts`: features' own
    if name == "KeywordCounts":
        from services.categorization import features as module

        return module.KeywordCounts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Hyperparameters:
    word_ngrams: tuple[int, int] = (1, 2)
    word_min_df: int = 1
    word_max_features: int = 40_000
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    char_max_features: int = 80_000
    sublinear_tf: bool = True
    char_weight: float = 1.0
    estimator: str = "svm"  # "svm" (LinearSVC, calibrated) | "logreg"
    C: float = 1.0
    calibration: str = "temperature"  # keeps the SVM's ranking; "sigmoid" | "isotonic"
    calibration_folds: int = 5
    english: str = "replace"  # English domain words -> Indonesian: "replace" | "keep" | "off"
    keyword_weight: float = 0.25  # weight of the taxonomy's keyword counts (0: unused)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_HYPERPARAMETERS = Hyperparameters()


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float
    # The TOP_K most likely categories, best first (the first one is `category`).
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    # the urgency head's calibrated probability that the text describes present danger
    # (None: a model trained without urgency labels); triage adds the rules (triage.py)
    urgency: float | None = None


class Model:
    """A trained category model. Build one with `training.train`, `serialisation.from_bytes`
    or `serialisation.load`.

    It predicts with its `Predictor` (plain arrays: no scikit-learn) when it has one, and with
    the scikit-learn pipeline otherwise or when `fast` is False; a loaded model unpickles its
    pipeline only then (`estimators`: a callable that returns the pipeline and the urgency
    head)."""

    def __init__(
        self,
        pipeline: Any = None,
        *,
        version: str,
        trained_at: datetime,
        hyperparameters: Hyperparameters,
        training_size: int,
        metrics: dict[str, Any] | None = None,
        urgency: Any = None,
        predictor: Predictor | None = None,
        estimators: Callable[[], tuple[Any, Any]] | None = None,
    ) -> None:
        if pipeline is None and (predictor is None or estimators is None):
            raise ValueError("a model needs its pipeline, or a predictor and its estimators")
        self._estimators: tuple[Any, Any] | None = (
            (pipeline, urgency) if pipeline is not None else None
        )
        self._load_estimators = estimators
        self.predictor = (
            predictor if predictor is not None else Predictor.of_pipeline(pipeline, urgency)
        )
        self._has_urgency = (
            urgency is not None
            if pipeline is not None
            else self.predictor is not None and self.predictor.urgency is not None
        )
        self.version = version
        self.trained_at = trained_at
        self.hyperparameters = hyperparameters
        self.training_size = training_size
        self.metrics: dict[str, Any] = metrics or {}
        classes = self.predictor.classes if self.predictor is not None else pipeline.classes_
        self._classes = np.array(classes)
        # False: scikit-learn's own transform and heads (the reference the speed path is
        # tested against)
        self.fast = True

    def _fitted(self) -> tuple[Any, Any]:
        if self._estimators is None:
            assert self._load_estimators is not None
            self._estimators = self._load_estimators()
        return self._estimators

    @property
    def pipeline(self) -> Any:
        """The fitted scikit-learn pipeline (unpickled on first use for a loaded model)."""
        return self._fitted()[0]

    @property
    def urgency_head(self) -> Any:
        """The fitted urgency head (a calibrated logistic regression), or None."""
        return self._fitted()[1]

    @property
    def _speed(self) -> Predictor | None:
        return self.predictor if self.fast else None

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, training_size={self.training_size})"

    @property
    def categories(self) -> list[str]:
        return [str(c) for c in self._classes]

    @property
    def has_urgency(self) -> bool:
        return self._has_urgency

    def features_of(self, normalized: Sequence[str]) -> sp.csr_matrix:
        """The feature matrix of normalised texts (the fast path unless `fast` is False)."""
        english = self.hyperparameters.english
        texts = [model_text(text, english) for text in normalized]
        speed = self._speed
        if speed is not None:
            return speed.features.transform(texts)
        return self.pipeline.named_steps["features"].transform(texts)

    def _probabilities_of(self, features: sp.csr_matrix) -> np.ndarray:
        speed = self._speed
        if speed is not None:
            return speed.probabilities(features)
        return self.pipeline.named_steps["model"].predict_proba(features)

    def probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns in `categories` order) for normalised texts."""
        return self._probabilities_of(self.features_of(normalized))

    def urgency_probabilities(self, features: sp.csr_matrix) -> list[float] | None:
        if not self.has_urgency:
            return None
        speed = self._speed
        if speed is not None:
            found = speed.urgency_probability(features)
            return None if found is None else found.round(4).tolist()
        head = self.urgency_head
        column = list(head.classes_).index(True)
        return head.predict_proba(features)[:, column].round(4).tolist()

    def predict_normalized(self, normalized: Sequence[str]) -> list[Prediction]:
        """`predict` for texts that already went through `normalize.normalize`."""
        if not normalized:
            return []
        features = self.features_of(normalized)
        proba = self._probabilities_of(features)
        urgency = self.urgency_probabilities(features) or [None] * len(normalized)
        k = min(TOP_K, proba.shape[1])
        top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        top_p = np.take_along_axis(proba, top, axis=1).round(4).tolist()
        names = self._classes[top].tolist()
        return [
            Prediction(
                category=row_names[0],
                confidence=row_p[0],
                alternatives=[
                    {"category": c, "confidence": p} for c, p in zip(row_names, row_p, strict=True)
                ],
                urgency=u,
            )
            for row_names, row_p, u in zip(names, top_p, urgency, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per raw text, in order (batched: pass many texts at once)."""
        return self.predict_normalized([normalize(text) for text in texts])
