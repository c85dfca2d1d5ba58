"""The category model: TF-IDF over word and character n-grams, and a calibrated linear model.

Features are computed on `normalize.normalize` output, with English domain words replaced by
their Indonesian equivalents (`normalize.translate_english`), so the few English reports share
what the many Indonesian and Javanese ones teach:
- word 1-2-grams catch phrases ("lampu jalan", "air masuk");
- char_wb 2-5-grams catch typos, affixes and Javanese forms the slang dictionary does not know
  ("dalane", "bolongan", "sampahe");
- per category, the number of its typical words (`taxonomy.KEYWORDS`): a prior for words the
  corpus has few examples of.
A LinearSVC (C=1) with temperature-scaled probabilities (cross-validated, so the top category
is the SVM's own) turns them into a category and a confidence. Hyperparameters were chosen by
5-fold cross-validation on the training split. Training is deterministic: same examples +
hyperparameters + keywords + scikit-learn version -> same model and the same `version`.

Serialised models are pickles (via joblib): load only files and documents this platform
wrote itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import tempfile
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize as normalize_rows
from sklearn.svm import LinearSVC

from services.categorization.normalize import normalize, translate_english
from services.categorization.taxonomy import CATEGORY_IDS, KEYWORDS, is_category

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


class TrainingError(ValueError):
    pass


_PREFIXES = ("di", "ter", "ber", "be", "pe", "pen", "pem", "peng", "per", "me", "mem", "men")
_PREFIXES += ("meng", "ke", "se")
_STEM_MIN = 5  # keywords this long match with a prefix and any suffix; shorter ones exactly
_MAX_CACHED = 200_000


def _continues(keyword_word: str, token: str) -> bool:
    """A keyword phrase's second or later word matches a token (no prefix allowed there)."""
    return (
        token == keyword_word if len(keyword_word) < _STEM_MIN else token.startswith(keyword_word)
    )


class KeywordCounts(TransformerMixin, BaseEstimator):
    """Per category, log(1 + number of its typical words) in the text: a prior from the
    taxonomy (`taxonomy.KEYWORDS`) for words the training corpus has too few examples of.
    A keyword matches a token exactly, or, when it is at least `_STEM_MIN` letters long, as
    the start of the token after an optional Indonesian prefix ("parkir" -> "diparkir").
    The keyword lists are frozen into the fitted model, so a saved model keeps its features."""

    def fit(self, texts: Sequence[str], y: Any = None) -> KeywordCounts:
        self.categories_ = list(CATEGORY_IDS)
        self.keywords_ = {c: KEYWORDS.get(c, "") for c in self.categories_}
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for transient in ("_short", "_long", "_cache"):
            state.pop(transient, None)
        return state

    def _index(self) -> None:
        """Keyword phrases by first word: exact short words, and long ones by their start."""
        if getattr(self, "_short", None) is not None:
            return
        short: dict[str, list[tuple[int, list[str]]]] = {}
        long: dict[str, list[tuple[int, str, list[str]]]] = {}
        for i, category in enumerate(self.categories_):
            for phrase in self.keywords_[category].split("|"):
                words = phrase.split()
                if not words:
                    continue
                if len(words[0]) < _STEM_MIN:
                    short.setdefault(words[0], []).append((i, words[1:]))
                else:
                    long.setdefault(words[0][:_STEM_MIN], []).append((i, words[0], words[1:]))
        self._short, self._long = short, long
        self._cache: dict[str, list[tuple[int, list[str]]]] = {}

    def _starting_with(self, token: str) -> list[tuple[int, list[str]]]:
        """The (category, remaining words) of every keyword whose first word matches."""
        cache = self._cache
        found = cache.get(token)
        if found is None:
            if len(cache) > _MAX_CACHED:
                cache.clear()
            found = list(self._short.get(token, ()))
            stems = {token} | {token[len(p) :] for p in _PREFIXES if token.startswith(p)}
            for stem in stems:
                for i, word, rest in self._long.get(stem[:_STEM_MIN], ()):
                    if stem.startswith(word) and (i, rest) not in found:
                        found.append((i, rest))
            cache[token] = found
        return found

    def counts(self, text: str) -> list[int]:
        """How many words or phrases typical of each category `text` has."""
        self._index()
        counts = [0] * len(self.categories_)
        tokens = text.split()
        cache = self._cache
        for position, token in enumerate(tokens):
            found = cache.get(token)
            if found is None:
                found = self._starting_with(token)
            for i, rest in found:
                if not rest:
                    counts[i] += 1
                    continue
                following = tokens[position + 1 : position + 1 + len(rest)]
                if len(following) == len(rest) and all(
                    _continues(word, t) for word, t in zip(rest, following, strict=True)
                ):
                    counts[i] += 1
        return counts

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        counts = np.array([self.counts(text) for text in texts], dtype=np.float32)
        return sp.csr_matrix(np.log1p(counts).reshape(len(texts), len(self.categories_)))


