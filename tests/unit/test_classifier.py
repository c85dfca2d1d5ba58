"""The category model: held-out quality, determinism, serialisation, the speed path,
corrections."""

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.categorization import classifier, corpus, features, serialisation
from services.categorization.classifier import Prediction
from services.categorization.evaluation import evaluate, format_report
from services.categorization.fast_features import FastFeatures
from services.categorization.features import model_text
from services.categorization.normalize import normalize
from services.categorization.predictor import Predictor
from services.categorization.serialisation import MAX_MODEL_BYTES
from services.categorization.taxonomy import CATEGORY_IDS
from services.categorization.training import TrainingError, train

ROOT = Path(__file__).resolve().parents[2]
SNAKES = [
    ("Ada ular kobra masuk ke dapur rumah warga, mohon dievakuasi", "public_order"),
    ("Ular sanca besar di selokan depan rumah, warga takut keluar", "public_order"),
    ("Tolong ada ular di gudang belakang rumah kami", "public_order"),
    ("Biawak masuk pekarangan warga, anak-anak takut main", "public_order"),
    ("Ulo gedhe mlebu omah tanggaku, tulung dijupuk", "public_order"),
    ("A snake got into our kitchen, please send someone to catch it", "public_order"),
    ("Ular masuk kamar mandi, kami tidak berani masuk", "public_order"),
    ("Anakan ular ditemukan di teras rumah tiap malam", "public_order"),
]
SNAKE_QUERY = "ada ular hitam di halaman rumah saya, tolong ditangkap"


@pytest.fixture(scope="module")
def model():
    return train(corpus.train_examples())


@pytest.fixture(scope="module")
def report(model):
    return evaluate(model, corpus.heldout_examples())


# Issue 15 added 919 lines of the hardest shapes (danger in plain words, its hard negatives,
# indirect descriptions), a fifth of them held out: the held-out split is harder than the one
# the first figures (macro-F1 0.909) came from. On the 452 held-out lines of that first corpus
# the model trained on today's corpus scores 0.920.
def test_heldout_macro_f1_and_every_class(report):
    print(format_report(report))
    assert report.macro_f1 >= 0.87
    weak = {c: s.f1 for c, s in report.per_class.items() if s.f1 < 0.75}
    assert not weak, f"classes below F1 0.75: {weak}"


def test_report_has_every_category_and_a_square_confusion_matrix(report):
    assert report.labels == list(CATEGORY_IDS)
    assert len(report.confusion) == len(CATEGORY_IDS)
    assert all(len(row) == len(CATEGORY_IDS) for row in report.confusion)
    assert sum(map(sum, report.confusion)) == report.examples
    text = format_report(report)
    assert "macro-F1" in text and "confusion matrix" in text


def test_training_never_sees_heldout_texts():
    train_keys = {corpus.dedupe_key(t) for t, _ in corpus.train_examples()}
    heldout_keys = {corpus.dedupe_key(t) for t, _ in corpus.heldout_examples()}
    assert not train_keys & heldout_keys
    assert 0.15 < len(heldout_keys) / (len(train_keys) + len(heldout_keys)) < 0.25


def test_training_is_deterministic(model):
    again = train(corpus.train_examples())
    assert again.version == model.version
    texts = [t for t, _ in corpus.heldout_examples()[:50]]
    assert again.predict(texts) == model.predict(texts)


def test_version_changes_with_the_training_data(model):
    other = train(corpus.train_examples()[:-5])
    assert other.version != model.version
    assert model.version.split("-")[0].count(".") == 2
    assert len(model.version.split("-")[1]) == 12


def test_bytes_round_trip_fits_in_a_mongodb_document(model, tmp_path):
    model.metrics = {"macro_f1": 0.9}
    data = serialisation.to_bytes(model)
    assert len(data) < MAX_MODEL_BYTES
    again = serialisation.from_bytes(data)
    assert (again.version, again.trained_at, again.metrics) == (
        model.version,
        model.trained_at,
        model.metrics,
    )
    texts = ["lampu jalan mati", "sampah numpuk", "ktp belum jadi"]
    assert again.predict(texts) == model.predict(texts)
    path = serialisation.save(model, tmp_path / "m" / "model.joblib")
    assert serialisation.load(path).predict(texts) == model.predict(texts)


