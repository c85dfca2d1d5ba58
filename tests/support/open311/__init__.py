"""The Open311 GeoReport v2 JSON Schemas (georeport-v2/, copied unchanged from the forum's
shared folder, ../shared/open311/) and a validator that resolves their $refs."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parent / "georeport-v2"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "open311" / "georeport-v2"


def _registry() -> Registry:
    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT7))
        for p in sorted(SCHEMAS.glob("*.json"))
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def errors(schema: str, document) -> list[str]:
    """What is wrong with ``document`` against ``schema`` (e.g. "requests.json"), if anything."""
    validator = Draft7Validator(json.loads((SCHEMAS / schema).read_text()), registry=REGISTRY)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]
