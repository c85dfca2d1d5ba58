"""When did each feedback reach each stage? Read from events and the services' own records.

- stored: our own exclusive queue on ``intake.events`` receives ``feedback.received`` (intake
  publishes it once the record is stored); the arrival time is taken here.
- categorized: the same, on ``categorization.events`` / ``feedback.categorized``.
- notified: notification's delivery log (its database, the same documents
  ``GET /api/v1/deliveries`` returns) holds the citizen's "received" and "categorized" deliveries
  and the department's "assigned" one; the latest ``created_at`` of the three.
- counted: reporting's projection (the documents ``GET /api/v1/reports/summary`` counts) has
  ``received`` and a category (``revision`` >= 1); its ``updated_at``, the time of the last
  write.

Events and database times are wall-clock times of processes on this one machine.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from kombu import Connection, Consumer, Exchange, Queue
from pymongo.database import Database

from bench.workload import TOKEN

# delivery ids are deterministic (services/notification/deliveries.py); lookups by ``_id``
# alone, because FerretDB v1 (SQLite) pushes down no other filter: anything else is a scan
NOTIFIED_DELIVERIES = (
    "{}:received:citizen",
    "{}:categorized.r1:citizen",
    "{}:assigned.r1:department",
)


class EventLog:
    """Arrival times of ``feedback.received`` and ``feedback.categorized``, by feedback id."""

    BINDINGS = (
        ("intake.events", "feedback.received"),
        ("categorization.events", "feedback.categorized"),
    )

    def __init__(self, amqp_uri: str, run: str):
        self.amqp_uri = amqp_uri
        self.run = run
        self._raw: list[tuple[float, str, bytes]] = []
        self._parsed = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._listen, name="bench-events", daemon=True)
        self.received: dict[str, float] = {}  # feedback id -> first arrival
        self.categorized: dict[str, float] = {}
        self.ids_of: dict[str, set[str]] = defaultdict(set)  # token -> feedback ids
        self.repeats = 0  # events seen again (at-least-once delivery): not duplicated feedback
        self._lock = threading.Lock()

    def start(self) -> EventLog:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"event listener did not start: {self._error}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _listen(self) -> None:
        try:
            with Connection(self.amqp_uri, heartbeat=0) as conn:
                channel = conn.channel()
                queues = [
                    Queue(
                        f"bench.{self.run}.{key}",
                        Exchange(exchange, type="topic", durable=True),
                        routing_key=key,
                        exclusive=True,
                        auto_delete=True,
                    )
                    for exchange, key in self.BINDINGS
                ]
                consumer = Consumer(channel, queues, on_message=self._on_message, no_ack=True)
                consumer.consume()
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:  # socket.timeout too
                        pass
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise

    def _on_message(self, message) -> None:
        # only the time and the bytes here: parsing comes later, off the measured path
        self._raw.append((time.time(), message.delivery_info["routing_key"], message.body))

    def index(self) -> None:
        """Parse what arrived since the last call."""
        if self._error is not None:
            raise RuntimeError(f"event listener failed: {self._error}")
        with self._lock:
            self._index()

    def _index(self) -> None:
        raw, start = self._raw, self._parsed
        end = len(raw)
        for at, key, body in raw[start:end]:
            event = json.loads(body)
            feedback_id = event["subject"]
            if key == "feedback.received":
                if feedback_id in self.received:
                    self.repeats += 1
                    continue
                self.received[feedback_id] = at
                match = TOKEN.search(event["data"]["text"])
                if match:
                    self.ids_of[match.group(1)].add(feedback_id)
            elif key == "feedback.categorized":
                if feedback_id in self.categorized:
                    self.repeats += 1
                    continue
                self.categorized[feedback_id] = at
        self._parsed = end


def reporting_state(db: Database, feedback_id: str) -> tuple[bool, float | None]:
    """(in reporting's total?, when it was counted with its category, or None: not yet)."""
    doc = db.feedback.find_one(
        {"_id": feedback_id}, {"received": 1, "revision": 1, "updated_at": 1}
    )
    if not doc or not doc.get("received"):
        return False, None
    if (doc.get("revision") or 0) >= 1:
        return True, doc["updated_at"].timestamp()
    return True, None


class CountWatcher:
    """Reads reporting's projection (by ``_id``) of each feedback soon after its
    ``feedback.categorized`` event, until it is counted with its category.

    Its ``updated_at`` is the time of reporting's last write, which a repeated event (an
    outbox sweep republishing) moves later; the time this watcher first saw it counted bounds
    that: ``counted = min(updated_at, first seen)``, so within ``interval_s`` plus one read.
    One read by ``_id`` per feedback, most of the time: little load on the database.
    """

    def __init__(self, events: EventLog, interval_s: float = 0.05, retry_s: float = 0.25):
        self.events = events
        self.interval_s, self.retry_s = interval_s, retry_s
        self.db: Database | None = None
        self.since = 0.0
        self.counted: dict[str, float] = {}
        self._next_read: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-counted", daemon=True)

    def start(self) -> CountWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def watch(self, db: Database | None) -> None:
        """Watch this reporting database, for feedback categorized from now on (None: pause)."""
        self.since = time.time()
        self.db = db

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            db = self.db
            if db is None:
                continue
            try:
                self.events.index()
                now = time.time()
                for fid, categorized_at in list(self.events.categorized.items()):
                    if categorized_at < self.since or fid in self.counted:
                        continue
                    if self._next_read.get(fid, 0) > now:
                        continue
                    _, at = reporting_state(db, fid)
                    seen = time.time()
                    if at is None:
                        self._next_read[fid] = seen + self.retry_s
                    else:
                        self.counted[fid] = min(at, seen)
            except Exception:  # a database dropped between phases: the next round goes on
                continue


def queues_idle(amqp_uri: str, queues: list[str]) -> tuple[bool, int]:
    """(no message waits in ``queues``, messages in their dead-letter queues)."""
    idle, dead = True, 0
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for name in queues:
            _, ready, _ = channel.queue_declare(name, passive=True)
            if name.endswith(".dead"):
                dead += ready
            elif ready:
                idle = False
    return idle, dead


def notified_at(db: Database, feedback_id: str) -> float | None:
    """When the last of the feedback's three deliveries was recorded, or None (not yet)."""
    latest = 0.0
    for delivery_id in NOTIFIED_DELIVERIES:
        doc = db.deliveries.find_one({"_id": delivery_id.format(feedback_id)}, {"created_at": 1})
        if doc is None:
            return None
        latest = max(latest, doc["created_at"].timestamp())
    return latest


# --- CPU time of processes, from /proc (Linux)
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def pid_from_file(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


class CpuMeter:
    """CPU seconds of named processes between two readings."""

    def __init__(self, pids: dict[str, int]):
        self.pids = dict(pids)

    def read(self) -> dict[str, float]:
        now = {}
        for name, pid in self.pids.items():
            value = cpu_seconds(pid)
            if value is not None:
                now[name] = value
        return now

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}
