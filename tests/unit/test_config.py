"""Configuration from the environment (shared/config.py)."""

from __future__ import annotations

import pytest

from services.categorization import triage
from shared import config

PORTS = {"intake": 8001, "categorization": 8002, "notification": 8003, "reporting": 8004}


@pytest.mark.parametrize(("service", "port"), sorted(PORTS.items()))
def test_defaults_of_each_service(service, port):
    cfg = config.load(service, {})

    assert cfg["WEB_SERVER_ADDRESS"] == f"127.0.0.1:{port}"
    assert cfg["MONGO_DB"] == service
    assert cfg["MONGO_URI"] == "mongodb://127.0.0.1:27017/"
    # its own development user (deploy/rabbitmq/definitions.json), never guest
    assert cfg["AMQP_URI"] == f"amqp://{service}:{service}-amqp-dev@127.0.0.1:5672/"
    assert cfg["API_KEYS"] == {}
    assert (cfg["PREFETCH"], cfg["HTTP_WORKERS"], cfg["max_workers"]) == (10, 10, 24)
    assert cfg["MAX_ATTEMPTS"] == 5
    assert cfg["RETRY_DELAY_MS"] == 500
    assert cfg["OUTBOX_SWEEP_S"] == 2
    assert cfg["REVIEW_THRESHOLD"] == pytest.approx(0.5)
    assert cfg["REVIEW_THRESHOLD"] == triage.DEFAULT_REVIEW_THRESHOLD  # one default
    assert cfg["LOG_LEVEL"] == "INFO"


def test_every_service_has_its_own_port():
    addresses = {config.load(s, {})["WEB_SERVER_ADDRESS"] for s in config.SERVICES}
    assert len(addresses) == len(config.SERVICES) == 4


def test_load_reads_os_environ_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("SUARA_REPORTING_PORT", "9104")
    monkeypatch.setenv("SUARA_AMQP_URI", "amqp://u:p@mq:5672/suara")
    cfg = config.load("reporting")
    assert cfg["WEB_SERVER_ADDRESS"].endswith(":9104")
    assert cfg["AMQP_URI"] == "amqp://u:p@mq:5672/suara"


def test_a_services_own_broker_uri_wins_over_the_shared_one():
    env = {"SUARA_AMQP_URI": "amqp://u:p@mq:5672/v", "SUARA_INTAKE_AMQP_URI": "amqp://i:q@mq/v"}
    assert config.load("intake", env)["AMQP_URI"] == "amqp://i:q@mq/v"
    assert config.load("reporting", env)["AMQP_URI"] == "amqp://u:p@mq:5672/v"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "amqp://guest:guest@127.0.0.1:5672/suara-test",
            "amqp://reporting:reporting-amqp-dev@127.0.0.1:5672/suara-test",
        ),
        ("amqp://rabbitmq/", "amqp://reporting:reporting-amqp-dev@rabbitmq/"),
        ("amqp://x@[::1]:5673/%2F", "amqp://reporting:reporting-amqp-dev@[::1]:5673/%2F"),
    ],
)
def test_a_development_user_keeps_the_host_port_and_vhost(base, expected):
    assert config.dev_amqp_uri("reporting", base) == expected


def test_shared_settings_override_the_defaults():
    env = {
        "SUARA_AMQP_URI": "amqp://u:p@mq:5672/v",
        "SUARA_MONGO_URI": "mongodb://db:27017/",
        "SUARA_HTTP_HOST": "0.0.0.0",
        "SUARA_MAX_WORKERS": "4",
        "SUARA_MAX_ATTEMPTS": "3",
        "SUARA_RETRY_DELAY_MS": "50",
        "SUARA_OUTBOX_SWEEP_S": "7",
        "SUARA_REVIEW_THRESHOLD": "0.7",
        "SUARA_LOG_LEVEL": "DEBUG",
    }
    cfg = config.load("notification", env)

    assert cfg["AMQP_URI"] == "amqp://u:p@mq:5672/v"
    assert cfg["MONGO_URI"] == "mongodb://db:27017/"
    assert cfg["WEB_SERVER_ADDRESS"] == "0.0.0.0:8003"
    assert (cfg["PREFETCH"], cfg["MAX_ATTEMPTS"], cfg["RETRY_DELAY_MS"]) == (4, 3, 50)
    assert cfg["OUTBOX_SWEEP_S"] == 7
    assert cfg["REVIEW_THRESHOLD"] == pytest.approx(0.7)
    assert cfg["LOG_LEVEL"] == "DEBUG"


