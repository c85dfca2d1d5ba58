"""Each service's OpenAPI 3.1 document (issue 14): served at /openapi.json, equal to the one
committed under docs/openapi, valid (openapi-spec-validator), and schemathesis, fuzzing every
operation from it with a bounded number of examples, finds no 5xx and no answer that breaks
the document (the JSON error body, the documented media types)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from shared import registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SUARA_SCHEMATHESIS_EXAMPLES", "8"))


@pytest.mark.parametrize("service", sorted(registry.SERVICE_CLASSES))
def test_the_served_document_is_the_committed_one_and_valid(client, service):
    if service not in client.platform.urls:
        pytest.skip(f"{service} is not reachable in this mode")
    served = requests.get(client.url(service, "/openapi.json"), timeout=10)
    assert served.status_code == 200
    committed = json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())
    assert served.json() == committed, "run make contracts"
    validate(committed)


@pytest.mark.parametrize("service", sorted(registry.SERVICE_CLASSES))
def test_schemathesis_finds_no_5xx_and_no_schema_mismatch(client, service, tmp_path):
    if service not in client.platform.urls:
        pytest.skip(f"{service} is not reachable in this mode")
    base = client.url(service, "")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "14",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--header",
            f"X-API-Key: {client.api_key}",
            "--exclude-path-regex",
            "^/(metrics|health.*|openapi.json|asyncapi.json)$",
            "--generation-database",
            "none",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    print(done.stdout[-1500:])  # the summary, in the test log
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
