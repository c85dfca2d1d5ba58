"""The category model: TF-IDF over word and character n-grams, and a calibrated linear model.

Features are computed on `normalize.normalize` output: word 1-2-grams catch phrases
("lampu jalan", "air masuk"), char_wb 2-5-grams catch typos, affixes and Javanese forms that
the slang dictionary does not know ("dalane", "bolong2", "sampahe"). Training is
deterministic: same examples + hyperparameters + scikit-learn version -> same model and
the same `version`.

Serialised models are pickles (via joblib): load only files and documents this platform
wrote itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.categorization.normalize import normalize, translate_english
from services.categorization.taxonomy import CATEGORY_IDS, is_category

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "default.joblib"
MAX_MODEL_BYTES = 8 * 1024 * 1024  # one MongoDB document holds 16 MB; keep well under
FORMAT = "suara-categorization-model/1"
TOP_K = 3


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
    estimator: str = "logreg"  # "logreg" | "svm" (LinearSVC + sigmoid calibration)
    C: float = 20.0
    calibration_folds: int = 5
    english: str = "replace"  # English domain words -> Indonesian: "replace" | "keep" | "off"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_HYPERPARAMETERS = Hyperparameters()


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float
    # The TOP_K most likely categories, best first (the first one is `category`).
    alternatives: list[dict[str, Any]] = field(default_factory=list)


class TrainingError(ValueError):
    pass


def _model_text(normalized: str, english: str) -> str:
    if english == "off":
        return normalized
    return translate_english(normalized, keep=english == "keep")


def _build_pipeline(params: Hyperparameters, seed: int) -> Any:
    # scikit-learn is imported here, not at module level: importing it costs ~0.8 s, which
    # callers that only load a model for prediction would pay for nothing.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

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
        ],
        transformer_weights={"word": 1.0, "char": params.char_weight},
    )
    if params.estimator == "logreg":
        model: Any = LogisticRegression(C=params.C, max_iter=2000, random_state=seed)
    elif params.estimator == "svm":
        model = CalibratedClassifierCV(
            LinearSVC(C=params.C, random_state=seed),
            method="sigmoid",
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


def _fingerprint(
    examples: Sequence[tuple[str, str]], params: Hyperparameters, seed: int, sklearn_version: str
) -> str:
    digest = hashlib.sha256()
    for text, category in sorted(examples):
        digest.update(f"{category}\t{text}\n".encode())
    settings = {"params": params.as_dict(), "seed": seed, "sklearn": sklearn_version}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:12]


class Model:
    """A trained category model. Build one with `train`, `Model.from_bytes` or `Model.load`."""

    def __init__(
        self,
        pipeline: Any,
        *,
        version: str,
        trained_at: datetime,
        hyperparameters: Hyperparameters,
        training_size: int,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self.version = version
        self.trained_at = trained_at
        self.hyperparameters = hyperparameters
        self.training_size = training_size
        self.metrics: dict[str, Any] = metrics or {}
        self._classes = np.array(pipeline.classes_)

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, training_size={self.training_size})"

    @property
    def categories(self) -> list[str]:
        return [str(c) for c in self._classes]

    def probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns in `categories` order) for normalised texts."""
        english = self.hyperparameters.english
        return self._pipeline.predict_proba([_model_text(text, english) for text in normalized])

    def predict_normalized(self, normalized: Sequence[str]) -> list[Prediction]:
        """`predict` for texts that already went through `normalize.normalize`."""
        if not normalized:
            return []
        proba = self.probabilities(normalized)
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
            )
            for row_names, row_p in zip(names, top_p, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per raw text, in order (batched: pass many texts at once)."""
        return self.predict_normalized([normalize(text) for text in texts])

    # Serialisation

    def _state(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "pipeline": self._pipeline,
            "version": self.version,
            "trained_at": self.trained_at.isoformat(),
            "hyperparameters": self.hyperparameters.as_dict(),
            "training_size": self.training_size,
            "metrics": self.metrics,
        }

    def to_bytes(self) -> bytes:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(self._state(), buffer, protocol=5)
        return zlib.compress(buffer.getvalue(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        import joblib

        try:
            state = joblib.load(io.BytesIO(zlib.decompress(data)))
        except (zlib.error, EOFError, ValueError, KeyError) as exc:
            raise ValueError(f"not a serialised categorization model: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("not a serialised categorization model (unknown format)")
        params = state["hyperparameters"]
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        return cls(
            state["pipeline"],
            version=state["version"],
            trained_at=datetime.fromisoformat(state["trained_at"]),
            hyperparameters=Hyperparameters(**params),
            training_size=state["training_size"],
            metrics=state["metrics"],
        )

    def save(self, path: Path | str) -> Path:
        """Write atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.to_bytes())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: Path | str) -> Model:
        return cls.from_bytes(Path(path).read_bytes())


def train(
    examples: Iterable[tuple[str, str]],
    *,
    seed: int = 0,
    hyperparameters: Hyperparameters = DEFAULT_HYPERPARAMETERS,
    trained_at: datetime | None = None,
) -> Model:
    """Fit a model on (text, category) pairs. Duplicates (same normalised text and category)
    count once; every category of the taxonomy needs at least two examples."""
    import sklearn

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

    pipeline = _build_pipeline(hyperparameters, seed)
    english = hyperparameters.english
    pipeline.fit(
        [_model_text(text, english) for text, _ in data], [category for _, category in data]
    )
    _shrink(pipeline)
    trained_at = trained_at or datetime.now(UTC)
    fingerprint = _fingerprint(data, hyperparameters, seed, sklearn.__version__)
    return Model(
        pipeline,
        version=f"{trained_at:%Y.%m.%d}-{fingerprint}",
        trained_at=trained_at,
        hyperparameters=hyperparameters,
        training_size=len(data),
    )
