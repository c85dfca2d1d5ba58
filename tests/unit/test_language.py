"""Language detection: id / jv / en, py3langid restricted to the three, plus Javanese markers."""

import numpy as np
import pytest

from services.categorization import corpus, language
from services.categorization.normalize import clean


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jalan di depan rumah saya rusak parah, mohon segera diperbaiki", "id"),
        ("Sampah numpuk di pinggir kali sudah seminggu", "id"),
        ("Dalane bolong-bolong nang Kuripan, akeh sing tibo", "jv"),
        ("Banyune mlebu omah wis sedengkul, tulung", "jv"),
        ("Lampune mati wis seminggu, peteng banget", "jv"),
        ("The street lights on my road have been off for a week", "en"),
        ("Garbage has not been collected for two weeks", "en"),
    ],
)
def test_detects_the_three_languages(text, expected):
    assert language.detect(text) == expected


def test_text_without_words_is_the_default_language():
    assert language.detect("🙏🙏 !!!") == "id"
    assert language.detect_many_cleaned(["", "0 0"]) == ["id", "id"]


def test_deterministic_and_batch_equals_single():
    texts = [clean(r.text) for r in corpus.load()[:300]]
    batch = language.detect_many_cleaned(texts)
    assert batch == language.detect_many_cleaned(texts)
    assert batch == [language.detect_cleaned(t) for t in texts]


def test_batch_scorer_matches_py3langid():
    scorer = language.scorer()
    assert scorer is not None, "py3langid internals changed: the batch scorer is unused"
    texts = [clean(r.text)[: language.MAX_CHARS] for r in corpus.load()[::5]]
    ours = scorer.probabilities(texts)
    identifier = language._identifier()
    theirs = np.array(
        [[dict(identifier.rank(t))[lang] for lang in language.LANGUAGES] for t in texts]
    )
    assert np.abs(ours - theirs).max() < 1e-4
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()


def test_accuracy_on_the_corpus_language_labels():
    records = [r for r in corpus.heldout_records() if r.lang in language.LANGUAGES]
    predicted = language.detect_many_cleaned([clean(r.text) for r in records])
    accuracy = np.mean([p == r.lang for p, r in zip(predicted, records, strict=True)])
    assert accuracy >= 0.97
