"""Suara end to end, measured against the broker's own limit in the same run (``make bench``).

1. baseline: raw kombu one hop on the same RabbitMQ (bench/baseline.py);
2. Suara end to end: feedback offered at fixed rates (half HTTP, half AMQP), stepped up until
   the platform no longer keeps up; the highest rate it sustains is ``e2e_per_s``; then
   latency from submission to stored, categorized, notified and counted at 50% and 80% of it;
3. scale-out: the same with a second categorization process;
4. CPU seconds of every process, per phase.

The platform runs as four processes (``deploy.platform.ServiceProcess``) on its own RabbitMQ
vhost (``suara-bench``), ports (28001-28004) and databases (``bench_<run>_<phase>_<service>``),
so a running platform and the tests are never disturbed; each phase starts it afresh, with
empty databases that are dropped after the phase. Results go to ``var/bench/latest.json`` and
``var/bench/latest.png``; the exit status is 1 unless every submitted feedback was counted
exactly once. Method and figures: docs/performance.md.

    .venv/bin/python bench/e2e_bench.py [--step-s 8] [--latency-s 20] [--profile 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import random
import signal
import string
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

# nameko (imported through shared/) imports eventlet, which warns on import: not the bench's news
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from kombu import Connection  # noqa: E402

from bench import baseline, profiling, report  # noqa: E402
from bench.observe import (  # noqa: E402
    CountWatcher,
    CpuMeter,
    EventLog,
    notified_at,
    pid_from_file,
    queues_idle,
    reporting_state,
)
from bench.workload import Submission, Submitter, submissions  # noqa: E402
from deploy.platform import SERVICES, ServiceProcess  # noqa: E402
from shared import topology  # noqa: E402
from shared.mongo import connect  # noqa: E402

VHOST = "suara-bench"
PORTS = {"intake": 28001, "categorization": 28002, "notification": 28003, "reporting": 28004}
REPLICA_PORT = 28012
OUT = ROOT / "var" / "bench"
SUSTAINED = 0.9  # counted rate / offered rate a sustainable step must reach


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchPlatform:
    """The services as processes, on the bench's own vhost, ports and databases.

    Each ``start`` gets new, empty databases (``bench_<run>_<n>_<service>``) that ``stop``
    drops: on FerretDB v1 the cost of a write grows with its collection (see
    docs/performance.md), so every phase starts from the same, empty state.
    """

    def __init__(self, run: str, amqp_base: str, mongo_uri: str, api_key: str):
        self.run = run
        self.amqp_uri = amqp_base.rstrip("/") + "/" + VHOST
        self.mongo_uri = mongo_uri
        self.log_dir = OUT / "log"
        self.api_key = api_key
        self.generation = 0
        self.procs: dict[str, ServiceProcess] = {}
        self.mongo = connect(mongo_uri)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("*.log"):
            old.unlink()

    def db_name(self, service: str) -> str:
        return f"bench_{self.run}_{self.generation}_{service}"

    def db(self, service: str):
        return self.mongo[self.db_name(service)]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{PORTS[service]}"

    def env(self) -> dict:
        env = {
            "SUARA_AMQP_URI": self.amqp_uri,
            "SUARA_MONGO_URI": self.mongo_uri,
            "SUARA_API_KEYS": f"bench:{self.api_key}",
        }
        for service in SERVICES:
            env[f"SUARA_{service.upper()}_PORT"] = str(PORTS[service])
            env[f"SUARA_{service.upper()}_DB"] = self.db_name(service)
        return env

    def purge(self) -> None:
        """Empty the bench vhost's queues: what a previous phase or run left is not ours."""
        topology.declare(self.amqp_uri, force=True)
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            for entity in topology.entities():
                if hasattr(entity, "queue_arguments"):
                    channel.queue_purge(entity.name)

    def start(self, categorization: int = 1) -> None:
        self.generation += 1
        self.purge()
        env = self.env()
        names = [(s, s) for s in SERVICES]
        names += [("categorization", f"categorization-{i}") for i in range(2, categorization + 1)]
        for service, name in names:
            extra = {}
            if name != service:  # another replica: its own HTTP port, the same queues and db
                extra["SUARA_CATEGORIZATION_PORT"] = str(REPLICA_PORT + int(name[-1]) - 2)
            self.procs[name] = ServiceProcess(
                service, {**env, **extra}, log_dir=self.log_dir, name=name
            ).start()
        for proc in self.procs.values():
            proc.wait_healthy()

    def check_alive(self) -> None:
        dead = [name for name, p in self.procs.items() if not p.alive()]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited; see {self.log_dir}")

    def pids(self) -> dict[str, int]:
        return {name: p.proc.pid for name, p in self.procs.items() if p.alive()}

    def stop(self) -> None:
        for proc in self.procs.values():  # all at once: each takes a second or two
            if proc.alive():
                proc.proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.stop()
        self.procs = {}
        if self.generation:
            for service in SERVICES:
                self.mongo.drop_database(self.db_name(service))

    def close(self) -> None:
        self.stop()
        self.mongo.close()


