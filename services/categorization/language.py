"""Language of a feedback text: Indonesian ("id"), Javanese ("jv") or English ("en").

py3langid, restricted to the three languages, does the bulk of the work; it was trained on
little colloquial Javanese, so a small list of marker words typical of Pekalongan Javanese
(and of Indonesian and English; `data/language_markers.tsv`) adds evidence on top of its
log-probabilities.
Code-mixed texts get the language that dominates. Deterministic.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from services.categorization import lexicon
from services.categorization.normalize import clean

Language = Literal["id", "jv", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "jv", "en")
DEFAULT_LANGUAGE: Language = "id"  # the city's working language, for texts with no words

# Each marker word adds this many nats to its language's log-probability.
MARKER_WEIGHT = 1.0
_FLOOR = 1e-6

# Words typical of each language (data/language_markers.tsv).
MARKERS: dict[Language, frozenset[str]] = {
    lang: frozenset(words)
    for lang, words in lexicon.groups("language_markers.tsv", LANGUAGES).items()
}


# Language is clear from the first sentences; longer texts only cost time.
MAX_CHARS = 300
_SMALL_BATCH = 8  # up to this many texts, walking each in Python beats numpy's overhead


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


class _BatchScorer:
    """py3langid's naive Bayes over byte n-grams, for many texts at once: the DFA that finds
    the n-gram features walks all texts in step with numpy instead of byte by byte in Python.
    Same probabilities as `LanguageIdentifier.rank` up to float rounding (a unit test checks
    it); built on py3langid 0.4 internals, so `scorer()` falls back to `rank` without them.
    A few texts take py3langid's own walk; both walks give the same feature counts."""

    def __init__(self, identifier: LanguageIdentifier) -> None:
        self.identifier = identifier
        moves = identifier.tk_nextmove  # array.array: viewed in place, not copied (~40 MB)
        self.nextmove = np.frombuffer(moves, dtype=np.dtype(moves.typecode))
        self.rowbase = np.asarray(identifier.tk_row, dtype=np.int64) << 8
        self.output = np.asarray(identifier.tk_output, dtype=np.int64)
        self.ptc = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
        self.pc = np.asarray(identifier.nb_pc, dtype=np.float32)
        self.columns = [list(identifier.nb_classes).index(lang) for lang in LANGUAGES]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 3) probabilities, columns in LANGUAGES order."""
        encoded = [unicodedata.normalize("NFC", t).encode("utf-8", "surrogatepass") for t in texts]
        n = len(encoded)
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=n)
        walk = self._walk_each if n <= _SMALL_BATCH else self._walk_together
        rows, features = walk(encoded, lengths)
        # From here on py3langid's `_decide` (norm_probs=True), for a matrix of texts.
        scores = np.zeros((n, len(self.pc)), dtype=np.float32)
        if len(rows):
            counts = sp.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, features)),
                shape=(n, len(self.ptc)),
            )
            counts.sum_duplicates()
            counts.data = np.log1p(counts.data)
            with_features = np.diff(counts.indptr) > 0
            raw = np.asarray(counts @ self.ptc, dtype=np.float32) + self.pc
            scores[with_features] = raw[with_features]
        scores *= (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)[:, None]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        return scores[:, self.columns]

    def _walk_each(self, encoded: list[bytes], lengths: np.ndarray) -> tuple[Any, Any]:
        """(text row, feature id) of every feature visit, with py3langid's own walk."""
        identifier = self.identifier
        rows: list[int] = []
        features: list[int] = []
        for row, data in enumerate(encoded):
            visits = visit_counts(
                identifier.tk_nextmove, identifier._rowbase, identifier.tk_output, data
            )
            for feature, count in (visits or {}).items():
                rows += [row] * count
                features += [feature] * count
        return np.array(rows, dtype=np.int64), np.array(features, dtype=np.int64)

    def _walk_together(self, encoded: list[bytes], lengths: np.ndarray) -> tuple[Any, Any]:
        """The same, the DFA advancing one byte of every text per numpy step."""
        n = len(encoded)
        order = np.argsort(-lengths, kind="stable")
        longest = int(lengths.max()) if n else 0
        data = np.zeros((n, longest), dtype=np.int64)
        for row, index in enumerate(order.tolist()):
            data[row, : lengths[index]] = np.frombuffer(encoded[index], dtype=np.uint8)
        descending = -lengths[order]  # ascending, for searchsorted
        state = np.zeros(n, dtype=np.int64)
        rows, features = [], []
        for step in range(longest):
            active = int(np.searchsorted(descending, -step, side="left"))  # texts still going
            current = self.nextmove[self.rowbase[state[:active]] + data[:active, step]]
            state[:active] = current
            found = self.output[current]
            hit = found >= 0
            rows.append(order[:active][hit])
            features.append(found[hit])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(rows), np.concatenate(features)


@lru_cache(maxsize=1)
def scorer() -> _BatchScorer | None:
    try:
        return _BatchScorer(_identifier())
    except (AttributeError, TypeError, ValueError):
        return None


def _probabilities(cleaned: Sequence[str]) -> np.ndarray:
    texts = [text[:MAX_CHARS] for text in cleaned]
    batch = scorer()
    if batch is not None:
        return batch.probabilities(texts)
    identifier = _identifier()
    result = np.zeros((len(texts), len(LANGUAGES)), dtype=np.float32)
    for row, text in enumerate(texts):
        ranked = dict(identifier.rank(text))
        result[row] = [ranked.get(lang, 0.0) for lang in LANGUAGES]
    return result


def _marker_hits(cleaned: str) -> list[int]:
    tokens = cleaned.split()
    return [sum(1 for token in tokens if token in MARKERS[lang]) for lang in LANGUAGES]


def detect_many_cleaned(cleaned: Sequence[str]) -> list[Language]:
    """`detect` for many texts that already went through `normalize.clean`."""
    if not cleaned:
        return []
    scores = np.log(_probabilities(cleaned).astype(np.float64) + _FLOOR)
    scores += MARKER_WEIGHT * np.array([_marker_hits(text) for text in cleaned], dtype=np.float64)
    best = scores.argmax(axis=1).tolist()
    return [
        LANGUAGES[choice] if any(ch.isalpha() for ch in text) else DEFAULT_LANGUAGE
        for choice, text in zip(best, cleaned, strict=True)
    ]


def detect_cleaned(cleaned: str) -> Language:
    """`detect` for text that already went through `normalize.clean`."""
    return detect_many_cleaned([cleaned])[0]


def detect(text: str) -> Language:
    """ "id", "jv" or "en"; "id" for a text without words."""
    return detect_cleaned(clean(text))