class _FastFeatures:
    """The fitted FeatureUnion's `transform`, computed faster for prediction: char_wb n-grams
    never cross words, so each word's n-gram columns are computed once and cached. Gives the
    same matrix as the union (a unit test checks it); falls back to it for other settings."""

    def __init__(self, union: FeatureUnion) -> None:
        self._union = union
        steps = dict(union.transformer_list)
        weights = union.transformer_weights or {}
        self._word, self._char = steps.get("word"), steps.get("char")
        self._keywords = steps.get("keywords")
        self._weights = [weights.get(name, 1.0) for name, _ in union.transformer_list]
        self._char_cache: dict[str, list[int]] = {}
        self.enabled = (
            [name for name, _ in union.transformer_list] == ["word", "char", "keywords"]
            and _plain(self._word, "word")
            and _plain(self._char, "char_wb")
            and self._word.token_pattern == r"(?u)\b\w\w+\b"
        )
        if self.enabled:
            self._token = re.compile(self._word.token_pattern)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if not self.enabled:
            return self._union.transform(texts)
        blocks = [
            _tfidf(self._word, self._word_columns(texts)),
            _tfidf(self._char, self._char_columns(texts)),
            self._keywords.transform(texts),
        ]
        return sp.hstack(
            [
                block * weight if weight != 1.0 else block
                for block, weight in zip(blocks, self._weights, strict=True)
            ],
            format="csr",
        ).astype(np.float32)

    def _word_columns(self, texts: Sequence[str]) -> tuple[array[int], array[int]]:
        vocabulary = self._word.vocabulary_
        low, high = self._word.ngram_range
        columns: array[int] = array("q")
        indptr: array[int] = array("q", [0])
        add = columns.append
        for text in texts:
            tokens = self._token.findall(text)
            if low == 1:
                for token in tokens:
                    column = vocabulary.get(token)
                    if column is not None:
                        add(column)
            for n in range(max(low, 2), high + 1):
                for i in range(len(tokens) - n + 1):
                    column = vocabulary.get(" ".join(tokens[i : i + n]))
                    if column is not None:
                        add(column)
            indptr.append(len(columns))
        return columns, indptr

    def _char_columns(self, texts: Sequence[str]) -> tuple[array[int], array[int]]:
        cache = self._char_cache
        if len(cache) > _MAX_CACHED:
            cache.clear()
        columns: array[int] = array("q")
        indptr: array[int] = array("q", [0])
        for text in texts:
            for word in text.split():
                found = cache.get(word)
                if found is None:
                    found = cache[word] = self._word_char_columns(word)
                columns.extend(found)
            indptr.append(len(columns))
        return columns, indptr

    def _word_char_columns(self, word: str) -> array[int]:
        """sklearn's `_char_wb_ngrams` for one word, as vocabulary columns."""
        vocabulary = self._char.vocabulary_
        low, high = self._char.ngram_range
        padded = f" {word} "
        columns: array[int] = array("q")
        for n in range(low, high + 1):
            offset = 0
            grams = [padded[offset : offset + n]]
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            columns.extend(vocabulary[g] for g in grams if g in vocabulary)
            if offset == 0:
                break
        return columns


def _plain(vectorizer: Any, analyzer: str) -> bool:
    return (
        isinstance(vectorizer, TfidfVectorizer)
        and vectorizer.analyzer == analyzer
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.lowercase
        and vectorizer.strip_accents is None
        and not vectorizer.binary
    )


