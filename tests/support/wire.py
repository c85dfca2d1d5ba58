"""What tests and tools send and read on the wire, below the HTTP client: raw requests,
stalled uploads, and draining a queue."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import pika


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def raw_http(url: str, request: bytes, timeout: float = 10) -> RawResponse:
    """Send ``request`` as it is on a new connection to ``url``'s host; the response.

    For what a well-behaved client (requests) cannot send: bare CRs, broken request lines,
    chunked bodies, stalls.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock)


def read_response(sock: socket.socket) -> RawResponse:
    """One HTTP response from ``sock`` (Content-Length framed, or up to the close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(status, headers, body[:length] if length >= 0 else body)


def stall_uploads(url: str, n: int) -> list[socket.socket]:
    """``n`` uploads to ``url`` that announce 100,000 bytes and stop after a few."""
    host, port = url.removeprefix("http://").split(":")
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=30)
        s.sendall(
            b"POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100000\r\n\r\n{"text": "'
        )
        socks.append(s)
    return socks


def drain_queue(amqp_uri: str, queue: str) -> list[tuple[dict, bytes]]:
    """Take every message from ``queue``: (headers, body) of each."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    got = []
    try:
        channel = conn.channel()
        while True:
            method, props, body = channel.basic_get(queue)
            if method is None:
                return got
            got.append((props.headers or {}, body))
            channel.basic_ack(method.delivery_tag)
    finally:
        conn.close()
