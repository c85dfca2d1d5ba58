"""Issue 7's reproducers: no message, request or slow client takes a service down.

Each of these failed on main before the fix: a message that killed intake's container, 500s on
odd text and deep JSON, slow clients that held every worker, HTML errors, injected headers.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import requests

from shared import topology
from tests.e2e.conftest import MAX_CONNECTIONS, READ_TIMEOUT_S
from tests.helpers import wait_for
from tests.support.client import API_KEY
from tests.support.wire import raw_http, read_response, stall_uploads

DEEP = "[" * 10_000 + "]" * 10_000
COMMAND_DEAD = topology.dead_queue_name(topology.command_queue_name("feedback.submit"))


def post_raw(client, service: str, path: str, body: bytes) -> requests.Response:
    return client.http.post(
        client.url(service, path),
        data=body,
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
        timeout=10,
    )


BODY_ENDPOINTS = [
    ("intake", "/api/v1/feedback"),
    ("categorization", "/api/v1/classify"),
    ("categorization", "/api/v1/feedback/SU-0000000000/category"),
]


def test_one_amqp_message_no_longer_kills_intake(client):
    """A 10,000-deep JSON command and a ``nameko.call_id_stack: 5`` header killed intake's
    container for good (requeued, so every restart died again)."""
    client.drain(COMMAND_DEAD)
    source = f"e2e-{uuid.uuid4().hex[:6]}"
    client.send_command(b'{"source":"p","external_id":"d","text":' + DEEP.encode() + b"}")
    client.send_command(
        {"source": source, "external_id": "hdr", "text": "Lampu jalan mati di Jl. Sultan Agung"},
        headers={"nameko.call_id_stack": 5},
    )
    before = client.summary()["total"]
    client.send_command(
        {"source": source, "external_id": "after", "text": "Sampah menumpuk di Pasar Grogolan"}
    )
    wait_for(lambda: client.summary()["total"] >= before + 1, timeout=30, message="stored after")
    dead = wait_for(lambda: (d := client.drain(COMMAND_DEAD)) and d, timeout=10)
    assert len(dead) == 1 and "nested deeper than 32" in dead[0][0]["x-suara-reason"]
    assert requests.get(client.url("intake", "/health"), timeout=2).status_code == 200


def test_empty_command_bodies_are_dead_lettered_not_looped(client, native):
    client.drain(COMMAND_DEAD)
    for _ in range(3):
        client.send_command(b"")
    dead: list = []
    wait_for(lambda: dead.extend(client.drain(COMMAND_DEAD)) or len(dead) >= 3, timeout=15)
    assert all("not JSON" in h["x-suara-reason"] for h, _ in dead), dead
    assert native.procs["intake"].log_path.stat().st_size < 50_000_000


def test_lone_surrogates_and_nul_are_400_with_the_field_not_500(client):
    for text in ('"abc \\ud800 def"', '"abc \\u0000 def"'):
        body = ('{"text": ' + text + ', "location": {"address": ' + text + "}}").encode()
        r = post_raw(client, "intake", "/api/v1/feedback", body)
        assert r.status_code == 400, r.text
        assert set(r.json()["fields"]) == {"text", "location.address"}
    r = post_raw(client, "categorization", "/api/v1/classify", b'{"text": "a \\udfff b"}')
    assert r.status_code == 400 and "text" in r.json()["fields"]


def test_json_nested_10000_deep_is_400_on_every_body_endpoint(client):
    for service, path in BODY_ENDPOINTS:
        r = post_raw(client, service, path, ('{"text": ' + DEEP + "}").encode())
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert "nested deeper than 32" in r.json()["message"], r.text[:200]


def test_a_chunked_body_is_read(client):
    body = json.dumps({"text": "Jalan berlubang di Jl. Dr. Wahidin, bahaya"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    r = raw_http(
        client.url("intake", ""),
        b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks,
    )
    assert r.status == 201, r.body
    assert client.feedback(r.json()["id"])["status"] in ("received", "categorized", "in_review")


def test_a_bare_cr_or_lf_inside_a_header_is_refused(client):
    key = uuid.uuid4().hex
    for separator in (b"\r", b"\n "):
        r = raw_http(
            client.url("intake", ""),
            b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Idempotency-Key: " + key.encode() + separator + b"X-Injected: yes\r\n"
            b"Content-Length: 30\r\nConnection: close\r\n\r\n" + b'{"text": "lampu mati di gang"}',
        )
        assert r.status == 400, r.body
        assert r.headers["content-type"] == "application/json" and "header" in r.json()["message"]
    replay = client.submit("lampu mati di gang", headers={"Idempotency-Key": key})
    assert "Idempotent-Replayed" not in replay.headers  # nothing was stored under the key


def test_unknown_routes_methods_and_broken_requests_answer_json(client):
    long = "x" * 3000
    for method, path, status in (
        ("GET", f"/nope/{long}", 404),
        ("DELETE", "/api/v1/feedback", 405),
        ("GET", f"/api/v1/feedback/{long}", 404),
    ):
        r = client.http.request(method, client.url("intake", path), timeout=5)
        assert r.status_code == status and r.headers["Content-Type"] == "application/json"
        assert long not in r.text  # never echoes what it was sent
    for request in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /\x00 HTTP/1.1 x\r\n\r\n"):
        r = raw_http(client.url("intake", ""), request)
        assert 400 <= r.status < 600 and r.headers["content-type"] == "application/json", r
        assert b"<html" not in r.body.lower()


def test_50_stalled_uploads_leave_health_and_amqp_flowing_and_get_408(client):
    stalled = stall_uploads(client.url("intake", ""), 50)
    try:
        started = time.monotonic()
        r = requests.get(client.url("intake", "/health"), timeout=5)
        assert r.status_code == 200 and time.monotonic() - started < 1.0
        before = client.summary()["total"]
        client.send_command(
            {"source": "e2e-stall", "external_id": uuid.uuid4().hex, "text": "Rob di Bandengan"}
        )
        wait_for(lambda: client.summary()["total"] >= before + 1, timeout=READ_TIMEOUT_S)
        ok = client.submit("Jalan rusak di Jl. Pemuda dekat alun-alun")
        assert ok.status_code == 201
        answers = [read_response(s) for s in stalled]  # after the read timeout
        assert {a.status for a in answers} == {408}
        assert all(a.json()["error"] == "request_timeout" for a in answers)
    finally:
        for s in stalled:
            s.close()


def test_connections_beyond_the_cap_are_answered_503_at_once(client):
    host, port = client.url("intake", "").removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(MAX_CONNECTIONS)]
    try:

        def over_cap():
            r = raw_http(client.url("intake", ""), b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 5)
            # the previous test's 50 stalled uploads count until the server times them out,
            # and idle connections refused meanwhile are closed: once those drain, fewer than
            # the cap of ours are open, so top up (at most three times the cap in all)
            if r.status != 503 and len(idle) < 3 * MAX_CONNECTIONS:
                idle.extend(
                    socket.create_connection((host, int(port)), timeout=10) for _ in range(10)
                )
            return r.status == 503 and r

        r = wait_for(over_cap, timeout=READ_TIMEOUT_S - 1)
        assert r.json()["error"] == "unavailable" and r.headers["retry-after"] == "1"
    finally:
        for s in idle:
            s.close()
    wait_for(
        lambda: requests.get(client.url("intake", "/health"), timeout=2).status_code == 200,
        timeout=10,
    )


def test_headers_that_trickle_in_get_408_within_the_read_timeout(client):
    """A slowloris: one more header byte a second, never the end of the headers."""
    host, port = client.url("intake", "").removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sock.settimeout(1.0)  # each wait for the answer is also the pause between bytes
        answer = b""
        while not answer and time.monotonic() - started < READ_TIMEOUT_S + 5:
            try:
                sock.sendall(b"x")
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # closed after the answer
                break
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"request_timeout"' in answer
    assert took < READ_TIMEOUT_S + 2.5