def _tfidf(vectorizer: TfidfVectorizer, columns: tuple[array[int], array[int]]) -> sp.csr_matrix:
    """What TfidfVectorizer.transform does after counting (sublinear tf, idf, l2 norm)."""
    indices = np.frombuffer(columns[0], dtype=np.int64)
    indptr = np.frombuffer(columns[1], dtype=np.int64)
    counts = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr),
        shape=(len(indptr) - 1, len(vectorizer.vocabulary_)),
    )
    counts.sum_duplicates()
    if vectorizer.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if vectorizer.use_idf:
        counts.data *= vectorizer.idf_[counts.indices]
    if vectorizer.norm is not None:
        counts = normalize_rows(counts, norm=vectorizer.norm, copy=False)
    return counts


def _model_text(normalized: str, english: str) -> str:
    if english == "off":
        return normalized
    return translate_english(normalized, keep=english == "keep")


def _build_pipeline(params: Hyperparameters, seed: int) -> Any:
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


def _fingerprint(
    examples: Sequence[tuple[str, str]],
    params: Hyperparameters,
    seed: int,
    sklearn_version: str,
    urgent: Sequence[tuple[str, bool]] = (),
) -> str:
    digest = hashlib.sha256()
    for text, category in sorted(examples):
        digest.update(f"{category}\t{text}\n".encode())
    for text, is_urgent in urgent:
        digest.update(f"urgent={int(is_urgent)}\t{text}\n".encode())
    settings = {
        "params": params.as_dict(),
        "seed": seed,
        "sklearn": sklearn_version,
        "keywords": KEYWORDS,
        "format": FORMAT,
    }
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
        urgency: Any = None,
    ) -> None:
        self._pipeline = pipeline
        # a calibrated linear head on the same features: P(urgent) at the cost of a dot product
        self._urgency = urgency
        self.version = version
        self.trained_at = trained_at
        self.hyperparameters = hyperparameters
        self.training_size = training_size
        self.metrics: dict[str, Any] = metrics or {}
        self._classes = np.array(pipeline.classes_)
        self._features = _FastFeatures(pipeline.named_steps["features"])

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, training_size={self.training_size})"

    @property
    def categories(self) -> list[str]:
        return [str(c) for c in self._classes]

    @property
    def has_urgency(self) -> bool:
        return self._urgency is not None

    def _features_of(self, normalized: Sequence[str]):
        english = self.hyperparameters.english
        return self._features.transform([_model_text(text, english) for text in normalized])

    def probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns in `categories` order) for normalised texts."""
        return self._pipeline.named_steps["model"].predict_proba(self._features_of(normalized))

    def urgency_probabilities(self, features) -> list[float] | None:
        if self._urgency is None:
            return None
        column = list(self._urgency.classes_).index(True)
        return self._urgency.predict_proba(features)[:, column].round(4).tolist()

    def predict_normalized(self, normalized: Sequence[str]) -> list[Prediction]:
        """`predict` for texts that already went through `normalize.normalize`."""
        if not normalized:
            return []
        features = self._features_of(normalized)
        proba = self._pipeline.named_steps["model"].predict_proba(features)
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
            "urgency": self._urgency,
        }

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self._state(), buffer, protocol=5)
        return zlib.compress(buffer.getvalue(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        try:
            state = joblib.load(io.BytesIO(zlib.decompress(data)))
        except (zlib.error, pickle.UnpicklingError, EOFError, ValueError, KeyError) as exc:
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
            urgency=state.get("urgency"),  # absent in a model stored before the head
        )

    def save(self, path: Path | str) -> Path:
        """Write atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.to_bytes())
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; services may run as others
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

    pipeline = _build_pipeline(hyperparameters, seed)
    english = hyperparameters.english
    pipeline.fit(
        [_model_text(text, english) for text, _ in data], [category for _, category in data]
    )
    labels = _urgency_labels(urgent or ())
    head = _fit_urgency(pipeline, labels, english, seed) if labels else None
    _shrink(pipeline)
    trained_at = trained_at or datetime.now(UTC)
    fingerprint = _fingerprint(data, hyperparameters, seed, sklearn.__version__, labels)
    return Model(
        pipeline,
        version=f"{trained_at:%Y.%m.%d}-{fingerprint}",
        trained_at=trained_at,
        hyperparameters=hyperparameters,
        training_size=len(data),
        urgency=head,
    )


URGENCY_MIN_POSITIVES = 10


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
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    features = pipeline.named_steps["features"].transform(
        [_model_text(text, english) for text, _ in labels]
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
