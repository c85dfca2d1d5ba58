"""The `suara` command: classify JSON lines, eval, train (and its MongoDB hook)."""

import io
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import services.categorization
from services.categorization import cli, corpus, serialisation
from services.categorization.training import train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    serialisation.save(train(corpus.train_examples()), path)
    return path


def run(argv, stdin_bytes, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin_bytes), "utf-8"))
    code = cli.main(argv)
    return code, capsys.readouterr().out


def test_classify_answers_every_line_in_order(model_path, monkeypatch, capsys):
    texts = [t for t, _ in corpus.heldout_examples()[:30]]
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    code, out = run(
        ["classify", "--model", str(model_path), "--batch-size", "7"], lines, monkeypatch, capsys
    )
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert len(answers) == len(texts)
    expected = serialisation.load(model_path).predict(texts)
    assert [a["category"] for a in answers] == [p.category for p in expected]
    for answer in answers:
        assert set(answer) == {"category", "confidence", "priority", "language"}
        assert answer["priority"] in ("urgent", "normal")
        assert answer["language"] in ("id", "jv", "en")


def test_bad_lines_get_an_error_line_and_the_rest_goes_on(model_path, monkeypatch, capsys):
    stdin = b"\n".join(
        [
            b'{"text": "Lampu jalan mati"}',
            b"not json",
            b'{"txt": "no text field"}',
            b'{"text": "   "}',
            b'{"text": 42}',
            b'["a list"]',
            b"",
            b'{"id": "f-7", "text": "Rob mlebu omah, tulung!"}',
        ]
    )
    code, out = run(["classify", "--model", str(model_path)], stdin + b"\n", monkeypatch, capsys)
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert len(answers) == 8
    assert answers[0]["category"] == "streetlights"
    assert all(set(a) == {"error"} for a in answers[1:7])
    assert "missing text" in answers[2]["error"]
    assert "empty" in answers[3]["error"]
    assert "string" in answers[4]["error"]
    assert answers[7]["id"] == "f-7"
    assert answers[7]["priority"] == "urgent"


def test_classify_as_a_process_with_invalid_utf8(model_path):
    stdin = b'{"text": "Sampah numpuk di TPS"}\n\xff\xfe broken\n{"text": "KTP belum jadi"}\n'
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.categorization.cli",
            "classify",
            "--model",
            str(model_path),
        ],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [a.get("category") for a in answers] == ["waste", None, "population_admin"]
    assert "error" in answers[1]


def test_eval_prints_the_report(model_path, tmp_path, capsys):
    sample = tmp_path / "sample.jsonl"
    sample.write_text(
        json.dumps({"text": "Lampu PJU mati", "category": "streetlights"})
        + "\nbroken line\n"
        + json.dumps({"text": "Sampah numpuk", "category": "waste"})
        + "\n"
    )
    assert cli.main(["eval", str(sample), "--model", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion matrix" in out and "on 2 examples" in out


def test_train_with_extra_examples_writes_a_model(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SUARA_MONGO_URI", raising=False)
    monkeypatch.delenv("SUARA_CATEGORIZATION_MONGO_URI", raising=False)
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps({"text": "ular masuk dapur warga", "category": "public_order"}) + "\n"
    )
    output = tmp_path / "out" / "model.joblib"
    assert cli.main(["train", "--output", str(output), "--extra", str(extra)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out
    saved = serialisation.load(output)
    assert saved.metrics["extra_examples"] == 1
    assert saved.metrics["macro_f1"] >= 0.87  # see test_classifier


def test_train_model_leaves_out_extras_that_copy_heldout_lines():
    text, category = corpus.heldout_examples()[0]
    model, report = cli.train_model([(text, category)])
    assert model.metrics["extra_examples"] == 0
    assert report.examples == len(corpus.heldout_examples())


def test_train_uses_the_model_store_when_a_mongo_uri_is_set(tmp_path, capsys, monkeypatch):
    calls = {}
    store = types.ModuleType("services.categorization.modelstore")
    store.load_corrections = lambda uri: (
        calls.setdefault("load", uri)
        and [{"text": "ular masuk dapur warga", "category": "public_order"}]
    )
    store.store_trained_model = lambda uri, model: calls.setdefault("store", (uri, model.version))
    monkeypatch.setitem(sys.modules, "services.categorization.modelstore", store)
    monkeypatch.setattr(services.categorization, "modelstore", store, raising=False)
    monkeypatch.setenv("SUARA_MONGO_URI", "mongodb://test")
    assert cli.main(["train", "--output", str(tmp_path / "m.joblib")]) == 0
    assert calls["load"] == "mongodb://test"
    assert calls["store"][0] == "mongodb://test"
    assert "stored in MongoDB" in capsys.readouterr().out


def test_a_missing_model_file_is_trained_in_memory(tmp_path, capsys):
    model = cli.load_model(tmp_path / "missing.joblib")
    assert model.predict(["Lampu PJU mati"])[0].category == "streetlights"
    assert "training one in memory" in capsys.readouterr().err
