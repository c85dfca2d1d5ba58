"""The load of `make bench` and `make soak`, and what they observe of it: realistic feedback,
each with a unique token, offered at a fixed rate (open loop), and the arrival of its events.

Half of the feedback goes over HTTP (``POST /api/v1/feedback``, a thread pool, as many browsers
would), half over AMQP (``suara.intake`` / ``feedback.submit``, persistent, with publisher
confirms, as a city service would). Each text ends with a token ``ref:<run><seq>`` that the
platform keeps in the text of ``feedback.received`` (it is not personal data, so it is not
redacted): that is how an AMQP submission is matched with the feedback id intake gave it.

``EventLog`` is an integrator's queue on the public exchanges: the arrival time of each
``feedback.received`` (stored) and ``feedback.categorized`` (categorized), by feedback id.
"""

from __future__ import annotations

import json
import queue
import random
import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import requests
from kombu import Connection, Consumer, Exchange, Queue, binding

from services.categorization import corpus
from shared import topology

TOKEN = re.compile(r"ref:([a-z]{6}\d{6})")
AMQP_SOURCE = "bench"
KECAMATAN = ("Pekalongan Barat", "Pekalongan Timur", "Pekalongan Utara", "Pekalongan Selatan")

VILLAGES = (
    "Kuripan Medono Pasirsari Kraton Podosugih Tirto Degayu Bandengan Kergon Poncol Sapuro "
    "Buaran Krapyak Klego Jenggot Banyurip Landungsari Kradenan Setono Sugihwaras Noyontaan"
).split()
OPENERS = ("", "", "", "Pak, ", "min ", "Assalamualaikum, ", "Selamat pagi, ", "lapor, ", "Bu, ")
CLOSERS = ("", "", "", " mohon ditindaklanjuti", " trims", " tolong ya", " 🙏", "!!", " pak")


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 10 or rng.random() < 0.6:
        return text
    i = rng.randrange(1, len(text) - 1)
    return (
        text[:i] + text[i] * 2 + text[i + 1 :] if rng.random() < 0.5 else text[:i] + text[i + 1 :]
    )


def generate(n: int, seed: int = 7) -> list[str]:
    """``n`` JSON lines ``{"text": ...}`` from the corpus texts, varied so that hardly any two are
    identical (village names, RT/RW numbers, greetings, typos, two reports joined)."""
    rng = random.Random(seed)
    texts = [record.text for record in corpus.load()]
    lines = []
    for _ in range(n):
        text = rng.choice(texts)
        if rng.random() < 0.2:
            text = f"{text} {rng.choice(texts)}"
        text = _typo(text, rng)
        place = f" (RT {rng.randint(1, 12):02d}/RW {rng.randint(1, 9):02d} {rng.choice(VILLAGES)})"
        text = f"{rng.choice(OPENERS)}{text}{rng.choice(CLOSERS)}{place}"
        lines.append(json.dumps({"text": text}, ensure_ascii=False))
    return lines


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


class EventLog:
    """Arrival times of ``feedback.received`` and ``feedback.categorized``, by feedback id.

    By default an exclusive queue (gone with the listener); ``durable`` makes it an
    integrator's durable queue that outlives a broker restart (the listener reconnects), as
    `make chaos` needs."""

    BINDINGS = (
        ("intake.events", "feedback.received"),
        ("categorization.events", "feedback.categorized"),
    )

    def __init__(self, amqp_uri: str, run: str, durable: bool = False):
        self.amqp_uri = amqp_uri
        self.run = run
        self.durable = durable
        self.queue_name = f"load.{run}.events"
        self._raw: list[tuple[float, str, bytes]] = []
        self._parsed = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._listen, name="load-events", daemon=True)
        self.received: dict[str, float] = {}  # feedback id -> first arrival
        self.categorized: dict[str, float] = {}
        self.ids_of: dict[str, set[str]] = defaultdict(set)  # token -> feedback ids
        self.repeats = 0  # events seen again (at-least-once delivery): not duplicated feedback
        self._lock = threading.Lock()

    def _queue(self) -> Queue:
        bindings = [
            binding(Exchange(exchange, type="topic", durable=True), routing_key=key)
            for exchange, key in self.BINDINGS
        ]
        if self.durable:  # x-expires: a run that dies leaves no queue behind
            return Queue(
                self.queue_name,
                bindings=bindings,
                durable=True,
                queue_arguments={"x-expires": 600_000},
            )
        return Queue(self.queue_name, bindings=bindings, exclusive=True, auto_delete=True)

    def start(self) -> EventLog:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"event listener did not start: {self._error}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self.durable:
            try:
                with Connection(self.amqp_uri, connect_timeout=5) as conn:
                    conn.channel().queue_delete(self.queue_name)
            except Exception:  # noqa: BLE001, S110 - it expires on its own
                pass

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=0, connect_timeout=5) as conn:
                    channel = conn.channel()
                    consumer = Consumer(
                        channel,
                        [self._queue()],
                        on_message=self._on_message,
                        no_ack=not self.durable,
                        prefetch_count=200 if self.durable else None,
                    )
                    consumer.consume()
                    self._ready.set()
                    while not self._stop.is_set():
                        try:
                            conn.drain_events(timeout=0.2)
                        except TimeoutError:  # socket.timeout too
                            pass
            except Exception as exc:  # noqa: BLE001
                if not self.durable or not self._ready.is_set():
                    self._error = exc
                    self._ready.set()
                    return
                self._stop.wait(0.5)  # the broker restarts: the durable queue keeps the events

    def _on_message(self, message) -> None:
        # only the time and the bytes here: parsing comes later, off the measured path
        self._raw.append((time.time(), message.delivery_info["routing_key"], message.body))
        if self.durable:
            message.ack()

    def index(self) -> None:
        """Parse what arrived since the last call."""
        if self._error is not None:
            raise RuntimeError(f"event listener failed: {self._error}")
        with self._lock:
            raw, start = self._raw, self._parsed
            end = len(raw)
            for at, key, body in raw[start:end]:
                event = json.loads(body)
                feedback_id = event["subject"]
                seen = self.received if key == "feedback.received" else self.categorized
                if feedback_id in seen:
                    self.repeats += 1
                    continue
                seen[feedback_id] = at
                if key == "feedback.received":
                    match = TOKEN.search(event["data"]["text"])
                    if match:
                        self.ids_of[match.group(1)].add(feedback_id)
            self._parsed = end

    def ids(self, subs: list[Submission]) -> dict[str, set[str]]:
        """Token -> the feedback ids stored for it (more than one: a duplicate)."""
        self.index()
        found = {}
        for sub in subs:
            ids = set(self.ids_of.get(sub.token, ()))
            if sub.feedback_id:
                ids.add(sub.feedback_id)
            found[sub.token] = ids
        return found
