"""What the category model looks at: the model text, and the taxonomy's keyword counts.

The model text is `normalize.normalize` output with English domain words replaced by their
Indonesian equivalents (`normalize.translate_english`), so the few English reports share
what the many Indonesian and Javanese ones teach. On it, the model's features
(`training.build_pipeline`) are TF-IDF word and character n-grams and, per category, the number
of its typical words (`KeywordIndex`; `KeywordCounts` is the same as a scikit-learn transformer
for the training pipeline, in `estimators.py`, so that predicting never imports scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from services.categorization import lexicon
from services.categorization.normalize import translate_english
from services.categorization.taxonomy import CATEGORY_IDS, KEYWORDS

# Indonesian prefixes a long keyword may follow ("parkir" -> "diparkir"): data/prefixes.tsv
PREFIXES: tuple[str, ...] = lexicon.words("prefixes.tsv")
_STEM_MIN = 5  # keywords this long match with a prefix and any suffix; shorter ones exactly
MAX_CACHED = 200_000  # entries of a per-word cache before it is emptied (bounded memory)


def model_text(normalized: str, english: str) -> str:
    """The text the model's features are computed on, for a normalised text and the
    `Hyperparameters.english` setting ("replace" | "keep" | "off")."""
    if english == "off":
        return normalized
    return translate_english(normalized, keep=english == "keep")


def _continues(keyword_word: str, token: str) -> bool:
    """A keyword phrase's second or later word matches a token (no prefix allowed there)."""
    return (
        token == keyword_word if len(keyword_word) < _STEM_MIN else token.startswith(keyword_word)
    )


def __getattr__(name: str) -> Any:
    # pickled models name `features.KeywordCounts`: it is loaded (with scikit-learn) only then
    if name == "KeywordCounts":
        from services.categorization.estimators import KeywordCounts

        return KeywordCounts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class KeywordIndex:
    """Per category, log(1 + number of its typical words) in the text: a prior from the
    taxonomy (`taxonomy.KEYWORDS`) for words the training corpus has too few examples of.
    A keyword matches a token exactly, or, when it is at least `_STEM_MIN` letters long, as
    the start of the token after an optional Indonesian prefix ("parkir" -> "diparkir").
    The keyword lists and prefixes are frozen into the fitted model, so a saved model keeps
    its features whatever the data files say later."""

    categories_: list[str]
    keywords_: dict[str, str]
    prefixes_: tuple[str, ...]

    def fit(self, texts: Sequence[str], y: Any = None) -> KeywordIndex:
        self.categories_ = list(CATEGORY_IDS)
        # "|"-joined phrases: the fitted state models have always been pickled with
        self.keywords_ = {c: "|".join(KEYWORDS.get(c, ())) for c in self.categories_}
        self.prefixes_ = PREFIXES
        return self

    def fitted_state(self) -> dict[str, Any]:
        """What the fitted index is, as plain data (`of_state` builds it again)."""
        return {
            "categories": list(self.categories_),
            "keywords": dict(self.keywords_),
            "prefixes": list(getattr(self, "prefixes_", PREFIXES)),
        }

    @classmethod
    def of_state(cls, state: dict[str, Any]) -> KeywordIndex:
        index = cls()
        index.categories_ = list(state["categories"])
        index.keywords_ = dict(state["keywords"])
        index.prefixes_ = tuple(state["prefixes"])
        return index

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for transient in ("_short", "_long", "_cache", "_prefixes"):
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
        # a model fitted before the prefixes were frozen into it uses today's
        self._prefixes = getattr(self, "prefixes_", PREFIXES)
        self._short, self._long = short, long
        self._cache: dict[str, list[tuple[int, list[str]]]] = {}

    def _starting_with(self, token: str) -> list[tuple[int, list[str]]]:
        """The (category, remaining words) of every keyword whose first word matches."""
        cache = self._cache
        found = cache.get(token)
        if found is None:
            if len(cache) > MAX_CACHED:
                cache.clear()
            found = list(self._short.get(token, ()))
            stems = {token} | {token[len(p) :] for p in self._prefixes if token.startswith(p)}
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
