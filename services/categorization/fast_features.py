"""The speed path of prediction: the fitted FeatureUnion's `transform`, computed faster and
without scikit-learn.

scikit-learn's TfidfVectorizer analyses every text from scratch; here the word n-grams are
looked up directly, and since char_wb n-grams never cross words, each word's n-gram columns
are computed once and cached. The fitted numbers (vocabularies, idf, weights, keyword lists)
are plain data (`Tfidf`, `features.KeywordIndex`), so a stored model predicts with numpy and
scipy alone (`predictor.py`). The result is the union's own matrix (a unit test compares the
two on the corpus); `FastFeatures.of_union` gives None for a union with settings this code does
not reproduce (then the union itself transforms), and `Model.fast = False` switches to the
union altogether.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from services.categorization.features import MAX_CACHED, KeywordIndex

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # TfidfVectorizer's default, the only one reproduced


@dataclass
class Tfidf:
    """A fitted TfidfVectorizer's numbers: n-gram -> column, idf per column, the settings."""

    vocabulary: dict[str, int]
    idf: np.ndarray | None  # None: no idf weighting
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    norm: str | None  # "l2" or None

    @classmethod
    def of_vectorizer(cls, vectorizer: Any) -> Tfidf:
        return cls(
            vocabulary=vectorizer.vocabulary_,
            idf=np.asarray(vectorizer.idf_, dtype=np.float32) if vectorizer.use_idf else None,
            ngram_range=tuple(vectorizer.ngram_range),
            sublinear_tf=bool(vectorizer.sublinear_tf),
            norm=vectorizer.norm,
        )

    def state(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "idf": self.idf,
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "norm": self.norm,
        }

    @classmethod
    def of_state(cls, state: dict[str, Any]) -> Tfidf:
        return cls(**{**state, "ngram_range": tuple(state["ngram_range"])})


class FastFeatures:
    """`union.transform` of a FeatureUnion of word TF-IDF, char_wb TF-IDF and keyword
    counts (weights per block), from their plain numbers."""

    def __init__(
        self, word: Tfidf, char: Tfidf, keywords: KeywordIndex, weights: Sequence[float]
    ) -> None:
        self._word, self._char, self._keywords = word, char, keywords
        self._weights = [float(w) for w in weights]
        self._char_cache: dict[str, array[int]] = {}
        self._token = re.compile(TOKEN_PATTERN)

    @classmethod
    def of_union(cls, union: Any) -> FastFeatures | None:
        """The speed path of a fitted union, or None when it has settings not reproduced."""
        steps = dict(union.transformer_list)
        if [name for name, _ in union.transformer_list] != ["word", "char", "keywords"]:
            return None
        word, char = steps["word"], steps["char"]
        if not (_plain(word, "word") and _plain(char, "char_wb")):
            return None
        if word.token_pattern != TOKEN_PATTERN or word.norm not in ("l2", None):
            return None
        if char.norm not in ("l2", None):
            return None
        weights = union.transformer_weights or {}
        keywords = KeywordIndex.of_state(steps["keywords"].fitted_state())
        return cls(
            Tfidf.of_vectorizer(word),
            Tfidf.of_vectorizer(char),
            keywords,
            [weights.get(name, 1.0) for name, _ in union.transformer_list],
        )

    def state(self) -> dict[str, Any]:
        return {
            "word": self._word.state(),
            "char": self._char.state(),
            "keywords": self._keywords.fitted_state(),
            "weights": self._weights,
        }

    @classmethod
    def of_state(cls, state: dict[str, Any]) -> FastFeatures:
        return cls(
            Tfidf.of_state(state["word"]),
            Tfidf.of_state(state["char"]),
            KeywordIndex.of_state(state["keywords"]),
            state["weights"],
        )

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        blocks = [
            tfidf(self._word, self._word_columns(texts)),
            tfidf(self._char, self._char_columns(texts)),
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
        vocabulary = self._word.vocabulary
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
        if len(cache) > MAX_CACHED:
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
        vocabulary = self._char.vocabulary
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
        type(vectorizer).__name__ == "TfidfVectorizer"
        and vectorizer.analyzer == analyzer
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.lowercase
        and vectorizer.strip_accents is None
        and not vectorizer.binary
    )


def tfidf(table: Tfidf, columns: tuple[array[int], array[int]]) -> sp.csr_matrix:
    """What TfidfVectorizer.transform does after counting (sublinear tf, idf, l2 norm)."""
    indices = np.frombuffer(columns[0], dtype=np.int64)
    indptr = np.frombuffer(columns[1], dtype=np.int64)
    counts = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr),
        shape=(len(indptr) - 1, len(table.vocabulary)),
    )
    counts.sum_duplicates()
    if table.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if table.idf is not None:
        counts.data *= table.idf[counts.indices]
    if table.norm == "l2":
        _l2_rows(counts)
    return counts


def _l2_rows(matrix: sp.csr_matrix) -> None:
    """Each row divided by its Euclidean norm, in place (rows of zeros stay zeros), as
    sklearn.preprocessing.normalize(norm="l2") does."""
    lengths = np.diff(matrix.indptr)
    filled = lengths > 0
    norms = np.ones(matrix.shape[0], dtype=matrix.data.dtype)
    if matrix.nnz:
        squares = np.add.reduceat(matrix.data * matrix.data, matrix.indptr[:-1][filled])
        norms[filled] = np.sqrt(squares)
        norms[norms == 0.0] = 1.0
    matrix.data /= np.repeat(norms, lengths)
