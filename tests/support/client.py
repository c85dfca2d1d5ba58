"""A small client of the running platform through its public doors (HTTP APIs, AMQP), so
that e2e tests, `make bench` and `make soak` read as what they check (one test kit)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pika
import requests

from tests.helpers import wait_for
from tests.support.wire import drain_queue

API_KEY = "e2e-secret"


@dataclass
class Platform:
    mode: str
    amqp_uri: str
    urls: dict[str, str]  # service -> base URL


class SuaraClient:
    def __init__(self, platform: Platform, api_key: str = API_KEY):
        self.platform = platform
        self.api_key = api_key
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

    def summary(self, timeout: float = 10) -> dict:
        r = self.http.get(self.url("reporting", "/api/v1/reports/summary"), timeout=timeout)
        r.raise_for_status()
        return r.json()

    def counted(self) -> tuple[int, int]:
        """(feedback in reporting's total, of them counted with a category): the summary."""
        summary = self.summary()
        return summary["total"], sum(summary["by_category"].values())

    def deliveries(self, feedback_id: str) -> list[dict]:
        r = self.http.get(
            self.url("notification", "/api/v1/deliveries"),
            params={"feedback_id": feedback_id},
            headers={"X-API-Key": self.api_key},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()["deliveries"]

    def post(self, path: str, body: dict, headers: dict | None = None) -> requests.Response:
        return self.http.post(self.url("intake", path), json=body, headers=headers, timeout=10)

    def move(self, feedback_id: str, headers: dict, **body) -> requests.Response:
        return self.post(f"/api/v1/feedback/{feedback_id}/status", body, headers)

    def transfer(self, feedback_id: str, headers: dict, **body) -> requests.Response:
        return self.post(f"/api/v1/feedback/{feedback_id}/transfer", body, headers)

    def rate(self, feedback_id: str, **body) -> requests.Response:
        return self.post(f"/api/v1/feedback/{feedback_id}/rating", body)

    def reopen(self, feedback_id: str, **body) -> requests.Response:
        return self.post(f"/api/v1/feedback/{feedback_id}/reopen", body)

    def cases(self, headers: dict, **params) -> requests.Response:
        return self.http.get(
            self.url("intake", "/api/v1/cases"), params=params, headers=headers, timeout=10
        )

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
        self.publish("suara.intake", routing_key, raw, "application/json", headers)

    def publish(
        self,
        exchange: str,
        routing_key: str,
        raw: bytes,
        content_type: str,
        headers: dict | None = None,
    ) -> None:
        """One persistent message, confirmed by the broker (as a city service publishes)."""
        conn = self.connection()
        try:
            channel = conn.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                exchange,
                routing_key,
                raw,
                pika.BasicProperties(content_type=content_type, delivery_mode=2, headers=headers),
                mandatory=True,
            )
        finally:
            conn.close()

    def subscribe(self, exchange: str = "intake.events", routing_key: str = "#") -> Subscription:
        """An integrator's queue of the events on ``exchange`` (exclusive: gone when closed)."""
        return Subscription(self.connection(), exchange, routing_key)

    def queue_depth(self, queue: str) -> int:
        conn = self.connection()
        try:
            return conn.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            conn.close()

    def drain(self, queue: str) -> list[tuple[dict, bytes]]:
        return drain_queue(self.platform.amqp_uri, queue)


class Subscription:
    """The CloudEvents an integrator's own queue received, by type and subject."""

    def __init__(self, connection: pika.BlockingConnection, exchange: str, routing_key: str):
        self.connection = connection
        self.channel = connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key=routing_key)
        self.events: list[dict] = []

    def of(self, event_type: str, subject: str) -> list[dict]:
        """Events of ``event_type`` (e.g. ``feedback.overdue``) about ``subject`` so far."""
        method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
        while method is not None:
            self.events.append(json.loads(body))
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
        suffix = "." + event_type
        return [e for e in self.events if e["type"].endswith(suffix) and e["subject"] == subject]

    def of_type(self, event_type: str) -> list[dict]:
        """Every event of ``event_type`` so far, whatever its subject (an alert's is its id)."""
        self.of(event_type, "")  # takes what has arrived
        return [e for e in self.events if e["type"].endswith("." + event_type)]

    def close(self) -> None:
        self.connection.close()
