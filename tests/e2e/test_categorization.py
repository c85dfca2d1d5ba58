"""Categorization over HTTP: classify, taxonomy, review queue, staff corrections, retraining."""

import os
import subprocess
import sys

import requests

from tests.conftest import MONGO_URI
from tests.helpers import wait_for
from tests.support.client import API_KEY


def test_classify_answers_with_category_department_priority_and_alternatives(client):
    r = requests.post(
        client.url("categorization", "/api/v1/classify"),
        json={"text": "banyu rob mlebu omah, tanggul jebol"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["category"] == "flooding" and body["department"] == "BPBD"
    assert body["priority"] == "urgent"
    assert len(body["alternatives"]) == 3 and body["model_version"]


def test_classify_rejects_bad_input_and_survives_odd_text(client):
    url = client.url("categorization", "/api/v1/classify")
    assert requests.post(url, json={"text": "   "}, timeout=10).status_code == 400
    assert requests.post(url, json={}, timeout=10).status_code == 400
    for odd in ("😡😡😡", "<script>alert(1)</script><b>jalan</b> rusak", "x" * 100_000):
        r = requests.post(url, json={"text": odd}, timeout=20)
        assert r.status_code == 200, r.text
    assert requests.post(url, json={"text": "😡😡😡"}, timeout=10).json()["confidence"] < 0.5


def test_categories_in_both_languages(client):
    cats = requests.get(client.url("categorization", "/api/v1/categories"), timeout=10).json()
    by_id = {c["id"]: c for c in cats["categories"]}
    assert len(by_id) == 15
    assert by_id["flooding"]["label_id"] == "Banjir & Rob"
    assert by_id["population_admin"]["department"] == "Disdukcapil"


def test_staff_work_needs_an_api_key(client):
    assert (
        requests.get(client.url("categorization", "/api/v1/review"), timeout=10).status_code == 401
    )
    r = requests.post(
        client.url("categorization", "/api/v1/feedback/SU-0000000000/category"),
        json={"category": "roads"},
        headers={"X-API-Key": "wrong"},
        timeout=10,
    )
    assert r.status_code == 401


def test_correction_reaches_intake_and_teaches_the_model_after_suara_train(
    client, native, tmp_path
):
    phrase = "zorblax gedhe banget neng gang mburi omah"
    ids = [client.submit(f"{phrase} nomer {i}").json()["id"] for i in range(3)]
    for feedback_id in ids:
        client.wait_status(feedback_id)
    headers = {"X-API-Key": API_KEY}
    review = requests.get(
        client.url("categorization", "/api/v1/review"), headers=headers, timeout=10
    )
    assert review.status_code == 200
    too_many = requests.get(
        client.url("categorization", "/api/v1/review"),
        headers=headers,
        params={"limit": 100_000},
        timeout=10,
    )
    assert too_many.status_code == 400 and "limit" in too_many.json()["fields"]
    target = "public_order"
    for feedback_id in ids:
        r = requests.post(
            client.url("categorization", f"/api/v1/feedback/{feedback_id}/category"),
            json={"category": target},
            headers=headers,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        assert r.json()["method"] == "manual" and r.json()["revision"] == 2
    for feedback_id in ids:
        wait_for(lambda i=feedback_id: client.feedback(i)["category"] == target, timeout=20)
    assert (
        requests.post(
            client.url("categorization", "/api/v1/feedback/SU-0000000000/category"),
            json={"category": target},
            headers=headers,
            timeout=10,
        ).status_code
        == 404
    )

    def classify():
        return requests.post(
            client.url("categorization", "/api/v1/classify"),
            json={"text": "zorblax gedhe neng gang mburi"},
            timeout=10,
        ).json()

    before = classify()
    env = {**os.environ, "SUARA_CATEGORIZATION_DB": native.db_name("categorization")}
    done = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "suara"),
            "train",
            "--mongo-uri",
            MONGO_URI,
            "--output",
            str(tmp_path / "retrained.joblib"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 stored corrections" in done.stderr
    # every replica picks up the new version without a restart
    after = wait_for(
        lambda: (c := classify())["model_version"] != before["model_version"] and c, timeout=30
    )
    assert after["category"] == target
