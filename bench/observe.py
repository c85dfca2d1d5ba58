"""When did each feedback reach each stage? Only from events and Suara's public HTTP APIs.

- stored / categorized: ``tests.support.load.EventLog`` (an integrator's queue on the public
  exchanges; the arrival time of ``feedback.received`` / ``feedback.categorized``).
- counted: reporting's ``GET /api/v1/reports/summary``, read back to back (at most every
  ``interval_s``) while a phase runs: how many feedback it counts with a category, over time.
  Reporting says how many, not which: the k-th feedback of a phase to be categorized is taken
  as counted when the count first reached k (``counted_times``). Over a phase the latency
  percentiles this gives are exact up to the reading interval plus one summary's time, for any
  order in which reporting counts them; per feedback they are an estimate.
- notified: notification's ``GET /api/v1/deliveries`` (an API key): the latest ``created_at`` of
  the citizen's "received" delivery and the department's "assigned" one.

Event and API times are wall-clock times of processes on this one machine.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from kombu import Connection


class CountWatcher:
    """Reads reporting's summary over and over: ``series`` is [(time, total, with category)]."""

    def __init__(self, counted, interval_s: float = 0.1):
        self.counted = counted  # () -> (total, with a category): SuaraClient.counted
        self.interval_s = interval_s
        self.series: list[tuple[float, int, int]] = []
        self.errors = 0
        self._active = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-counted", daemon=True)

    def start(self) -> CountWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._active.set()
        self._thread.join(10)

    def watch(self, on: bool) -> None:
        """Read from now on (a new series), or pause."""
        if on:
            self.series = []
            self._active.set()
        else:
            self._active.clear()

    def read(self) -> tuple[int, int]:
        total, with_category = self.counted()
        self.series.append((time.time(), total, with_category))
        return total, with_category

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._active.wait()
            if self._stop.is_set():
                return
            began = time.monotonic()
            try:
                self.read()
            except Exception:  # noqa: BLE001 - a restart between phases: the next read goes on
                self.errors += 1
            time.sleep(max(0.0, self.interval_s - (time.monotonic() - began)))


def counted_times(
    categorized: list[tuple[float, str]], series: list[tuple[float, int, int]], base: int
) -> dict[str, float]:
    """Feedback id -> when reporting counted it: the k-th of ``categorized`` (categorized
    time, id), in time order, when the with-category count first reached ``base + k``."""
    times = [t for t, _, _ in series]
    counts = [c for _, _, c in series]
    # the count never falls; a reading taken while another replica lagged could: keep the max
    running = []
    for c in counts:
        running.append(max(c, running[-1]) if running else c)
    result = {}
    for k, (_, feedback_id) in enumerate(sorted(categorized), start=1):
        i = bisect.bisect_left(running, base + k)
        if i < len(times):
            result[feedback_id] = times[i]
    return result


def notified_at(deliveries: list[dict]) -> float | None:
    """When the citizen's "received" and the department's "assigned" deliveries were both
    recorded (the later), from ``GET /api/v1/deliveries``; None: not yet."""
    kinds = {d["kind"]: d["created_at"] for d in deliveries}
    received = kinds.get("received")
    assigned = [at for kind, at in kinds.items() if kind.startswith("assigned.")]
    if received is None or not assigned:
        return None
    return max(_epoch(received), *(_epoch(a) for a in assigned))


def _epoch(iso: str) -> float:
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()  # stored times are UTC


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


def rss_mib(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (``/proc/<pid>/status``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
