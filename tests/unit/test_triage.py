"""Triage decisions: fields, departments, review, urgency, and odd inputs."""

import time

import pytest

from services.categorization import corpus, triage
from services.categorization.taxonomy import departments
from services.categorization.training import train


@pytest.fixture(scope="module")
def model():
    return train(corpus.train_examples())


def decide(text, model, **kwargs):
    kwargs.setdefault("departments", departments())
    kwargs.setdefault("review_threshold", 0.5)
    return triage.decide(text, model, **kwargs)


def test_a_decision_has_everything_downstream_needs(model):
    decision = decide("Banyu rob wis mlebu omah nang Panjang Wetan, tulung!", model)
    assert decision.category == "flooding"
    assert decision.department == "BPBD"
    assert decision.priority == "urgent"
    assert "water_in_homes" in decision.urgency_reasons
    assert decision.language == "jv"
    assert decision.model_version == model.version
    assert decision.method == "model"
    assert decision.alternatives[0]["category"] == "flooding"
    assert decision.needs_review is (decision.confidence < 0.5)
    assert set(decision.as_dict()) >= {"category", "confidence", "department", "priority"}


def test_departments_come_from_configuration(model):
    decision = decide(
        "Lampu PJU di gang kami mati", model, departments=departments({"streetlights": "UPT PJU"})
    )
    assert (decision.category, decision.department) == ("streetlights", "UPT PJU")


def test_review_threshold(model):
    text = "Sampah di TPS Medono belum diangkut seminggu"
    assert not decide(text, model, review_threshold=0.0).needs_review
    assert decide(text, model, review_threshold=1.01).needs_review


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_invalid(model, text):
    with pytest.raises(triage.InvalidText, match="empty"):
        decide(text, model)
    assert issubclass(triage.InvalidText, ValueError)


def test_non_string_is_invalid(model):
    with pytest.raises(triage.InvalidText, match="string"):
        decide(None, model)


def test_a_100_kb_text_is_classified_quickly(model):
    decide("warmup", model)
    text = "Jalan di Medono rusak parah, lubangnya dalam. " * 2300
    assert len(text) > 100_000
    started = time.perf_counter()
    decision = decide(text, model)
    assert time.perf_counter() - started < 0.5
    assert decision.category == "roads"


@pytest.mark.parametrize("text", ["😡😡😡🙏", "!!! ??? ...", "12345", "道路损坏", "مرحبا كيف حالك"])
def test_no_usable_words_means_other_for_review(model, text):
    decision = decide(text, model)
    assert decision.category == "other"
    assert decision.confidence == 0.0
    assert decision.needs_review
    assert decision.method == "fallback"
    assert decision.department == departments()["other"]


def test_html_is_stripped(model):
    html = "<div><p>Sampah&nbsp;numpuk di <b>TPS</b> Kradenan, bau!</p><script>x()</script></div>"
    plain = "Sampah numpuk di TPS Kradenan, bau!"
    assert decide(html, model).category == decide(plain, model).category == "waste"
    assert decide(html, model).confidence == decide(plain, model).confidence


def test_mixed_scripts_use_the_latin_words(model):
    decision = decide("Lampu jalan mati 路灯坏了 фонарь не работает", model)
    assert decision.category == "streetlights"


def test_decide_many_keeps_order_and_equals_decide(model):
    texts = [t for t, _ in corpus.heldout_examples()[:40]] + ["🙏"]
    many = triage.decide_many(texts, model, departments=departments(), review_threshold=0.5)
    assert many == [decide(t, model) for t in texts]


def test_decide_many_names_the_invalid_item(model):
    with pytest.raises(triage.InvalidText, match="#1"):
        triage.decide_many(["jalan rusak", " "], model)
