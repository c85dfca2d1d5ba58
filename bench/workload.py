"""The load: realistic feedback, each with a unique token, offered at a fixed rate (open loop).

Half of the feedback goes over HTTP (``POST /api/v1/feedback``, a thread pool, as many browsers
would), half over AMQP (``suara.intake`` / ``feedback.submit``, persistent, with publisher
confirms, as a city service would). Each text ends with a token ``ref:<run><seq>`` that the
platform keeps in the text of ``feedback.received`` (it is not personal data, so it is not
redacted): that is how an AMQP submission is matched with the feedback id intake gave it.
"""

from __future__ import annotations

import json
import queue
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import requests
from kombu import Connection, Exchange

from bench.classify_bench import VILLAGES, generate
from shared import topology

TOKEN = re.compile(r"ref:([a-z]{6}\d{6})")
AMQP_SOURCE = "bench"
KECAMATAN = ("Pekalongan Barat", "Pekalongan Timur", "Pekalongan Utara", "Pekalongan Selatan")


@dataclass
class Submission:
    token: str
    channel: str  # "http" or "amqp"
    text: str
    location: dict | None
    scheduled: float = 0.0  # wall clock (time.time()) the open-loop schedule gave it
    sent: float | None = None  # wall clock just before it was sent: the submission time
    acked: float | None = None  # HTTP answer received, or broker confirm
    feedback_id: str | None = None  # from the HTTP answer (AMQP: from feedback.received)
    error: str | None = None
    attempts: int = 0


def submissions(run: str, first_seq: int, n: int) -> list[Submission]:
    """``n`` feedback texts (Indonesian, English, Javanese), alternating HTTP and AMQP."""
    rng = random.Random(first_seq)
    texts = [json.loads(line)["text"] for line in generate(n, seed=first_seq + 1)]
    result = []
    for i, text in enumerate(texts):
        seq = first_seq + i
        token = f"{run}{seq:06d}"
        location = None
        if rng.random() < 0.6:
            location = {"kecamatan": rng.choice(KECAMATAN), "kelurahan": rng.choice(VILLAGES)}
            if rng.random() < 0.5:
                location["lat"] = round(-6.89 + rng.uniform(-0.03, 0.03), 5)
                location["lon"] = round(109.67 + rng.uniform(-0.03, 0.03), 5)
        result.append(
            Submission(
                token=token,
                channel="http" if seq % 2 == 0 else "amqp",
                text=f"{text[:4900]} (ref:{token})",
                location=location,
            )
        )
    return result


class Submitter:
    """Sends submissions at a fixed rate; senders are threads, so a slow answer delays no other."""

    def __init__(
        self, intake_url: str, amqp_uri: str, http_threads: int = 32, amqp_threads: int = 4
    ):
        self.intake_url = intake_url
        self.amqp_uri = amqp_uri
        self._http = ThreadPoolExecutor(http_threads, thread_name_prefix="bench-http")
        self._local = threading.local()
        self._amqp: queue.Queue[Submission | None] = queue.Queue()
        self._amqp_threads = [
            threading.Thread(target=self._amqp_sender, name=f"bench-amqp-{i}", daemon=True)
            for i in range(amqp_threads)
        ]
        for thread in self._amqp_threads:
            thread.start()

    def offer(self, subs: list[Submission], rate: float) -> None:
        """Send ``subs`` at ``rate`` per second, whatever the answers' delays; wait for all."""
        start = time.time() + 0.05
        futures = []
        for i, sub in enumerate(subs):
            sub.scheduled = start + i / rate
            delay = sub.scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            if sub.channel == "http":
                futures.append(self._http.submit(self._post, sub))
            else:
                self._amqp.put(sub)
        wait(futures)
        self._amqp.join()

    def close(self) -> None:
        for _ in self._amqp_threads:
            self._amqp.put(None)
        self._http.shutdown(wait=True)

    # --- HTTP, like a citizen's browser; the token doubles as Idempotency-Key, so a retry
    # after a timeout can never store the feedback twice
    def _post(self, sub: Submission) -> None:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        body = {"text": sub.text}
        if sub.location:
            body["location"] = sub.location
        sub.sent = time.time()
        for attempt in range(1, 4):
            sub.attempts = attempt
            try:
                r = session.post(
                    self.intake_url + "/api/v1/feedback",
                    json=body,
                    headers={"Idempotency-Key": sub.token},
                    timeout=30,
                )
                if r.status_code == 201:
                    sub.acked = time.time()
                    sub.feedback_id = r.json()["id"]
                    sub.error = None
                    return
                sub.error = f"HTTP {r.status_code}: {r.text[:200]}"
                if r.status_code < 500:
                    return
            except requests.RequestException as exc:
                sub.error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2 * attempt)

    # --- AMQP, like another city service with a plain client
    def _amqp_sender(self) -> None:
        exchange = Exchange(topology.COMMAND_EXCHANGE, type="topic", durable=True)
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer()
            publish = conn.ensure(producer, producer.publish, max_retries=3)
            while True:
                sub = self._amqp.get()
                if sub is None:
                    self._amqp.task_done()
                    return
                body = {"source": AMQP_SOURCE, "external_id": sub.token, "text": sub.text}
                if sub.location:
                    body["location"] = sub.location
                sub.sent = time.time()
                sub.attempts = 1
                try:
                    publish(
                        json.dumps(body, ensure_ascii=False).encode(),
                        exchange=exchange,
                        routing_key="feedback.submit",
                        delivery_mode=2,
                        mandatory=True,
                        content_type="application/json",
                        content_encoding="utf-8",
                    )
                    sub.acked = time.time()
                except Exception as exc:  # reported as lost by the checks
                    sub.error = f"{type(exc).__name__}: {exc}"
                finally:
                    self._amqp.task_done()
