"""Suara's HTTP entrypoint: nameko's ``@http`` on a web server that slow or hostile clients
cannot starve.

What it adds to nameko's server (every service uses ``shared.webserver.http``):
- a cap on open connections (``HTTP_CONNECTIONS``): one more is answered 503 and closed;
- a deadline for the headers and for the body (``HTTP_READ_TIMEOUT_S``): 408 after it; the
  body is read here, in the connection's own thread, before a worker is taken, so a stalled
  upload holds a connection, never a worker; chunked bodies are read like any other;
- a budget of HTTP workers (``HTTP_WORKERS``) apart from the AMQP consumers' (``PREFETCH``),
  so HTTP work cannot take every worker away from the queues;
- header lines with CR, LF or other control characters inside, and folded lines, are refused;
- JSON errors for everything, unknown routes and malformed requests included, never
  echoing the request.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import time
from functools import partial
from http import HTTPStatus

import eventlet
from eventlet.semaphore import Semaphore
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request

from shared import metrics, untrusted
from shared.http import HttpError, error_response, json_response

log = logging.getLogger(__name__)

CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # any but TAB, inside a header line
ERROR_NAMES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    411: "length_required",
    413: "too_large",
    414: "uri_too_long",
    431: "headers_too_large",
    500: "internal",
    501: "not_implemented",
    503: "unavailable",
    505: "http_version_not_supported",
}


def error_bytes(status: int, message: str | None = None, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response with Suara's JSON error body; the connection closes."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps(
        {"error": ERROR_NAMES.get(status, "error"), "message": message or phrase}
    ).encode()
    extra = f"Retry-After: {retry_after}\r\n" if retry_after else ""
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _CheckedHeaderLines:
    """Reads header lines for http.client, noting any that carries CR, LF or another control
    character inside it, or that is folded (the stdlib would split or join such lines)."""

    def __init__(self, rfile):
        self._rfile = rfile
        self.bad = False

    def readline(self, size=-1):
        line = self._rfile.readline(size)
        content = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
        if content[:1] in (b" ", b"\t") or CONTROL_BYTES.search(content):
            self.bad = True
        return line


class Protocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with a header deadline, strict header lines and JSON errors."""

    def parse_request(self):
        checked = self.rfile = _CheckedHeaderLines(self.rfile)
        deadline = eventlet.Timeout(self.server.read_timeout_s)
        try:
            ok = super().parse_request()
        except eventlet.Timeout as timeout:
            if timeout is not deadline:
                raise
            self.send_json_error(408, "the request headers did not arrive in time")
            return False
        finally:
            deadline.cancel()
        if not ok:
            return False
        problem = framing_problem(self.headers)
        if checked.bad:
            problem = "a header line contains a control character or is folded"
        if problem:  # eventlet would answer these itself, in plain text
            self.send_json_error(400, problem)
            return False
        return True

    def send_error(self, code, message=None, explain=None):
        """The stdlib's HTML error page, as Suara's JSON error; its message may quote the
        request, so only the status phrase is sent."""
        self.send_json_error(code)

    def send_json_error(self, code: int, message: str | None = None) -> None:
        self.close_connection = True
        try:
            status = HTTPStatus(code).value
        except ValueError:
            status = 400
        self.wfile.write(error_bytes(status, message))
        try:
            self.wfile.flush()
        except OSError:
            pass


def framing_problem(headers) -> str | None:
    """Why the body's framing is refused (RFC 9112 6.3), or None."""
    lengths = headers.get_all("content-length") or []
    if lengths:
        if len(set(lengths)) > 1 or not all(v.strip().isdigit() for v in lengths):
            return "Content-Length must be one non-negative integer"
        if headers.get("transfer-encoding") is not None:
            return "Content-Length and Transfer-Encoding are not allowed together"
    return None


KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


class App(WsgiApp):
    """Reads the body in the connection's thread (bounded in size and time), then routes;
    unknown routes and methods get JSON errors."""

    def __call__(self, environ, start_response):
        started = time.monotonic()
        environ["suara.route"] = "unrouted"
        try:
            response = self._respond(environ)
        except Exception:
            log.exception("unhandled error before a handler")
            response = json_response(500, {"error": "internal", "message": "internal error"})
        # by route as declared, never the path asked for (ids, tokens): bounded, no personal data
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in KNOWN_METHODS else "other"
        route = environ["suara.route"]
        metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(method, route).observe(time.monotonic() - started)
        return response(environ, start_response)

    def _respond(self, environ):
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            environ["suara.route"] = provider.url
        except HTTPException as exc:  # RequestRedirect, MethodNotAllowed and 404 too
            provider, values, unrouted = None, None, exc
        # the body is read (bounded) before anything else is answered: the route's own bound
        limit = getattr(provider, "max_body", None) or untrusted.MAX_BYTES
        try:
            read_body(environ, self.server.read_timeout_s, limit)
        except HttpError as exc:
            response = error_response(exc)
            response.headers["Connection"] = "close"
            return response
        request = Request(environ, shallow=True)
        if provider is None:
            return self._unrouted(environ, unrouted)
        request.path_values = values
        return provider.handle_request(request)

    @staticmethod
    def _unrouted(environ, exc: HTTPException):
        if isinstance(exc, RequestRedirect):
            return exc.get_response(environ)
        if isinstance(exc, MethodNotAllowed):
            return json_response(
                405,
                {"error": "method_not_allowed", "message": "method not allowed on this path"},
                {"Allow": ", ".join(exc.valid_methods or [])},
            )
        code = exc.code or 404
        return json_response(
            code,
            {
                "error": ERROR_NAMES.get(code, "error"),
                "message": "no such resource" if code == 404 else HTTPStatus(code).phrase,
            },
        )


