"""Each service's OpenAPI 3.1 document (``GET /openapi.json``), generated from the service
class itself, so it cannot drift: every ``@http`` route with its path parameters and its
docstring, and, where the route declares them (``@http(..., body=Schema, query=Schema,
produces=...)``), its request body and query parameters from the marshmallow schemas the
handler validates with (apispec's converter). Every route's answers: its success (JSON unless
it ``produces`` something else) and the JSON error body every error shares
(``{"error", "message", "fields"?}``, shared/http.py).

    python -m shared.openapi intake > docs/openapi/intake.json      # make contracts
"""

from __future__ import annotations

import json
import re
import sys

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared import registry

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid, unauthorized"},
        "message": {"type": "string"},
        "fields": {"type": "object", "description": "per field, what is wrong (400)"},
    },
}
DESCRIPTIONS = {
    "intake": "Feedback in from every channel, each case's lifecycle, the citizen's pages, "
    "Open311 GeoReport v2.",
    "categorization": "Classification, routing to a department, the review queue.",
    "notification": "Integrators' webhooks and the delivery log.",
    "reporting": "Reports, open-data exports, the forum report and the dashboard.",
}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _path(rule: str) -> tuple[str, list[str]]:
    names = [m.group(2) for m in _PARAM.finditer(rule)]
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), names


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def routes(service_cls) -> list:
    from shared.webserver import HttpEntrypoint

    found = []
    for attr in sorted(dir(service_cls)):
        method = getattr(service_cls, attr, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpEntrypoint):
                found.append((entrypoint, getattr(method, "__wrapped__", method), attr))
    return sorted(found, key=lambda r: (r[0].url, r[0].method))


def document(service: str, service_cls, version: str = "1.0.0") -> dict:
    spec = APISpec(
        title=f"Suara {service}",
        version=version,
        openapi_version="3.1.0",
        info={
            "description": DESCRIPTIONS.get(service, ""),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
    )
    spec.components.schema("Error", ERROR)
    spec.components.schema(
        "GeoReportErrors",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
            },
        },
    )
    spec.components.security_scheme(
        "apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )
    operations: dict[str, dict] = {}
    for entrypoint, method, name in routes(service_cls):
        path, names = _path(entrypoint.url)
        for verb in entrypoint.method.split(","):
            operation = _operation(service, entrypoint, method, name, names, verb)
            operations.setdefault(path, {})[verb.lower()] = operation
    for path, ops in operations.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def _path_schema(name: str) -> dict:
    if name == "fmt":
        return {"type": "string", "enum": ["json", "xml"]}
    return {"type": "string"}


def _operation(service, entrypoint, method, name, names, verb) -> dict:
    doc = (method.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else name.replace("_", " ")
    produces = getattr(entrypoint, "produces", None) or "application/json"
    success = str(getattr(entrypoint, "success", None) or "2XX")
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    success_content = {produces: {"schema": {}}}
    if "/open311/" in entrypoint.url:  # GeoReport v2: JSON or XML, and its own error list
        success_content = {"application/json": {"schema": {}}, "text/xml": {"schema": {}}}
        error = {
            "application/json": {"schema": {"$ref": "#/components/schemas/GeoReportErrors"}},
            "text/xml": {"schema": {}},
        }
    operation: dict = {
        "operationId": f"{service}_{name}_{verb.lower()}",
        "summary": summary[:120],
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": _path_schema(n)} for n in names
        ],
        "responses": {
            success: {"description": "done", "content": success_content},
            "3XX": {"description": "see Location (a page's form, after it is sent)"},
            "4XX": {
                "description": "refused: the same JSON error body everywhere",
                "content": error,
            },
            "5XX": {"description": "unavailable (503: a dependency, or busy)", "content": error},
        },
    }
    if doc:
        operation["description"] = doc
    query = getattr(entrypoint, "query", None)
    if query is not None:
        operation["parameters"].append({"in": "query", "schema": query})
    body = getattr(entrypoint, "body", None)
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if getattr(entrypoint, "auth", None):
        operation["security"] = [{"apiKey": []}]
    return operation


def for_service(service: str) -> dict:
    return document(service, registry.service_class(service))


def as_json(service: str) -> str:
    return json.dumps(for_service(service), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(as_json(sys.argv[1]))
