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

    def queue_depth(self, queue: str) -> int:
        conn = self.connection()
        try:
            return conn.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            conn.close()

    def drain(self, queue: str) -> list[tuple[dict, bytes]]:
        return drain_queue(self.platform.amqp_uri, queue)
