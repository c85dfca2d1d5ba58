"""The published contracts: docs/asyncapi.yaml is what the contracts module generates (so it
cannot drift from the code), the AsyncAPI CLI (npm, tests/contracts) finds it valid, and it
names every exchange, routing key, consumer queue and payload."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from shared import asyncapi, events, openapi, registry, topology

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "tests" / "contracts" / "node_modules" / ".bin" / "asyncapi"
COMMITTED = ROOT / "docs" / "asyncapi.yaml"


def test_the_committed_document_is_the_generated_one():
    assert COMMITTED.read_text() == asyncapi.as_yaml(), "run make contracts"


def test_it_names_every_event_queue_and_payload():
    doc = asyncapi.document()
    addresses = {(c["address"], c["bindings"]["amqp"]["is"]) for c in doc["channels"].values()}
    for spec in events.EVENTS.values():
        assert (spec.type, "routingKey") in addresses
        for consumer in spec.consumers:
            assert (topology.event_queue_name(consumer, spec.type), "queue") in addresses
        assert spec.schema.__name__ in doc["components"]["schemas"]
    assert ("feedback.submit", "routingKey") in addresses
    assert "SubmitCommand" in doc["components"]["schemas"]
    exchanges = {
        c["bindings"]["amqp"]["exchange"]["name"]
        for c in doc["channels"].values()
        if "exchange" in c["bindings"]["amqp"]
    }
    assert exchanges == {s.exchange for s in events.EVENTS.values()} | {topology.COMMAND_EXCHANGE}


def validate_with_cli(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``asyncapi validate`` (errors fail it), its analytics off: no tracking, no network."""
    settings = tmp_path / "asyncapi-analytics"
    settings.write_text(
        json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "ci"})
    )
    return subprocess.run(
        [str(CLI), "validate", str(path), "--fail-severity", "error"],
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "ASYNCAPI_METRICS_CONFIG_PATH": str(settings),
            "SUPPRESS_NO_CONFIG_WARNING": "1",
        },
    )


@pytest.mark.skipif(not CLI.exists() and not os.environ.get("CI"), reason="make contract-tools")
def test_the_asyncapi_cli_finds_it_valid(tmp_path):
    assert CLI.exists(), "the AsyncAPI CLI is missing: make contract-tools"
    done = validate_with_cli(COMMITTED, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stdout


@pytest.mark.skipif(not CLI.exists() and not os.environ.get("CI"), reason="make contract-tools")
def test_a_broken_document_is_refused(tmp_path):
    doc = yaml.safe_load(COMMITTED.read_text())
    doc["operations"][next(iter(doc["operations"]))]["action"] = "publish"  # AsyncAPI 2's word
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc))
    assert validate_with_cli(broken, tmp_path).returncode != 0


@pytest.mark.parametrize("service", sorted(registry.SERVICE_CLASSES))
def test_the_committed_openapi_documents_are_the_generated_ones_and_valid(service):
    from openapi_spec_validator import validate

    committed = ROOT / "docs" / "openapi" / f"{service}.json"
    assert committed.read_text() == openapi.as_json(service), "run make contracts"
    validate(json.loads(committed.read_text()))


def test_a_route_with_a_schema_documents_its_body_and_its_errors():
    doc = openapi.for_service("intake")
    submit = doc["paths"]["/api/v1/feedback"]["post"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/FeedbackSubmission"}
    assert "text" in doc["components"]["schemas"]["FeedbackSubmission"]["properties"]
    error = submit["responses"]["4XX"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    cases = doc["paths"]["/api/v1/cases"]["get"]
    assert cases["security"] == [{"apiKey": []}]
    assert {p["name"] for p in cases["parameters"] if p["in"] == "query"} >= {"department_id"}