def test_per_service_settings_apply_to_that_service_only():
    env = {
        "SUARA_MONGO_URI": "mongodb://shared:27017/",
        "SUARA_INTAKE_MONGO_URI": "mongodb://intake:secret@db:27017/",
        "SUARA_INTAKE_DB": "suara_intake",
        "SUARA_INTAKE_PORT": "9001",
    }
    intake = config.load("intake", env)
    reporting = config.load("reporting", env)

    assert intake["MONGO_URI"] == "mongodb://intake:secret@db:27017/"
    assert intake["MONGO_DB"] == "suara_intake"
    assert intake["WEB_SERVER_ADDRESS"] == "127.0.0.1:9001"
    assert reporting["MONGO_URI"] == "mongodb://shared:27017/"
    assert reporting["MONGO_DB"] == "reporting"
    assert reporting["WEB_SERVER_ADDRESS"] == "127.0.0.1:8004"


def test_empty_values_fall_back_to_the_defaults():
    env = {"SUARA_INTAKE_MONGO_URI": "", "SUARA_INTAKE_PORT": "", "SUARA_MAX_ATTEMPTS": ""}
    cfg = config.load("intake", env)
    assert cfg["MONGO_URI"] == "mongodb://127.0.0.1:27017/"
    assert cfg["WEB_SERVER_ADDRESS"] == "127.0.0.1:8001"
    assert cfg["MAX_ATTEMPTS"] == 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("   ", {}),
        ("city-app:k1", {"k1": "city-app"}),
        ("city-app:k1,open311:k2", {"k1": "city-app", "k2": "open311"}),
        (" city-app : k1 ,\topen311:k2 , ", {"k1": "city-app", "k2": "open311"}),
        ("a:k1,,b:k2,", {"k1": "a", "k2": "b"}),
        ("bot:abc:def", {"abc:def": "bot"}),  # a key may contain ':'
    ],
)
def test_parse_api_keys_maps_key_to_client(raw, expected):
    assert config.parse_api_keys(raw) == expected


def test_api_keys_are_loaded_into_the_config():
    cfg = config.load("intake", {"SUARA_API_KEYS": "city-app:s3cret"})
    assert cfg["API_KEYS"] == {"s3cret": "city-app"}


@pytest.mark.parametrize("raw", ["nokey", ":k", "n:", " : ", "ok:k1,broken", "n:  "])
def test_parse_api_keys_rejects_malformed_pairs(raw):
    with pytest.raises(config.ConfigError, match="SUARA_API_KEYS: expected name:key"):
        config.parse_api_keys(raw)


def test_malformed_api_keys_fail_the_load():
    with pytest.raises(config.ConfigError):
        config.load("intake", {"SUARA_API_KEYS": "nokey"})


def test_an_error_message_does_not_leak_the_other_keys():
    with pytest.raises(config.ConfigError) as err:
        config.parse_api_keys("good:topsecret,broken")
    assert "topsecret" not in str(err.value)


@pytest.mark.parametrize(
    "name", ["SUARA_INTAKE_PORT", "SUARA_MAX_WORKERS", "SUARA_MAX_ATTEMPTS", "SUARA_RETRY_DELAY_MS"]
)
@pytest.mark.parametrize("value", ["80a", "8001.5", "eighty"])
def test_non_integer_numbers_are_config_errors(name, value):
    with pytest.raises(config.ConfigError, match=f"{name} must be an integer, got '{value}'"):
        config.load("intake", {name: value})


