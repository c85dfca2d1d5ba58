"""Posting to an integrator's webhook (services/notification/targets.py) against real HTTP
receivers on loopback (ports the OS picks): the receiver's status comes back, redirects are not
followed, a stalled receiver costs one time limit, and the SSRF guard refuses loopback unless
its host:port is allow-listed (so every reachable receiver here is allow-listed)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from services.notification import targets, webhooks
from services.notification.targets import AttemptFailed, Refused

BODY = json.dumps({"specversion": "1.0", "id": "ev-1", "type": "x", "data": {}}).encode()
HEADERS = {"content-type": "application/cloudevents+json", "webhook-id": "wh_1.ev-1"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    """One integrator endpoint: records every request and answers ``status`` (with
    ``location``), or holds the request unanswered (``stall``) until it is stopped."""

    def __init__(self, status: int = 200, location: str = "", stall: bool = False):
        self.requests: list[Request] = []
        self.status, self.location, self.stall = status, location, stall
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Request("POST", self.path, headers, raw))
                if receiver.stall:
                    receiver.release.wait()
                    return
                answer = b'{"ok": true}'
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST  # noqa: N815 (a followed 303 would arrive as a GET)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.hostport = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.hostport}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def start():
    """Start receivers answering as asked; all stopped (and released) after the test."""
    running: list[Receiver] = []

    def _start(**answer) -> Receiver:
        server = Receiver(**answer).__enter__()
        running.append(server)
        return server

    yield _start
    for server in running:
        server.__exit__(None, None, None)


def allowing(*servers: Receiver) -> frozenset[str]:
    return frozenset(s.hostport for s in servers)


def post(url: str, allowed: frozenset[str], timeout_s: float = 5.0, headers=None) -> int:
    return targets.post(url, BODY, headers or HEADERS, allowed, timeout_s)


# ---------------------------------------------------------------- answered


@pytest.mark.parametrize("status", [200, 202, 204])
def test_a_2xx_answer_is_returned_and_the_receiver_got_the_post(start, status):
    server = start(status=status)

    assert post(f"{server.url}/hooks/suara?tenant=7", allowing(server)) == status

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/hooks/suara?tenant=7"
    assert request.body == BODY
    assert request.headers["host"] == server.hostport
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["webhook-id"] == "wh_1.ev-1"
    assert request.headers["content-length"] == str(len(BODY))


def test_a_url_without_a_path_posts_to_the_root(receiver):
    assert post(receiver.url, allowing(receiver)) == 200

    assert [r.path for r in receiver.requests] == ["/"]


@pytest.mark.parametrize("status", [500, 502, 503, 400, 404, 410])
def test_an_error_answer_is_returned_not_raised(start, status):
    server = start(status=status)

    assert post(f"{server.url}/in", allowing(server)) == status

    assert len(server.requests) == 1


def test_the_receiver_verifies_the_signed_delivery(receiver):
    secret = webhooks.new_secret()
    body = BODY.decode()
    signed = webhooks.headers("wh_1.ev-1", body, [secret], datetime.now(UTC))

    assert post(f"{receiver.url}/in", allowing(receiver), headers=signed) == 200

    (request,) = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(body)


# ---------------------------------------------------------------- redirects, stalls, refusals


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed(start, status):
    elsewhere = start()
    server = start(status=status, location=f"{elsewhere.url}/stolen")

    # even with the redirect's target allow-listed: the 3xx is the answer
    assert post(f"{server.url}/in", allowing(server, elsewhere)) == status

    assert len(server.requests) == 1
    assert elsewhere.requests == []


def test_a_stalled_receiver_costs_the_time_limit_and_no_more(start):
    server = start(stall=True)

    began = time.monotonic()
    with pytest.raises(AttemptFailed, match="timed out") as caught:
        post(f"{server.url}/in", allowing(server), timeout_s=0.5)
    took = time.monotonic() - began

    assert took < 5.0  # generous: the limit is 0.5 s
    assert len(server.requests) == 1  # connected and sent: the answer never came
    assert server.hostport in str(caught.value)


def test_a_connection_refused_is_a_failed_attempt():
    with socket.socket() as probe:  # a port nothing listens on (any more)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    began = time.monotonic()
    with pytest.raises(AttemptFailed, match="ConnectionRefusedError"):
        post(f"http://127.0.0.1:{port}/in", frozenset({f"127.0.0.1:{port}"}))
    assert time.monotonic() - began < 5.0


def test_loopback_is_refused_unless_allow_listed(receiver):
    for allowed in (frozenset(), frozenset({f"127.0.0.1:{receiver.port + 1}"})):
        with pytest.raises(Refused, match="127.0.0.1 is loopback"):
            post(f"{receiver.url}/in", allowed)
        with pytest.raises(Refused):
            targets.vet(f"{receiver.url}/in", allowed)
    assert receiver.requests == []

    assert targets.vet(f"{receiver.url}/in", allowing(receiver)) == "127.0.0.1"
    assert post(f"{receiver.url}/in", allowing(receiver)) == 200
    assert len(receiver.requests) == 1


def test_a_name_resolving_to_loopback_is_refused(receiver):
    url = f"http://localhost:{receiver.port}/in"

    # the allow-list names hosts as written: 127.0.0.1 allowed does not allow localhost
    for allowed in (frozenset(), allowing(receiver)):
        with pytest.raises(Refused, match=r"localhost: .* is loopback"):
            post(url, allowed)
    assert receiver.requests == []

    assert targets.vet(url, frozenset({f"localhost:{receiver.port}"})) in ("127.0.0.1", "::1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://{hostport}/in", "must be an http:// or https:// URL"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("http://user:secret@{hostport}/in", "must not carry credentials"),
        ("http://token@{hostport}/in", "must not carry credentials"),
        ("http://{hostport}/in#part", "must not have a fragment"),
    ],
)
def test_a_url_that_is_not_plain_http_is_refused_even_allow_listed(receiver, url, reason):
    url = url.format(hostport=receiver.hostport)

    with pytest.raises(Refused, match=reason):
        post(url, allowing(receiver))
    with pytest.raises(Refused, match=reason):
        targets.vet(url, allowing(receiver))
    assert receiver.requests == []


def test_a_trickling_receiver_costs_the_time_limit_and_no_more():
    release = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(10):  # a header line every 0.3 s: each read within the limit
                if release.wait(0.3):
                    return
                conn.sendall(b"X-Slow: 1\r\n")
            conn.sendall(b"Content-Length: 0\r\n\r\n")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        began = time.monotonic()
        with pytest.raises(AttemptFailed):
            post(f"http://127.0.0.1:{port}/in", frozenset({f"127.0.0.1:{port}"}), timeout_s=0.5)
        assert time.monotonic() - began < 2.0  # generous: the limit is 0.5 s
    finally:
        release.set()
        thread.join(5)
        listener.close()