def test_garbage_is_not_a_model():
    with pytest.raises(ValueError):
        serialisation.from_bytes(b"not a model")


def test_predictions_are_batched_calibrated_and_ranked(model):
    predictions = model.predict(["Lampu PJU mati sejak seminggu", "Truk sampah tidak datang"])
    assert [p.category for p in predictions] == ["streetlights", "waste"]
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert 0.0 <= prediction.confidence <= 1.0
        assert len(prediction.alternatives) == 3
        assert prediction.alternatives[0]["category"] == prediction.category
        confidences = [a["confidence"] for a in prediction.alternatives]
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) <= 1.0001
    assert model.predict([]) == []


def test_the_speed_path_gives_sklearns_features_and_predictions(model):
    normalized = [normalize(t) for t, _ in corpus.heldout_examples()]
    union = model.pipeline.named_steps["features"]
    assert FastFeatures.of_union(union) is not None and model.fast
    assert model.predictor is not None
    fast = model.features_of(normalized)
    slow = union.transform([model_text(t, "replace") for t in normalized])
    assert fast.shape == slow.shape
    assert np.abs((fast - slow).toarray()).max() < 1e-6
    reference = copy.copy(model)
    reference.fast = False  # scikit-learn's own transform
    assert np.abs((reference.features_of(normalized) - slow).toarray()).max() == 0
    assert reference.predict_normalized(normalized) == model.predict_normalized(normalized)


def test_models_pickled_before_the_split_find_their_keyword_counts():
    # their pickles name services.categorization.classifier.KeywordCounts
    assert classifier.KeywordCounts is features.KeywordCounts


def test_a_stored_model_predicts_without_scikit_learn_and_loads_its_pipeline_on_demand(model):
    script = (
        "import sys\n"
        "from services.categorization import serialisation\n"
        "model = serialisation.from_bytes(sys.stdin.buffer.read())\n"
        "print(model.predict(['Lampu PJU mati sejak seminggu'])[0].category)\n"
        "print('sklearn' in sys.modules)\n"
        "model.pipeline\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=serialisation.to_bytes(model),
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.decode().split() == ["streetlights", "False", "True"]


def test_the_stored_pipeline_shares_the_predictors_arrays_and_predicts_the_same(model):
    loaded = serialisation.from_bytes(serialisation.to_bytes(model))
    assert len(serialisation.to_bytes(loaded)) == len(serialisation.to_bytes(model))
    estimator = loaded.pipeline.named_steps["model"].calibrated_classifiers_[0].estimator
    assert estimator.coef_ is loaded.predictor.category.coef  # pickled once
    reference = copy.copy(loaded)
    reference.fast = False
    texts = [normalize(t) for t, _ in corpus.heldout_examples()[:200]]
    assert reference.predict_normalized(texts) == loaded.predict_normalized(texts)


def test_a_pipeline_the_predictor_does_not_reproduce_predicts_with_scikit_learn():
    from services.categorization.classifier import Hyperparameters

    params = Hyperparameters(calibration="sigmoid")
    sigmoid = train(corpus.train_examples()[::6], hyperparameters=params)
    assert sigmoid.predictor is None
    assert Predictor.of_pipeline(sigmoid.pipeline) is None
    loaded = serialisation.from_bytes(serialisation.to_bytes(sigmoid))
    assert loaded.predict(["Lampu PJU mati"]) == sigmoid.predict(["Lampu PJU mati"])


def test_training_needs_known_categories_and_all_of_them():
    with pytest.raises(TrainingError):
        train([("jalan rusak", "potholes")])
    with pytest.raises(TrainingError):
        train([("jalan rusak", "roads"), ("jalan berlubang", "roads")])


def test_a_correction_teaches_a_new_phrasing(model):
    before = model.predict([SNAKE_QUERY])[0]
    assert before.category != "public_order"
    corrected = train([*corpus.train_examples(), *SNAKES])
    after = corrected.predict([SNAKE_QUERY])[0]
    assert after.category == "public_order"
    assert corrected.version != model.version
