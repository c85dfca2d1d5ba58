"""What every service answers for its operators: liveness, readiness and metrics.

- ``GET /health/live``: 200 while the process serves HTTP at all (a container that died makes
  the process exit: shared/runner.py). Kubernetes restarts a process that stops answering it.
- ``GET /health/ready`` (and ``GET /health``, the same, kept for existing checks): 200 when the
  database and the broker answer, 503 naming the one that does not; 503 ``draining`` from the
  moment the process got SIGTERM, so a load balancer stops sending it requests while the work
  in flight finishes (shared/runner.py waits ``SUARA_DRAIN_S`` before it stops the service).
- ``GET /metrics``: shared/metrics.py.
- ``GET /openapi.json``: this service's OpenAPI 3.1 document (shared/openapi.py).
- ``GET /asyncapi.json``: the AsyncAPI document of every event and command (shared/asyncapi.py).

It also puts each worker in a span with its log context (shared/observability.py).

A service class inherits these entrypoints (``class IntakeService(Probes)``); a service with
values of its own to read at scrape time defines ``read_metrics(self)``.
"""

from __future__ import annotations

import functools
import threading

from shared import asyncapi, metrics, openapi
from shared.http import health, json_response
from shared.observability import Observed
from shared.webserver import http

# set once, on SIGTERM (shared/runner.py); one service per process
DRAINING = threading.Event()
# generated from the code, the same for the life of the process: once
_asyncapi_document = functools.cache(asyncapi.document)
_openapi_document = functools.cache(openapi.document)


class Probes:
    observed = Observed()  # each message's and request's span and log context

    @http("GET", "/health/live")
    def health_live(self, request):
        return json_response(200, {"status": "ok"})

    @http("GET", "/health/ready")
    def health_ready(self, request):
        return health(self.db, self.config["AMQP_URI"], draining=DRAINING.is_set())

    @http("GET", "/health")
    def health(self, request):  # the same as /health/ready, kept for existing checks
        return self.health_ready(request)

    @http("GET", "/asyncapi.json")
    def asyncapi_document(self, request):
        return json_response(200, _asyncapi_document())

    @http("GET", "/openapi.json")
    def openapi_document(self, request):
        return json_response(200, _openapi_document(self.name, type(self)))

    @http("GET", "/metrics", produces="text/plain")
    def prometheus_metrics(self, request):
        return metrics.exposition(
            self.name,
            self.db,
            self.config["AMQP_URI"],
            request.headers.get("Accept"),
            extra=getattr(self, "read_metrics", None),
        )
