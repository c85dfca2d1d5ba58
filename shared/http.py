"""HTTP plumbing shared by every service: JSON in and out, error mapping, API keys, health."""

from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pymongo
from kombu import Connection
from marshmallow import ValidationError
from pymongo.database import Database
from pymongo.errors import ConnectionFailure
from werkzeug.wrappers import Request, Response

from shared import untrusted

log = logging.getLogger(__name__)

MAX_BODY_BYTES = untrusted.MAX_BYTES


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        fields: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields
        self.extra = extra or {}  # more of the answer, e.g. the moves allowed (409)


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def error_response(exc: HttpError) -> Response:
    body = {"error": exc.error, "message": exc.message, **exc.extra}
    if exc.fields:
        body["fields"] = exc.fields
    return json_response(exc.status, body)


def read_json(request: Request) -> dict:
    """The request's JSON object within shared.untrusted's bounds, or HttpError 400/413/415.

    The web server has read the body already, bounded (shared/webserver.read_body)."""
    if request.mimetype not in ("application/json", ""):
        raise HttpError(415, "unsupported_media_type", "send application/json")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        return untrusted.json_object(raw)
    except untrusted.UntrustedInput as exc:
        if exc.fields:
            raise HttpError(400, "validation", f"body {exc.message}", exc.fields) from None
        raise HttpError(400, "invalid_json", f"body {exc.message}") from None


def api(fn: Callable) -> Callable:
    """Maps HttpError and marshmallow ValidationError to JSON errors; never leaks a traceback."""

    @functools.wraps(fn)
    def wrapper(self, request, *args, **kwargs):
        try:
            return fn(self, request, *args, **kwargs)
        except HttpError as exc:
            return error_response(exc)
        except ValidationError as exc:
            return error_response(
                HttpError(400, "validation", "the request has invalid fields", exc.messages)
            )
        except ConnectionFailure:
            log.warning("%s: database unavailable", fn.__name__)
            return json_response(
                503, {"error": "unavailable", "message": "try again shortly"}, {"Retry-After": "5"}
            )
        except Exception:
            log.exception("unhandled error in %s", fn.__name__)
            return json_response(500, {"error": "internal", "message": "internal error"})

    return wrapper


def api_client(request: Request, keys: dict[str, str]) -> str:
    """The name of the machine client whose key the request carries, or HttpError 401."""
    supplied = request.headers.get("X-API-Key", "")
    auth = request.headers.get("Authorization", "")
    if not supplied and auth.lower().startswith("bearer "):
        supplied = auth[7:].strip()
    name = key_owner(keys, supplied)
    if name is None:
        raise HttpError(401, "unauthorized", "a valid API key is required (header X-API-Key)")
    return name


def key_owner(keys: dict[str, str], supplied: str | None) -> str | None:
    """The client whose key ``supplied`` is (compared in constant time), or None."""
    if supplied:
        for key, name in keys.items():
            if hmac.compare_digest(supplied.encode(), key.encode()):
                return name
    return None


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: an admin machine client (``department_id`` None) or a
    department (``SUARA_DEPARTMENT_KEYS``)."""

    name: str
    department_id: str | None = None

    @property
    def admin(self) -> bool:
        return self.department_id is None


def caller(request: Request, api_keys: dict[str, str], department_keys: dict[str, str]) -> Caller:
    """The admin client or the department whose key the request carries, or HttpError 401."""
    try:
        return Caller(api_client(request, api_keys))
    except HttpError:
        department = api_client(request, department_keys)  # 401 when neither
        return Caller(department, department)


def health(db: Database, amqp_uri: str, draining: bool = False) -> Response:
    """200 when the database and the broker answer, 503 naming the one that does not (and
    ``draining`` once the process is stopping: shared/probes.py).

    The body names the dependency only; what went wrong (hosts, ports, errors) goes to the log.
    """
    checks = {}
    try:
        with pymongo.timeout(2):  # answer quickly, whatever the client's selection timeout
            db.command("ping")
        checks["database"] = "ok"
    except Exception as exc:  # any failure is a reason to report, not to crash
        checks["database"] = "down"
        log.warning("health: database: %s: %s", type(exc).__name__, exc)
    try:
        with Connection(amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = "down"
        log.warning("health: broker: %s: %s", type(exc).__name__, exc)
    down = [name for name, state in checks.items() if state != "ok"]
    if draining:
        down.append("draining")
    body = {"status": "unavailable" if down else "ok", "checks": checks}
    if down:
        body["reasons"] = down
    return json_response(503 if down else 200, body)
