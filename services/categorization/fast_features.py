"""The speed path of prediction: the fitted FeatureUnion's `transform`, computed faster.

scikit-learn's TfidfVectorizer analyses every text from scratch; here the word n-grams are
looked up directly, and since char_wb n-grams never cross words, each word's n-gram columns
are computed once and cached. The result is the union's own matrix (a unit test compares the
two on the corpus); any setting this code does not reproduce falls back to the union, and
`Model.fast = False` switches to the union altogether.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize as normalize_rows

from services.categorization.features import MAX_CACHED


class FastFeatures:
    """`union.transform`, faster; `enabled` is False when the union has other settings than
    the ones reproduced here (then `transform` is the union's)."""

    def __init__(self, union: FeatureUnion) -> None:
        self._union = union
        steps = dict(union.transformer_list)
        weights = union.transformer_weights or {}
        self._word, self._char = steps.get("word"), steps.get("char")
        self._keywords = steps.get("keywords")
        self._weights = [weights.get(name, 1.0) for name, _ in union.transformer_list]
        self._char_cache: dict[str, array[int]] = {}
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


def tfidf(vectorizer: TfidfVectorizer, columns: tuple[array[int], array[int]]) -> sp.csr_matrix:
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
