"""A small client of the running platform, so that e2e tests read as what they check."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import pika
import requests

from tests.helpers import wait_for

API_KEY = "e2e-secret"


@dataclass
class Platform:
    mode: str
    amqp_uri: str
    urls: dict[str, str]  # service -> base URL


class SuaraClient:
    def __init__(self, platform: Platform):
        self.platform = platform
        self.http = requests.Session()

    def url(self, service: str, path: str) -> str:
        return self.platform.urls[service] + path

    # --- HTTP
    def submit(self, text: str, **fields) -> requests.Response:
        headers = fields.pop("headers", {})
        return self.http.post(
            self.url("intake", "/api/v1/feedback"),
            json={"text": text, **fields},
            headers=headers,
            timeout=10,
        )

    def feedback(self, feedback_id: str) -> dict:
        r = self.http.get(self.url("intake", f"/api/v1/feedback/{feedback_id}"), timeout=10)
        r.raise_for_status()
        return r.json()

    def summary(self) -> dict:
        r = self.http.get(self.url("reporting", "/api/v1/reports/summary"), timeout=10)
        r.raise_for_status()
        return r.json()

    def deliveries(self, feedback_id: str) -> list[dict]:
        r = self.http.get(
            self.url("notification", "/api/v1/deliveries"),
            params={"feedback_id": feedback_id},
            headers={"X-API-Key": API_KEY},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()["deliveries"]

    def wait_status(
        self, feedback_id: str, statuses=("categorized", "in_review"), timeout: float = 30
    ) -> dict:
        return wait_for(
            lambda: (fb := self.feedback(feedback_id))["status"] in statuses and fb,
            timeout=timeout,
            message=f"{feedback_id} to reach {statuses}",
        )

    # --- AMQP, with a plain client (pika), as other city services and integrators do
    def connection(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.URLParameters(self.platform.amqp_uri))

    def send_command(
        self, body: dict | bytes, routing_key: str = "feedback.submit", headers: dict | None = None
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn = self.connection()
        try:
            channel = conn.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                "suara.intake",
                routing_key,
                raw,
                pika.BasicProperties(
                    content_type="application/json", delivery_mode=2, headers=headers
                ),
                mandatory=True,
            )
        finally:
            conn.close()

    def drain(self, queue: str) -> list[tuple[dict, bytes]]:
        conn = self.connection()
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