class Bench:
    def __init__(self, platform: BenchPlatform, args):
        self.platform = platform
        self.args = args
        self.run = platform.run
        self.events = EventLog(platform.amqp_uri, self.run).start()
        self.watcher = CountWatcher(self.events).start()
        self.submitter = Submitter(platform.url("intake"), platform.amqp_uri)
        self.http = requests.Session()
        self.seq = 0
        self.phases: list[dict] = []
        self.counted: dict[str, float] = {}  # feedback id -> counted with its category at
        self.in_reporting: set[str] = set()  # feedback ids in reporting's total
        self.queues = [q.name for q in topology.entities() if hasattr(q, "queue_arguments")]
        self.notified: dict[str, float] = {}
        self.server_pids = {
            "rabbitmq (beam)": pid_from_file(ROOT / "var" / "rabbitmq" / "rabbitmq.pid"),
            "ferretdb": pid_from_file(Path(args.ferretdb_pid_file)),
        }

    def meter(self) -> CpuMeter:
        pids = {**self.platform.pids(), "bench (load + observer)": os.getpid()}
        pids.update({k: v for k, v in self.server_pids.items() if v})
        return CpuMeter(pids)

    # ---- one phase: a fresh platform, a fixed rate, wait until all is counted, measure
    def phase(self, kind: str, rate: float, seconds: float, replicas: int, profile: float = 0):
        marks = [("begin", time.monotonic())]
        self.platform.start(replicas)
        self.watcher.watch(self.platform.db("reporting"))
        marks.append(("start", time.monotonic()))
        try:
            preloaded = self._preload(self.args.preload)
            # a few first, unmeasured: connections, caches and the model's first call
            warm = self._submissions(self.args.warm_up)
            self.submitter.offer(warm, 10)
            warm_ids, warm_pending = self._wait_categorized(warm, self.args.drain_timeout)
            self._settle(warm_ids)
            marks.append(("warm-up", time.monotonic()))
            subs = self._submissions(max(20, round(rate * seconds)))
            meter = self.meter()
            cpu_before = meter.read()
            spies = (
                profiling.start(self.platform.pids(), profile, OUT / "profile") if profile else []
            )
            started = time.time()
            self.submitter.offer(subs, rate)
            offered_s = time.time() - started
            ids, pending = self._wait_categorized(subs, self.args.drain_timeout)
            drain_s = time.time() - started - offered_s
            marks.append(("load", time.monotonic()))
            # before our own reads of the databases, which would be counted too
            cpu = CpuMeter.delta(cpu_before, meter.read())
            for spy in spies:
                spy.wait(profile + 30)
            all_ids = {**warm_ids, **ids}
            dead = self._settle(all_ids)
            marks.append(("settle", time.monotonic()))
            late = self._late(all_ids, self.args.heal_s)
            marks.append(("late", time.monotonic()))
            self.platform.check_alive()
            result = self._analyse(kind, rate, replicas, subs, ids, pending, cpu)
            result["drain_s"] = round(drain_s, 2)
            result["dead_lettered"] = dead
            result["counted_late"] = late
            # exactly once, warm-up included: by our ids, then by reporting's own count (API)
            lost, duplicated = self._exactly_once(all_ids)
            result["summary_total"] = self._summary_total(len(all_ids) + preloaded) - preloaded
            result["preloaded"] = preloaded
            distinct = {fid for found in all_ids.values() for fid in found}
            result["submitted"] = len(all_ids)
            result["counted"] = len(all_ids) - lost
            result["lost"] = lost
            result["duplicated"] = duplicated + max(0, result["summary_total"] - len(distinct))
            stale = [f for f in distinct if f in self.in_reporting and f not in self.counted]
            result["counted_without_category"] = len(stale)
            result["not_notified"] = sum(1 for f in distinct if f not in self.notified)
            result["not_done"] = self._not_done(all_ids, pending | warm_pending, stale)
            marks.append(("checks", time.monotonic()))
        finally:
            self.watcher.watch(None)
            self.platform.stop()
        marks.append(("stop", time.monotonic()))
        result["timing_s"] = {
            name: round(at - marks[i][1], 2) for i, (name, at) in enumerate(marks[1:])
        }
        self.phases.append(result)
        lat = result["latency_ms"]
        log(
            f"{kind:<9} {replicas} categorization  offered {result['offered_per_s']:6.1f}/s  "
            f"counted {result['counted_per_s']:6.1f}/s  p99 categorized "
            f"{lat['categorized'].get('p99', 0):6.0f} ms, counted "
            f"{lat['counted'].get('p99', 0):6.0f} ms  drain {drain_s:4.1f}s  "
            f"{'ok' if result['sustainable'] else 'NOT sustained: ' + result['why']}"
        )
        return result

    def _preload(self, n: int) -> int:
        """``n`` feedback stored earlier, written straight into each service's database (as
        the services would have): how the platform does with full collections."""
        if n <= 0:
            return 0
        now = datetime.now(UTC)
        ids = [f"SU-P{i:09d}" for i in range(n)]
        text = "jalan berlubang di depan SD Kuripan (arsip)"
        db = self.platform.db
        batch = 1000
        for i in range(0, n, batch):
            chunk = ids[i : i + batch]
            db("intake").feedback.insert_many(
                {
                    "_id": f,
                    "text": text,
                    "status": "categorized",
                    "channel": "http",
                    "category": "roads",
                    "department": "DPUPR",
                    "priority": "normal",
                    "categorization_revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for f in chunk
            )
            db("categorization").decisions.insert_many(
                {
                    "_id": f,
                    "text": text,
                    "category": "roads",
                    "department": "DPUPR",
                    "confidence": 0.9,
                    "priority": "normal",
                    "method": "model",
                    "revision": 1,
                    "needs_review": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for f in chunk
            )
            db("reporting").feedback.insert_many(
                {
                    "_id": f,
                    "received": True,
                    "channel": "http",
                    "category": "roads",
                    "status": "categorized",
                    "priority": "normal",
                    "revision": 1,
                    "updated_at": now,
                }
                for f in chunk
            )
            db("notification").deliveries.insert_many(
                {"_id": f"{f}:{kind}", "feedback_id": f, "kind": kind, "created_at": now}
                for f in chunk
                for kind in ("received:citizen", "categorized.r1:citizen", "assigned.r1:department")
            )
        return n

    def _submissions(self, n: int) -> list[Submission]:
        subs = submissions(self.run, self.seq, n)
        self.seq += n
        return subs

    def _exactly_once(self, ids: dict[str, set[str]]) -> tuple[int, int]:
        """(lost, duplicated): submissions never counted, and extra feedback ids per submission."""
        lost = sum(1 for found in ids.values() if not any(f in self.in_reporting for f in found))
        duplicated = sum(max(0, len(found) - 1) for found in ids.values())
        return lost, duplicated

    def _ids(self, subs: list[Submission]) -> dict[str, set[str]]:
        self.events.index()
        ids = {}
        for sub in subs:
            found = set(self.events.ids_of.get(sub.token, ()))
            if sub.feedback_id:
                found.add(sub.feedback_id)
            ids[sub.token] = found
        return ids

    def _wait_categorized(self, subs, timeout: float) -> tuple[dict[str, set[str]], set[str]]:
        """Wait until every submission was categorized (its events) and no queue has work.

        Nothing is read from the databases meanwhile: the events tell, and the broker says
        whether any service still has messages waiting.
        """
        deadline = time.monotonic() + timeout
        while True:
            ids = self._ids(subs)
            pending = {
                token
                for token, found in ids.items()
                if not found or any(f not in self.events.categorized for f in found)
            }
            if (not pending and queues_idle(self.platform.amqp_uri, self.queues)[0]) or (
                time.monotonic() > deadline
            ):
                return ids, pending
            time.sleep(0.2)

    def _settle(self, ids: dict[str, set[str]], grace_s: float = 5.0) -> int:
        """Read when each feedback was counted and notified (by ``_id``); wait ``grace_s`` at
        most for the last messages in flight. Returns the messages in dead-letter queues."""
        reporting, notification = self.platform.db("reporting"), self.platform.db("notification")
        deadline = time.monotonic() + grace_s
        todo = {f for found in ids.values() for f in found}
        while todo:
            for fid in list(todo):
                if fid not in self.counted:
                    in_total, at = reporting_state(reporting, fid)
                    if in_total:
                        self.in_reporting.add(fid)
                    if at is not None:  # the watcher's time when it saw it first
                        self.counted[fid] = min(at, self.watcher.counted.get(fid, at))
                if fid not in self.notified and (at := notified_at(notification, fid)) is not None:
                    self.notified[fid] = at
                if fid in self.counted and fid in self.notified:
                    todo.discard(fid)
            if not todo or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        return queues_idle(self.platform.amqp_uri, self.queues)[1]

    def _late(self, ids: dict[str, set[str]], wait_s: float) -> int:
        """Feedback not (fully) counted yet may still be: an outbox sweep republishes an event
        whose first effect was lost (a lost update in FerretDB v1, see docs/performance.md).
        Waits ``wait_s`` at most when one is missing from reporting's total, 2 s when one only
        lacks its category. Returns how many were counted that late."""
        reporting = self.platform.db("reporting")
        todo = {f for found in ids.values() for f in found if f not in self.counted}
        missing = any(f not in self.in_reporting for f in todo)
        deadline, late = time.monotonic() + (wait_s if missing else min(wait_s, 2.0)), 0
        while todo and time.monotonic() < deadline:
            time.sleep(0.5)
            for fid in list(todo):
                in_total, at = reporting_state(reporting, fid)
                if in_total:
                    self.in_reporting.add(fid)
                if at is not None:
                    self.counted[fid] = at
                    todo.discard(fid)
                    late += 1
        return late

    def _not_done(self, ids, pending: set[str], stale: list[str], limit: int = 5) -> list:
        """What the platform recorded of submissions that were not done: for the diagnosis."""
        reporting, notification = self.platform.db("reporting"), self.platform.db("notification")
        details = []
        of_stale = {t for t, found in ids.items() if found & set(stale)}
        for token in sorted(pending)[:limit] + sorted(of_stale)[:limit]:
            for fid in sorted(ids[token]) or [None]:
                row = {"token": token, "feedback_id": fid}
                if fid is not None:
                    row["stored"] = fid in self.events.received
                    row["categorized"] = fid in self.events.categorized
                    row["reporting"] = reporting.feedback.find_one(
                        {"_id": fid}, {"received": 1, "revision": 1, "status": 1}
                    )
                    row["deliveries"] = [
                        d["_id"] for d in notification.deliveries.find({"feedback_id": fid})
                    ]
                details.append(row)
        return details

    def _summary_total(self, expected: int) -> int:
        """Reporting's own count (its API), once it reached ``expected`` or stopped moving."""
        last, deadline = -1, time.monotonic() + 10
        while True:
            r = self.http.get(
                self.platform.url("reporting") + "/api/v1/reports/summary", timeout=30
            )
            r.raise_for_status()
            total = r.json()["total"]
            if total >= expected or total == last or time.monotonic() > deadline:
                return total
            last = total
            time.sleep(1)

    def _analyse(self, kind, rate, replicas, subs, ids, pending, cpu) -> dict:
        lat = {stage: [] for stage in report.STAGES}
        sent, counted_at_, errors = [], [], []
        for sub in subs:
            found = ids[sub.token]
            if sub.error:
                errors.append(sub.error)
            counted = [fid for fid in found if fid in self.counted]
            if not counted:
                continue
            fid = counted[0]
            sent.append(sub.sent)
            counted_at_.append(self.counted[fid])
            for stage, times in (
                ("stored", self.events.received),
                ("categorized", self.events.categorized),
                ("notified", self.notified),
                ("counted", self.counted),
            ):
                if fid in times:
                    lat[stage].append(1000.0 * (times[fid] - sub.sent))
        offered = report.rate([s.sent for s in subs if s.sent])
        counted_rate = report.rate(counted_at_)
        lag = [1000.0 * (s.sent - s.scheduled) for s in subs if s.sent]
        why = []
        if pending:
            why.append(f"{len(pending)} not categorized within {self.args.drain_timeout:.0f}s")
        if counted_rate < SUSTAINED * offered:
            why.append(f"counted rate < {SUSTAINED:.0%} of offered")
        if report.rising(sent, lat["counted"]):
            why.append("latency kept rising")
        if errors:
            why.append(f"{len(errors)} submission errors (first: {errors[0]})")
        n = len(subs)
        return {
            "kind": kind,
            "replicas": replicas,
            "target_per_s": round(rate, 2),
            "measured": n,
            "offered_per_s": round(offered, 2),
            "counted_per_s": round(counted_rate, 2),
            "sustainable": not why,
            "why": "; ".join(why),
            "latency_ms": {stage: report.percentiles(v) for stage, v in lat.items()},
            "load_generator_lag_ms": report.percentiles(lag),
            # per submission: seconds into the phase, channel, ms to stored and to categorized
            "series": self._series(subs, ids),
            "redelivered_events": self.events.repeats,
            "submission_errors": len(errors),
            "cpu_seconds": cpu,
            "cpu_ms_per_feedback": {k: round(1000.0 * v / n, 2) for k, v in cpu.items()},
        }

    def _series(self, subs: list[Submission], ids: dict[str, set[str]]) -> list:
        start = min((s.sent for s in subs if s.sent), default=0.0)
        rows = []
        for sub in subs:
            fid = next(iter(ids[sub.token]), None)
            if fid is None or sub.sent is None:
                continue
            stored = self.events.received.get(fid)
            categorized = self.events.categorized.get(fid)
            rows.append(
                [
                    round(sub.sent - start, 3),
                    sub.channel,
                    round(1000 * (stored - sub.sent)) if stored else None,
                    round(1000 * (categorized - sub.sent)) if categorized else None,
                ]
            )
        return rows

    # ---- the search for the highest sustainable rate
    def max_rate(self, replicas: int, start: float, factor: float, deadline: float) -> dict:
        best, failed, rate = None, None, start
        while time.monotonic() < deadline:
            result = self.phase("ramp", rate, self.args.step_s, replicas)
            if result["sustainable"]:
                best, rate = result, rate * factor
            else:
                failed = result
                if best is not None:
                    break
                rate = rate / factor  # even the first step was too much: step down
                if rate < 1:
                    break
        if best is not None and failed is not None and time.monotonic() < deadline:
            between = (best["target_per_s"] + failed["target_per_s"]) / 2
            result = self.phase("ramp", between, self.args.step_s, replicas)
            if result["sustainable"] and result["counted_per_s"] > best["counted_per_s"]:
                best = result
        if best is None:
            raise RuntimeError(f"no sustainable rate found with {replicas} categorization")
        return best

    def latency_runs(self, e2e_per_s: float, replicas: int, seconds: float) -> dict:
        return {
            f"{int(share * 100)}pct": self.phase(
                f"load {int(share * 100)}%", share * e2e_per_s, seconds, replicas
            )
            for share in (0.5, 0.8)
        }

    def profile(self, rate: float, seconds: float) -> dict:
        self.phase("profile", rate, seconds, 1, profile=seconds)
        out_dir = OUT / "profile"
        summaries = {path.stem: profiling.summarise(path) for path in sorted(out_dir.glob("*.txt"))}
        (OUT / "profile.txt").write_text(profiling.as_text(summaries, seconds))
        return summaries

    def totals(self) -> dict:
        return {
            key: sum(p[key] for p in self.phases)
            for key in (
                "submitted",
                "counted",
                "lost",
                "duplicated",
                "counted_without_category",
                "counted_late",
                "not_notified",
                "dead_lettered",
                "submission_errors",
            )
        } | {"redelivered_events": self.events.repeats}

    def close(self) -> None:
        self.submitter.close()
        self.watcher.stop()
        self.events.stop()


def flat_latency(runs: dict, suffix: str = "") -> dict:
    flat = {}
    for label, phase in runs.items():
        for stage in report.STAGES:
            for pct in ("p50", "p95", "p99"):
                value = phase["latency_ms"][stage].get(pct)
                flat[f"{pct}_{stage}_ms_at_{label}{suffix}"] = value
    return flat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--amqp", default=os.environ.get("SUARA_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
    )
    parser.add_argument(
        "--mongo", default=os.environ.get("SUARA_BENCH_MONGO", "mongodb://127.0.0.1:27017/")
    )
    parser.add_argument("--start-rate", type=float, default=8.0, help="first ramp step, /s")
    parser.add_argument("--factor", type=float, default=1.35, help="ramp: next step = x factor")
    parser.add_argument("--step-s", type=float, default=8.0, help="seconds per ramp step")
    parser.add_argument("--latency-s", type=float, default=20.0, help="seconds per latency run")
    parser.add_argument("--drain-timeout", type=float, default=90.0)
    parser.add_argument(
        "--heal-s", type=float, default=8.0, help="wait for an outbox sweep to repair (max)"
    )
    parser.add_argument("--warm-up", type=int, default=6, help="unmeasured submissions per phase")
    parser.add_argument("--budget-s", type=float, default=420.0, help="stop ramping after this")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy phase of N seconds")
    parser.add_argument("--no-scaleout", action="store_true")
    parser.add_argument(
        "--preload", type=int, default=0, help="feedback already stored when a phase starts"
    )
    parser.add_argument(
        "--ferretdb-pid-file",
        default=str(ROOT / "var" / "ferretdb" / "ferretdb.pid"),
        help="pid file of the FerretDB behind --mongo, for its CPU seconds",
    )
    parser.add_argument("--output", default="latest", help="var/bench/<output>.json and .png")
    args = parser.parse_args(argv)

    started_wall, started = datetime.now(UTC), time.monotonic()
    run = "".join(random.choices(string.ascii_lowercase, k=6))
    OUT.mkdir(parents=True, exist_ok=True)
    platform = BenchPlatform(run, args.amqp, args.mongo, api_key=os.urandom(8).hex())
    log(f"run {run}: vhost {VHOST}, ports 28001-28004, databases bench_{run}_<phase>_<service>")
    bench = None
    try:
        platform.purge()
        sample = submissions(run, 900_000, 101)
        text = sorted((s.text for s in sample), key=len)[50]
        log("baseline: raw kombu one hop, persistent + confirmed + acked")
        base = baseline.measure(platform.amqp_uri, baseline.sample_event(text))
        log(f"baseline: {base['one_hop_per_s']:.1f} msg/s ({base['message_bytes']} bytes)")
        bench = Bench(platform, args)
        deadline = started + args.budget_s
        best1 = bench.max_rate(1, args.start_rate, args.factor, deadline)
        e2e = best1["counted_per_s"]
        latency = bench.latency_runs(e2e, 1, args.latency_s)
        profile = bench.profile(0.8 * e2e, args.profile) if args.profile else None
        max_rates = {1: e2e}
        latency2 = {}
        if not args.no_scaleout:
            best2 = bench.max_rate(2, best1["target_per_s"], args.factor, deadline + 120)
            max_rates[2] = best2["counted_per_s"]
            latency2 = bench.latency_runs(max_rates[2], 2, args.latency_s)
        checks = bench.totals()
    finally:
        if bench is not None:
            bench.close()
        platform.close()

    phases = bench.phases
    cpu_total: dict[str, float] = {}
    for p in phases:
        for name, seconds in p["cpu_seconds"].items():
            cpu_total[name] = round(cpu_total.get(name, 0.0) + seconds, 2)
    result = {
        "run": run,
        "preloaded_per_phase": args.preload,
        "started_at": started_wall.isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": pyplatform.python_version(),
            "platform": pyplatform.platform(),
        },
        "baseline_one_hop_per_s": base["one_hop_per_s"],
        "e2e_per_s": e2e,
        "ratio": round(e2e / base["one_hop_per_s"], 4),
        **flat_latency(latency),
        "scaleout_gain": round(max_rates.get(2, e2e) / e2e, 3),
        "lost": checks["lost"],
        "duplicated": checks["duplicated"],
        "submitted": checks["submitted"],
        "counted": checks["counted"],
        "checks": checks,
        "redelivered_events": checks["redelivered_events"],
        "targets": {
            "ratio": {"target": 0.5, "met": e2e / base["one_hop_per_s"] >= 0.5},
            "p99_categorized_ms_at_50pct": {
                "target": 150,
                "met": (latency["50pct"]["latency_ms"]["categorized"].get("p99") or 1e9) <= 150,
            },
        },
        "baseline": base,
        "max_rate_by_replicas": max_rates,
        "max_rate_phase": best1,
        "latency_runs": latency,
        "latency_runs_scaleout": latency2,
        **flat_latency(latency2, "_2_categorization"),
        "cpu_seconds_total": cpu_total,
        "cpu_ms_per_feedback_at_max": best1["cpu_ms_per_feedback"],
        "phases": phases,
        "profile": profile,
        "method": {
            "submission": "wall clock just before the HTTP request or the AMQP publish",
            "stored": "arrival of feedback.received on the bench's own queue",
            "categorized": "arrival of feedback.categorized on the bench's own queue",
            "notified": "latest created_at of the received, categorized.r1 and assigned.r1 "
            "deliveries in notification's delivery log",
            "counted": "updated_at of reporting's projection once it has received and a category",
            "max sustainable rate": f"highest fixed-rate step ({args.step_s:.0f} s) whose "
            f"counted rate >= {SUSTAINED:.0%} of the offered rate, all counted within "
            f"{args.drain_timeout:.0f} s, latency not rising; e2e_per_s is its counted rate",
        },
    }
    json_path, png_path = OUT / f"{args.output}.json", OUT / f"{args.output}.png"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    report.plot(result, png_path)
    print(report.table(result))
    log(f"wrote {json_path} and {png_path}")
    if checks["lost"] or checks["duplicated"]:
        log(f"FAILED: lost = {checks['lost']}, duplicated = {checks['duplicated']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
