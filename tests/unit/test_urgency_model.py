"""The urgency head (issue 15): a calibrated logistic regression on the category model's own
features, trained on the corpus's urgent labels; triage raises the flag when no rule fired
and the head is sure enough (``URGENCY_THRESHOLD``)."""

import pytest

from services.categorization import corpus, serialisation, triage
from services.categorization.cli import load_model
from services.categorization.training import train


@pytest.fixture(scope="module")
def records():
    return corpus.train_records()


@pytest.fixture(scope="module")
def with_head(records):
    return train([r.example for r in records], urgent=[(r.text, r.urgent) for r in records])


def test_a_model_trained_with_urgent_labels_scores_urgency(with_head, records):
    assert with_head.has_urgency
    (danger, calm) = with_head.predict(
        [
            "River level at Kergon is almost over the embankment, people are panicking. "
            "Please send someone now.",
            "Mohon info jadwal pembuatan KTP elektronik di kelurahan Medono",
        ]
    )
    assert 0.0 <= calm.urgency < 0.2 < 0.8 <= danger.urgency <= 1.0


def test_without_labels_there_is_no_head_and_the_version_is_the_same_as_before(records):
    plain = train([r.example for r in records])
    assert not plain.has_urgency and plain.predict(["jalan rusak"])[0].urgency is None
    headed = train([r.example for r in records], urgent=[(r.text, r.urgent) for r in records])
    assert headed.version != plain.version  # the labels are part of what the model is


def test_too_few_urgent_texts_train_no_head(records):
    few = [(r.text, False) for r in records[:50]] + [(records[0].text, True)]
    assert not train([r.example for r in records], urgent=few).has_urgency


def test_the_head_survives_serialisation(with_head):
    again = serialisation.from_bytes(serialisation.to_bytes(with_head))
    texts = ["Kabel PJU kelupas di trotoar, kena hujan keluar spark. Dangerous banget!"]
    assert again.has_urgency
    assert again.predict(texts)[0].urgency == with_head.predict(texts)[0].urgency


def test_triage_flags_present_danger_the_rules_miss_and_names_the_model():
    model = load_model(None)
    text = (
        "A lamp post fell onto a house roof in Buaran after strong winds, "
        "the wires are still connected!"
    )
    decision = triage.decide(text, model)
    assert decision.priority == "urgent"
    assert decision.urgency_reasons == ["model"]  # no rule knows these words
    calm = triage.decide("Mohon info jadwal pembuatan KTP elektronik di kelurahan Medono", model)
    assert calm.priority == "normal" and calm.urgency_reasons == []