def read_body(environ: dict, timeout_s: float, max_bytes: int = untrusted.MAX_BYTES) -> None:
    """Read the whole request body within ``timeout_s`` and hand it on as a plain stream.

    Content-Length or chunked; more than ``max_bytes`` is 413, a stall 408, a body shorter
    than announced or broken chunks 400.
    """
    stream = environ["wsgi.input"]
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if "HTTP_TRANSFER_ENCODING" in environ and not chunked:
        raise HttpError(501, "not_implemented", "only chunked transfer coding is supported")
    length = int(environ.get("CONTENT_LENGTH") or 0)  # eventlet refused bad values already
    if length > max_bytes:
        raise HttpError(413, "too_large", f"body larger than {max_bytes} bytes")
    timer = eventlet.Timeout(timeout_s)
    try:
        data = stream.read(max_bytes + 1) if chunked else stream.read(length) if length else b""
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        raise HttpError(
            408, "request_timeout", f"the body did not arrive within {timeout_s:g} s"
        ) from None
    except (ValueError, OSError):  # broken chunks, a connection reset mid-body
        raise HttpError(400, "bad_request", "the body could not be read") from None
    finally:
        timer.cancel()
    if len(data) > max_bytes:
        raise HttpError(413, "too_large", f"body larger than {max_bytes} bytes")
    if len(data) < length:
        raise HttpError(400, "bad_request", "the body is shorter than its Content-Length")
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["CONTENT_LENGTH"] = str(len(data))
    environ["wsgi.input"] = io.BytesIO(data)


class Server(WebServer):
    """nameko's WebServer with a connection cap, read deadlines and an HTTP worker budget."""

    def setup(self):
        config = self.container.config
        self.max_connections = int(config.get("HTTP_CONNECTIONS", 100))
        self.read_timeout_s = float(config.get("HTTP_READ_TIMEOUT_S", 10))
        self.worker_slots = Semaphore(int(config.get("HTTP_WORKERS", 10)))
        self.open_connections = 0
        self.refusing = 0  # connections over the cap being answered 503
        super().setup()

    def start(self):
        # nameko's start with a listen backlog above the connection cap: with eventlet's 50, a
        # burst of connections waits in SYN retransmits for seconds, and arrives in any order
        if not self._starting:
            self._starting = True
            self._sock = eventlet.listen(self.bind_addr, backlog=self.max_connections + 128)
            self._sock.settimeout(None)  # https://github.com/celery/kombu/issues/838
            self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
            self._gt = self.container.spawn_managed_thread(self.run)

    def run(self):
        while self._is_accepting:
            sock, addr = self._sock.accept()
            if self.open_connections >= self.max_connections:
                if self.refusing < self.max_connections:
                    self.refusing += 1
                    self.container.spawn_managed_thread(partial(self._refuse, sock))
                else:  # a flood: not even a 503
                    sock.close()
                continue
            self.open_connections += 1
            sock.settimeout(self._serv.socket_timeout)
            self.container.spawn_managed_thread(partial(self._serve, sock, addr))

    def _serve(self, sock, addr):
        try:
            self.process_request(sock, addr)
        except OSError:  # the client went away
            pass
        except Exception:  # an exception here would kill the whole container
            log.exception("error on an HTTP connection")
        finally:
            self.open_connections -= 1
            sock.close()

    def _refuse(self, sock):
        try:
            refuse(sock)
        finally:
            self.refusing -= 1

    def get_wsgi_app(self):
        return App(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=Protocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        server.socket_timeout = self.read_timeout_s  # each read and write on a connection
        server.keepalive = self.read_timeout_s  # an idle keep-alive connection is closed after
        server.read_timeout_s = self.read_timeout_s
        return server


REFUSE_LINGER_S = 1.0


def refuse(sock) -> None:
    """Answer a connection over the cap with a 503 and close it within about a second.

    The request the client sent at once is read and dropped after the answer: a socket closed
    with unread bytes resets the connection, and the reset can destroy the 503 in the client's
    buffer before it reads it."""
    deadline = time.monotonic() + REFUSE_LINGER_S
    try:
        sock.settimeout(0.5)
        sock.sendall(error_bytes(503, "too many open connections; try again", retry_after=1))
        sock.shutdown(socket.SHUT_WR)
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(65536):
                break
    except OSError:
        pass
    finally:
        sock.close()


class HttpEntrypoint(HttpRequestHandler):
    """nameko's ``@http``, on Suara's server; at most ``HTTP_WORKERS`` requests run at once,
    a request waits up to the read timeout for a slot, then gets 503. ``max_body``: a route's
    own bound on its body (photos), else shared.untrusted's. ``body``, ``query``,
    ``produces``, ``success`` and ``auth`` describe the route in its OpenAPI document."""

    server = Server()

    def __init__(
        self,
        method,
        url,
        max_body: int | None = None,
        *,
        body=None,
        query=None,
        produces: str | None = None,
        success: int | None = None,
        auth: bool = False,
        **kwargs,
    ):
        self.max_body = max_body
        # what the route's OpenAPI operation says (shared/openapi.py): the marshmallow schemas
        # of its JSON body and its query, what it answers when it succeeds, whether it wants a key
        self.body, self.query, self.auth = body, query, auth
        self.produces, self.success = produces, success
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        slots = self.server.worker_slots
        if not slots.acquire(timeout=self.server.read_timeout_s):
            return json_response(
                503,
                {"error": "unavailable", "message": "too many requests at once; try again"},
                {"Retry-After": "1"},
            )
        try:
            return super().handle_request(request)
        finally:
            slots.release()


http = HttpEntrypoint.decorator