@pytest.mark.parametrize("service", ["", "Intake", "gateway", "intake "])
def test_unknown_service(service):
    with pytest.raises(config.ConfigError, match="unknown service"):
        config.load(service, {})


def test_config_error_is_a_value_error():
    assert issubclass(config.ConfigError, ValueError)


def test_every_setting_read_is_documented():
    documented = {s.name for s in config.SETTINGS}
    for service in config.SERVICES:
        assert f"SUARA_{service.upper()}_PORT" in documented
    assert {"SUARA_AMQP_URI", "SUARA_MONGO_URI", "SUARA_API_KEYS", "SUARA_MAX_ATTEMPTS"} <= (
        documented
    )


def test_an_unknown_category_in_departments_stops_the_service_at_start_up():
    with pytest.raises(config.ConfigError, match="unknown category volcano"):
        config.load("categorization", {"SUARA_DEPARTMENTS": "roads=Dinas PU,volcano=BPBD"})


def test_the_runner_refuses_a_bad_setting_before_it_takes_work():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "shared.runner", "categorization"],
        env={"SUARA_DEPARTMENTS": "volcano=BPBD", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "configuration error: SUARA_DEPARTMENTS: unknown category volcano" in done.stderr


def test_a_services_tools_use_the_database_the_service_uses():
    env = {
        "SUARA_MONGO_URI": "mongodb://shared/",
        "SUARA_CATEGORIZATION_MONGO_URI": "mongodb://own/",
        "SUARA_CATEGORIZATION_DB": "cat_db",
    }
    assert config.service_mongo("categorization", env) == ("mongodb://own/", "cat_db")
    cfg = config.load("categorization", env)
    assert (cfg["MONGO_URI"], cfg["MONGO_DB"]) == ("mongodb://own/", "cat_db")
    assert config.service_mongo("categorization", {"SUARA_MONGO_URI": "mongodb://s/"}) == (
        "mongodb://s/",
        "categorization",
    )
    assert config.service_mongo("categorization", {}) == (None, "categorization")


def test_optional_settings_are_none_when_unset_or_empty():
    assert config.optional("SUARA_MODEL_PATH", {}) is None
    assert config.optional("SUARA_MODEL_PATH", {"SUARA_MODEL_PATH": ""}) is None
    assert config.optional("SUARA_MODEL_PATH", {"SUARA_MODEL_PATH": "/m.joblib"}) == "/m.joblib"
    documented = {s.name for s in config.SETTINGS}
    assert {"SUARA_MODEL_PATH", "SUARA_CORPUS_DIR", "SUARA_LEXICON_DIR"} <= documented


def test_the_development_passwords_match_the_brokers_hashes():
    """config.DEV_AMQP_PASSWORDS are the passwords whose hashes definitions.json holds
    (rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)), 4-byte salt)."""
    import base64
    import hashlib
    import json
    from pathlib import Path

    definitions = json.loads(Path("deploy/rabbitmq/definitions.json").read_text())
    hashes = {u["name"]: base64.b64decode(u["password_hash"]) for u in definitions["users"]}
    for user, password in config.DEV_AMQP_PASSWORDS.items():
        salt, digest = hashes[user][:4], hashes[user][4:]
        assert hashlib.sha256(salt + password.encode()).digest() == digest, user


def test_the_similarity_from_which_a_me_too_case_waits_for_its_primary():
    assert config.load("intake", {})["DUPLICATE_HIDE_SIMILARITY"] == pytest.approx(0.8)
    cfg = config.load("intake", {"SUARA_DUPLICATE_HIDE_SIMILARITY": "0"})
    assert cfg["DUPLICATE_HIDE_SIMILARITY"] == 0
    with pytest.raises(config.ConfigError, match="SUARA_DUPLICATE_HIDE_SIMILARITY must be from 0"):
        config.load("intake", {"SUARA_DUPLICATE_HIDE_SIMILARITY": "1.5"})
