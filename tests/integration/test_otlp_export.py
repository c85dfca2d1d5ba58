"""Spans leave over OTLP/HTTP when an endpoint is configured (SUARA_OTLP_ENDPOINT): a
service process's spans reach a collector of the test's own (a real HTTP server on loopback
that records what is POSTed to /v1/traces), named after the service, with the trace a
request's traceparent started."""

import http.server
import subprocess
import sys
import threading
import uuid

from tests.helpers import wait_for

SCRIPT = """
import sys
from opentelemetry import trace
from shared import observability
observability.configure_tracing("intake", sys.argv[1])
parent = observability._parent({"traceparent": sys.argv[2]})
span = observability._tracer.start_span("POST /api/v1/feedback", context=parent)
span.end()
trace.get_tracer_provider().force_flush()
"""


def test_spans_are_exported_to_the_configured_collector():
    received: list[tuple[str, str, bytes]] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trace_id = uuid.uuid4().hex
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                SCRIPT,
                f"http://127.0.0.1:{server.server_port}",
                f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        wait_for(lambda: received, timeout=10, message="a POST at the collector")
    finally:
        server.shutdown()
    path, content_type, body = received[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"suara-intake" in body and b"POST /api/v1/feedback" in body
    assert bytes.fromhex(trace_id) in body  # the request's trace, continued
