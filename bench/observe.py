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

NOTIFIED_KINDS = ("received", "categorized.r1", "assigned.r1")
CHUNK = 250


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


def _chunks(items: list[str]):
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def notified_times(db: Database, ids: list[str]) -> dict[str, float]:
    """Feedback ids whose three deliveries are recorded -> when the last one was."""
    kinds: dict[str, dict[str, float]] = defaultdict(dict)
    for chunk in _chunks(ids):
        for d in db.deliveries.find(
            {"feedback_id": {"$in": chunk}}, {"feedback_id": 1, "kind": 1, "created_at": 1}
        ):
            kinds[d["feedback_id"]][d["kind"]] = d["created_at"].timestamp()
    return {
        fid: max(k[kind] for kind in NOTIFIED_KINDS)
        for fid, k in kinds.items()
        if all(kind in k for kind in NOTIFIED_KINDS)
    }


def counted_times(db: Database, ids: list[str]) -> dict[str, float]:
    """Feedback ids counted by reporting with their category -> time of the last write."""
    counted = {}
    for chunk in _chunks(ids):
        for d in db.feedback.find(
            {"_id": {"$in": chunk}}, {"received": 1, "revision": 1, "updated_at": 1}
        ):
            if d.get("received") and (d.get("revision") or 0) >= 1:
                counted[d["_id"]] = d["updated_at"].timestamp()
    return counted


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
