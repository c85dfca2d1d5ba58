"""`make chaos`: feedback at a steady rate, half over HTTP (clients that retry with the same
``Idempotency-Key``), half over AMQP (publisher confirms, the same ``external_id`` on a retry),
while service processes are SIGKILLed and restarted in turn, the servers restart, and poison
messages arrive. Then it waits for quiescence and counts, through Suara's public doors only:

- stored: feedback whose ``feedback.received`` event arrived (an integrator's durable queue,
  ``tests.support.load.EventLog``);
  each feedback's text carries a token, so a token stored under two ids is a duplicate;
- categorized: those whose ``feedback.categorized`` arrived;
- notified: those whose delivery log (``GET /api/v1/deliveries``) holds the citizen's
  "received" and the department's "assigned" deliveries;
- counted: reporting's ``GET /api/v1/reports/summary`` total (its database is this run's own);
- dead-lettered: the poison messages in ``suara.intake.feedback.submit.dead``.

Lost = accepted but never stored; duplicated = stored more than once or counted more than once.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pika
import requests

from tests.helpers import poll_until
from tests.support.load import EventLog
from tests.support.platform import queue_depths

TEXTS = (
    "Jalan berlubang besar di Jl. Hayam Wuruk, bahaya buat motor",
    "Rob masuk rumah di Panjang Wetan, air setinggi lutut",
    "Sampah menumpuk di TPS Medono, bau sekali",
    "Air PDAM keruh sudah tiga hari di Podosugih",
    "Lampu PJU mati di Jl. Merdeka, gelap kalau malam",
    "Bansos PKH belum cair bulan ini",
    "uwuh numpuk neng kali Loji, mambu",
    "Parkir liar bikin macet di depan Stasiun",
)
POISON = (b"", b"{not json", b'{"text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
COMMAND_DEAD = "suara.intake.feedback.submit.dead"
RETRY_PAUSE_S = 0.5  # a client's pause before it tries again


@dataclass
class Figures:
    submitted: int = 0
    accepted: int = 0
    stored: int = 0
    categorized: int = 0
    notified: int = 0
    counted: int = 0
    lost: int = 0
    duplicated: int = 0
    dead_lettered: int = 0
    poison_sent: int = 0
    client_errors: Counter = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    undrained: dict[str, int] = field(default_factory=dict)
    unexpected_exits: list[str] = field(default_factory=list)  # crashes we did not cause
    seconds: float = 0.0

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} lost")
        if self.duplicated:
            found.append(f"{self.duplicated} duplicated")
        if self.undrained:
            found.append(f"queues not drained: {self.undrained}")
        if self.unexpected_exits:
            found.append(f"processes exited unasked (restarted): {self.unexpected_exits}")
        for name in ("stored", "categorized", "notified", "counted"):
            if getattr(self, name) != self.accepted:
                found.append(f"{name} {getattr(self, name)} != accepted {self.accepted}")
        if self.dead_lettered < self.poison_sent:
            found.append(f"dead-lettered {self.dead_lettered} < poison sent {self.poison_sent}")
        return found

    def report(self) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.client_errors.items())) or "none"
        return "\n".join(
            [
                f"submitted {self.submitted}  accepted {self.accepted}  stored {self.stored}  "
                f"categorized {self.categorized}  notified {self.notified}  "
                f"counted {self.counted}",
                f"lost {self.lost}  duplicated {self.duplicated}  dead-lettered "
                f"{self.dead_lettered} (poison sent {self.poison_sent})",
                f"client errors (retried): {errors}",
                f"faults: {'; '.join(self.faults) or 'none'}",
                f"processes that exited unasked: {self.unexpected_exits or 'none'}",
                f"queues not drained: {self.undrained or 'none'}   ({self.seconds:.0f} s)",
            ]
        )


class Clients:
    """Half HTTP, half AMQP; each retries until its feedback is accepted."""

    def __init__(
        self,
        intake_urls: list[str],
        amqp_uri: str,
        run: str,
        figures: Figures,
    ):
        self.intake_urls, self.amqp_uri, self.run, self.figures = (
            intake_urls,
            amqp_uri,
            run,
            figures,
        )
        self.accepted: set[int] = set()
        self._lock = threading.Lock()
        self._amqp: pika.BlockingConnection | None = None
        self._amqp_lock = threading.Lock()

    def token(self, i: int) -> str:
        return f"{self.run}{i:06d}"

    def text(self, i: int) -> str:
        return f"{TEXTS[i % len(TEXTS)]} (ref:{self.token(i)})"

    def _error(self, kind: str) -> None:
        with self._lock:
            self.figures.client_errors[kind] += 1

    def _accept(self, i: int) -> None:
        with self._lock:
            self.accepted.add(i)

    def http(self, i: int, deadline_s: float = 300) -> None:
        key = str(uuid.uuid4())  # the same key on every try
        end = time.monotonic() + deadline_s
        session = requests.Session()
        # spread over the intake replicas (HTTP feedback has the even indices); a retry goes to
        # the next one
        attempt = i // 2
        while time.monotonic() < end:
            url = self.intake_urls[attempt % len(self.intake_urls)]
            attempt += 1
            try:
                r = session.post(
                    url + "/api/v1/feedback",
                    json={"text": self.text(i)},
                    headers={"Idempotency-Key": key},
                    timeout=10,
                )
            except requests.RequestException as exc:
                self._error(f"http {type(exc).__name__}")
            else:
                if r.status_code == 201:
                    self._accept(i)
                    return
                self._error(f"http {r.status_code}")
            time.sleep(RETRY_PAUSE_S)

    def _channel(self):
        if self._amqp is None or not self._amqp.is_open:
            self._amqp = pika.BlockingConnection(pika.URLParameters(self.amqp_uri))
            self._channel_ = self._amqp.channel()
            self._channel_.confirm_delivery()
        return self._channel_

    def publish(self, body: bytes, headers: dict | None = None) -> None:
        with self._amqp_lock:
            self._channel().basic_publish(
                "suara.intake",
                "feedback.submit",
                body,
                pika.BasicProperties(
                    content_type="application/json", delivery_mode=2, headers=headers
                ),
                mandatory=True,
            )

    def amqp(self, i: int, deadline_s: float = 300) -> None:
        body = json.dumps(
            {"source": f"chaos-{self.run}", "external_id": str(i), "text": self.text(i)}
        ).encode()
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                self.publish(body)
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._error(f"amqp {type(exc).__name__}")
                with self._amqp_lock:
                    self._amqp = None
                time.sleep(RETRY_PAUSE_S)
            else:
                self._accept(i)
                return

    def close(self) -> None:
        if self._amqp is not None and self._amqp.is_open:
            self._amqp.close()


def submit_all(clients: Clients, n: int, rate: float, workers: int = 8) -> None:
    """``n`` feedback, even ones over HTTP and odd ones over AMQP, ``rate`` per second."""
    with ThreadPoolExecutor(workers) as pool:
        started = time.monotonic()
        futures = []
        for i in range(n):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            clients.figures.submitted += 1
            futures.append(pool.submit(clients.http if i % 2 == 0 else clients.amqp, i))
        for f in futures:
            f.result()


def notified(url: str, api_key: str, feedback_id: str) -> bool:
    r = requests.get(
        url + "/api/v1/deliveries",
        params={"feedback_id": feedback_id},
        headers={"X-API-Key": api_key},
        timeout=10,
    )
    kinds = {d["kind"] for d in r.json()["deliveries"]} if r.status_code == 200 else set()
    return "received" in kinds and any(k.startswith("assigned.") for k in kinds)


def summary_total(urls: dict[str, str]) -> int:
    return requests.get(urls["reporting"] + "/api/v1/reports/summary", timeout=10).json()["total"]


def count_dead(amqp_uri: str) -> int:
    return queue_depths(amqp_uri).get(COMMAND_DEAD, 0)


def run(
    urls: dict[str, str],
    amqp_uri: str,
    api_key: str,
    n: int,
    rate: float,
    faults: list[tuple[str, Callable[[], None]]],
    settle_s: float = 240,
    unexpected_exits: list[str] | None = None,
    intake_urls: list[str] | None = None,
) -> Figures:
    """Submit ``n`` feedback at ``rate``/s while ``faults`` happen, evenly spread over the
    submissions (each fault after its share of them is accepted); then count."""
    run_id = "".join(random.choices(string.ascii_lowercase, k=6))
    figures = Figures()
    began = time.monotonic()
    dead_before = count_dead(amqp_uri)
    total_before = summary_total(urls)
    log = EventLog(amqp_uri, run_id, durable=True).start()
    clients = Clients(intake_urls or [urls["intake"]], amqp_uri, run_id, figures)
    sender = threading.Thread(target=submit_all, args=(clients, n, rate), daemon=True)
    sender.start()
    for k, (name, fault) in enumerate(faults):
        due = (k + 1) * n // (len(faults) + 1)
        poll_until(lambda due=due: len(clients.accepted) >= due or not sender.is_alive(), 3600)
        t = time.monotonic()
        fault()
        took = time.monotonic() - t
        figures.faults.append(f"{name} at {len(clients.accepted)} accepted ({took:.1f} s)")
        if k == len(faults) // 2:
            for body in POISON:
                clients.publish(body, {"x-suara-attempts": "abc", "nameko.call_id_stack": 5})
                figures.poison_sent += 1
    sender.join()
    clients.close()
    figures.accepted = len(clients.accepted)

    def ids_of(i: int) -> set[str]:
        return log.ids_of.get(clients.token(i), set())

    def settled() -> bool:
        log.index()
        stored = {i for i in clients.accepted if ids_of(i)}
        ids = set().union(*log.ids_of.values()) if log.ids_of else set()
        depths = queue_depths(amqp_uri)
        busy = {q: d for q, d in depths.items() if d and not q.endswith(".dead")}
        return (
            len(stored) == figures.accepted
            and ids <= log.categorized.keys()
            and summary_total(urls) - total_before >= len(ids)
            and not busy
        )

    poll_until(settled, settle_s, interval=1)  # a server may still be coming back
    log.index()
    ids = {fid for i in clients.accepted for fid in ids_of(i)}
    figures.stored = sum(1 for i in clients.accepted if ids_of(i))
    figures.lost = figures.accepted - figures.stored
    stored_twice = sum(len(v) - 1 for v in log.ids_of.values() if len(v) > 1)
    figures.categorized = len(ids & log.categorized.keys())
    pending = set(ids)

    def all_notified() -> bool:
        # notification's delivery log is read per feedback, and its query scans on FerretDB
        # (the data-layer issue): four at a time
        ids_now = list(pending)
        with ThreadPoolExecutor(4) as pool:
            oks = list(pool.map(lambda f: notified(urls["notification"], api_key, f), ids_now))
        pending.difference_update(f for f, ok in zip(ids_now, oks, strict=True) if ok)
        return not pending

    poll_until(all_notified, 60, interval=1)
    figures.notified = len(ids) - len(pending)
    figures.counted = summary_total(urls) - total_before
    figures.duplicated = stored_twice + max(0, figures.counted - len(ids))
    figures.dead_lettered = count_dead(amqp_uri) - dead_before

    def undrained() -> dict[str, int]:
        return {q: d for q, d in queue_depths(amqp_uri).items() if d and not q.endswith(".dead")}

    # a delivery a killed process had claimed is looked at again when its claim lapses (45 s),
    # by a job waiting in a wait queue: in flight, not stuck; wait for it, then look
    poll_until(lambda: not undrained(), 120, interval=1)
    figures.undrained = undrained()
    log.stop()
    figures.unexpected_exits = list(unexpected_exits or [])
    figures.seconds = time.monotonic() - began
    return figures
