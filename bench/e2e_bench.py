"""Suara end to end at a city's scale, measured against the broker's own limits in one run.

1. the broker: raw kombu one hop (``bench/baseline.py``), and a raw kombu skeleton of Suara's
   own topology (``bench/skeleton.py``: its exchanges and queues, two confirmed publishes and
   their deliveries per feedback, no logic, no database);
2. Suara from empty databases: feedback offered at fixed rates (half HTTP, half AMQP), stepped
   up until the platform no longer keeps up (each step on a new, empty platform); the highest
   rate it sustains is ``e2e_per_s``; then latency at 50% and 80% of it;
3. a city's history: ``--history`` earlier feedback (10,000) loaded through ``suara import``,
   timed until reporting counts them all (``import_per_s``);
4. Suara with that history: the max rate again (``e2e_per_s_with_history``), latency at 50% and
   80%, the summary's latency, and the same with two categorization processes;
5. the categorization stage alone: its queue filled while it is stopped, then drained by one
   and by two processes (``stage_scaleout_gain``).

It observes the platform only as its users do: HTTP answers, reporting's summary, notification's
delivery log API and the events on the public exchanges (``bench/observe.py``); processes,
queues and databases come from the test kit (``tests/support``), as in the e2e tests. The
platform runs on its own RabbitMQ vhost (``suara-bench``), ports (28001-28004) and databases
(``bench_<run><n>_<service>``, dropped after). Results: ``var/bench/latest.json`` and
``latest.png``; the exit status is 1 unless every submitted feedback was counted exactly once.
Method and figures: docs/performance.md.

    .venv/bin/python bench/e2e_bench.py [--history 10000] [--step-s 8] [--latency-s 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import random
import statistics
import string
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

# nameko (imported through shared/) imports eventlet, which warns on import: not the bench's news
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import baseline, history, profiling, report, skeleton  # noqa: E402
from bench.observe import (  # noqa: E402
    CountWatcher,
    CpuMeter,
    counted_times,
    notified_at,
    pid_from_file,
    queues_idle,
)
from shared import topology  # noqa: E402
from tests.support.client import Platform, SuaraClient  # noqa: E402
from tests.support.load import EventLog, Submission, Submitter, submissions  # noqa: E402
from tests.support.platform import NativePlatform, purge_topology  # noqa: E402

VHOST = "suara-bench"
PORTS = {"intake": 28001, "categorization": 28002, "notification": 28003, "reporting": 28004}
OUT = ROOT / "var" / "bench"
SUSTAINED = 0.9  # counted rate / offered rate a sustainable step must reach
IMPORT_LIMIT_S = 1500  # the history import fails past this (10 000 at 6.7 /s)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# reporting's reports the bench times with the history loaded (public HTTP, default period)
REPORTS = {
    "summary_filtered": "/api/v1/reports/summary?category=flooding",
    "sla": "/api/v1/reports/sla",
    "timeseries": "/api/v1/reports/timeseries?interval=day",
}


class Bench:
    """One run: the platform (new ones when asked), the load, and what it observes."""

    def __init__(self, args, run: str):
        self.args, self.run = args, run
        self.amqp_uri = args.amqp.rstrip("/") + "/" + VHOST
        self.api_key = os.urandom(8).hex()
        self.generation = 0
        self.platform: NativePlatform | None = None
        self.client: SuaraClient | None = None
        self.events = EventLog(self.amqp_uri, run).start()
        self.watcher = CountWatcher(lambda: self.client.counted()).start()
        self.urls = {s: f"http://127.0.0.1:{p}" for s, p in PORTS.items()}
        self.submitter = Submitter(self.urls["intake"], self.amqp_uri)
        self.phases: list[dict] = []
        self.seq = 0
        self.queues = [q.name for q in topology.entities() if hasattr(q, "queue_arguments")]
        self.server_pids = {
            "rabbitmq (beam)": pid_from_file(ROOT / "var" / "rabbitmq" / "rabbitmq.pid"),
            "ferretdb": pid_from_file(Path(args.ferretdb_pid_file)),
        }
        (OUT / "log").mkdir(parents=True, exist_ok=True)
        for old in (OUT / "log").glob("*.log"):
            old.unlink()

    # ---- the platform under test
    def fresh(self, categorization: int = 1) -> None:
        """A new platform with new, empty databases (the previous one stopped, its dropped)."""
        self.stop_platform()
        self.generation += 1
        self.platform = NativePlatform(
            f"{self.run}{self.generation}",
            self.amqp_uri,
            self.args.mongo,
            PORTS,
            {"SUARA_API_KEYS": f"bench:{self.api_key}"},
            replicas={"categorization": categorization},
            prefix="bench",
            log_dir=OUT / "log",
        )
        self.platform.start()
        self.client = SuaraClient(Platform("native", self.amqp_uri, self.urls), self.api_key)
        self.stored: set[str] = set()  # feedback ids this platform stored (events)
        self.expected_total = 0  # what its summary must count: stored here, history included
        self.short = self.surplus = 0  # how far the summary was below / above it, last seen
        self.warm = False

    def stop_platform(self) -> None:
        if self.platform is not None:
            self.platform.stop()  # the test kit drops the run's databases
            self.platform = None

    def meter(self) -> CpuMeter:
        pids = {**self.platform.pids(), "bench (load + observer)": os.getpid()}
        pids.update({k: v for k, v in self.server_pids.items() if v})
        return CpuMeter(pids)

    def _submissions(self, n: int) -> list[Submission]:
        subs = submissions(self.run, self.seq, n)
        self.seq += n
        return subs

    # ---- waiting, through events, the broker and the summary
    def _wait_categorized(
        self, subs, timeout: float, idle: bool = True
    ) -> tuple[dict[str, set[str]], set[str]]:
        """Until every submission was categorized (its events) and, if ``idle``, no queue has
        work."""
        deadline = time.monotonic() + timeout
        while True:
            ids = self.events.ids(subs)
            pending = {
                token
                for token, found in ids.items()
                if not found or any(f not in self.events.categorized for f in found)
            }
            if not pending and (not idle or queues_idle(self.amqp_uri, self.queues)[0]):
                return ids, pending
            if time.monotonic() > deadline:
                return ids, pending
            time.sleep(0.1)

    def _wait_stored(self, subs, timeout: float) -> dict[str, set[str]]:
        deadline = time.monotonic() + timeout
        while True:
            ids = self.events.ids(subs)
            if all(ids.values()) or time.monotonic() > deadline:
                return ids
            time.sleep(0.1)

    def _wait_counted(self, timeout: float) -> tuple[int, int]:
        """Until the summary counts ``expected_total``, each with a category (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            total, with_category = self.watcher.read()
            done = total >= self.expected_total and with_category >= self.expected_total
            if done or time.monotonic() > deadline:
                return total, with_category
            time.sleep(0.1)

    def _reckon(self, total: int) -> tuple[int, int]:
        """(newly missing, newly extra) in the summary's total since the last reckoning."""
        short, surplus = max(0, self.expected_total - total), max(0, total - self.expected_total)
        missing, extra = max(0, short - self.short), max(0, surplus - self.surplus)
        self.short, self.surplus = short, surplus
        return missing, extra

    def _note_stored(self, ids: dict[str, set[str]]) -> int:
        new = {f for found in ids.values() for f in found} - self.stored
        self.stored |= new
        self.expected_total += len(new)
        return len(new)

    # ---- one measured phase on the current platform
    def phase(self, kind: str, rate: float, seconds: float, profile: float = 0, notify=False):
        if not self.warm:  # a few first, unmeasured: connections, caches, the model's first call
            warm = self._submissions(self.args.warm_up)
            self.submitter.offer(warm, 10)
            self._note_stored(self._wait_categorized(warm, self.args.drain_timeout)[0])
            self._wait_counted(self.args.heal_s)
            self.warm = True
        total_before, base = self._wait_counted(self.args.heal_s)
        subs = self._submissions(max(20, round(rate * seconds)))
        meter = self.meter()
        cpu_before = meter.read()
        pids = self.platform.pids()
        spies = profiling.start(pids, profile, OUT / "profile") if profile else []
        self.watcher.watch(True)
        started = time.time()
        self.submitter.offer(subs, rate)
        offered_s = time.time() - started
        ids, pending = self._wait_categorized(subs, self.args.drain_timeout)
        drain_s = time.time() - started - offered_s
        new = self._note_stored(ids)
        total, with_category = self._wait_counted(self.args.heal_s)
        self.watcher.watch(False)
        cpu = CpuMeter.delta(cpu_before, meter.read())  # before the checks' own requests
        for spy in spies:
            spy.wait(profile + 30)
        self.platform.check_alive()
        distinct = {f for found in ids.values() for f in found}
        categorized = [
            (self.events.categorized[f], f) for f in distinct if f in self.events.categorized
        ]
        counted = counted_times(categorized, self.watcher.series, base)
        notified = self._notified(distinct) if notify else {}
        result = self._analyse(kind, rate, subs, ids, pending, cpu, counted, notified)
        result["drain_s"] = round(drain_s, 2)
        result["feedback_stored_before"] = total_before
        # exactly once: by our tokens (one feedback id each), then by reporting's own count
        result["submitted"] = len(subs)
        missing, extra = self._reckon(total)
        result["lost"] = sum(1 for found in ids.values() if not found) + missing
        result["duplicated"] = sum(max(0, len(f) - 1) for f in ids.values()) + extra
        result["counted"] = new - missing
        result["counted_without_category"] = max(0, total - with_category)
        result["not_notified"] = sum(1 for f in distinct if f not in notified) if notify else None
        result["summary_reads"] = len(self.watcher.series)
        self.phases.append(result)
        lat = result["latency_ms"]
        log(
            f"{kind:<16} {self.platform.replicas['categorization']} categorization  "
            f"offered {result['offered_per_s']:6.1f}/s  counted {result['counted_per_s']:6.1f}/s"
            f"  p99 categorized {lat['categorized'].get('p99', 0):6.0f} ms, counted "
            f"{lat['counted'].get('p99', 0):6.0f} ms  drain {drain_s:4.1f}s  "
            f"{'ok' if result['sustainable'] else 'NOT sustained: ' + result['why']}"
        )
        return result

    def _notified(self, feedback_ids: set[str]) -> dict[str, float]:
        def one(fid: str) -> tuple[str, float | None]:
            for _ in range(20):
                at = notified_at(self.client.deliveries(fid))
                if at is not None:
                    return fid, at
                time.sleep(0.25)
            return fid, None

        with ThreadPoolExecutor(8) as pool:
            return {f: at for f, at in pool.map(one, sorted(feedback_ids)) if at is not None}

    def _analyse(self, kind, rate, subs, ids, pending, cpu, counted, notified) -> dict:
        lat = {stage: [] for stage in report.STAGES}
        counted_at, errors = [], []
        sent_of_counted = []
        for sub in subs:
            if sub.error:
                errors.append(sub.error)
            found = sorted(ids[sub.token])
            if not found or sub.sent is None:
                continue
            fid = found[0]
            for stage, times in (
                ("stored", self.events.received),
                ("categorized", self.events.categorized),
                ("notified", notified),
                ("counted", counted),
            ):
                if fid in times:
                    lat[stage].append(1000.0 * (times[fid] - sub.sent))
            if fid in counted:
                counted_at.append(counted[fid])
                sent_of_counted.append(sub.sent)
        offered = report.rate([s.sent for s in subs if s.sent])
        counted_rate = report.rate(counted_at)
        lag = [1000.0 * (s.sent - s.scheduled) for s in subs if s.sent]
        why = []
        if pending:
            why.append(f"{len(pending)} not categorized within {self.args.drain_timeout:.0f}s")
        if counted_rate < SUSTAINED * offered:
            why.append(f"counted rate < {SUSTAINED:.0%} of offered")
        if report.rising(sent_of_counted, lat["counted"]):
            why.append("latency kept rising")
        if errors:
            why.append(f"{len(errors)} submission errors (first: {errors[0]})")
        n = len(subs)
        return {
            "kind": kind,
            "replicas": self.platform.replicas["categorization"],
            "target_per_s": round(rate, 2),
            "measured": n,
            "offered_per_s": round(offered, 2),
            "counted_per_s": round(counted_rate, 2),
            "sustainable": not why,
            "why": "; ".join(why),
            "latency_ms": {stage: report.percentiles(v) for stage, v in lat.items()},
            "load_generator_lag_ms": report.percentiles(lag),
            "series": self._series(subs, ids),
            "submission_errors": len(errors),
            "cpu_seconds": cpu,
            "cpu_ms_per_feedback": {k: round(1000.0 * v / n, 2) for k, v in cpu.items()},
        }

    def _series(self, subs: list[Submission], ids: dict[str, set[str]]) -> list:
        """Per submission: seconds into the phase, channel, ms to stored and to categorized."""
        start = min((s.sent for s in subs if s.sent), default=0.0)
        rows = []
        for sub in subs:
            fid = next(iter(sorted(ids[sub.token])), None)
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
    def max_rate(self, kind: str, start: float, factor: float, deadline: float, fresh) -> dict:
        """Fixed-rate steps up by ``factor`` until one is not sustained (``fresh()`` before
        each step: a new platform, or nothing to go on with the same one)."""
        best, failed, rate = None, None, start
        while time.monotonic() < deadline:
            fresh()
            result = self.phase(kind, rate, self.args.step_s)
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
            fresh()
            between = (best["target_per_s"] + failed["target_per_s"]) / 2
            result = self.phase(kind, between, self.args.step_s)
            if result["sustainable"] and result["counted_per_s"] > best["counted_per_s"]:
                best = result
        if best is None:
            raise RuntimeError(f"{kind}: no sustainable rate found")
        return best

    def latency_runs(self, kind: str, max_per_s: float, fresh) -> dict:
        runs = {}
        for share in (0.5, 0.8):
            fresh()
            label = f"{int(share * 100)}pct"
            runs[label] = self.phase(
                f"{kind} {label}", share * max_per_s, self.args.latency_s, notify=True
            )
        return runs

    def summary_latency(self, n: int = 100) -> dict:
        """Reporting's summary read ``n`` times in a row, as a dashboard would: ms each."""
        times = []
        for _ in range(n):
            began = time.perf_counter()
            self.client.summary()
            times.append(1000.0 * (time.perf_counter() - began))
        return report.percentiles(times) | {"mean": round(statistics.fmean(times), 1)}

    def report_latency(self, path: str, n: int = 30) -> dict:
        """A report of reporting's read ``n`` times in a row (``path`` with its query): ms each."""
        times = []
        url = self.client.url("reporting", path)
        for _ in range(n):
            began = time.perf_counter()
            answer = self.client.http.get(url, timeout=30)
            answer.raise_for_status()
            times.append(1000.0 * (time.perf_counter() - began))
        return report.percentiles(times) | {"mean": round(statistics.fmean(times), 1)}

    def load_history(self, n: int) -> dict:
        path = history.write_file(OUT / "history.jsonl", self.run, n)
        self.expected_total += n
        figures = history.load(
            path, self.amqp_uri, self.client.counted, self.expected_total, IMPORT_LIMIT_S, log
        )
        figures["lost"], figures["duplicated"] = self._reckon(self.client.counted()[0])
        self.platform.check_alive()
        return figures

    def stage_drain(self, replicas: int, n: int) -> dict:
        """Categorization alone: stop it, fill its queue with ``n`` stored feedback, start
        ``replicas`` processes; feedback categorized per second, first to last event.
        Notification and reporting are stopped meanwhile (``drain_stage``)."""
        self.platform.scale("categorization", 0)
        subs = self._submissions(n)
        self.submitter.offer(subs, self.args.fill_rate)
        ids = self._wait_stored(subs, self.args.drain_timeout)
        self._note_stored(ids)
        started = time.time()
        self.platform.scale("categorization", replicas)
        meter = self.meter()
        cpu_before = meter.read()
        ids, pending = self._wait_categorized(subs, self.args.drain_timeout, idle=False)
        cpu = CpuMeter.delta(cpu_before, meter.read())
        times = sorted(
            self.events.categorized[f]
            for found in ids.values()
            for f in found
            if f in self.events.categorized
        )
        per_s = report.rate(times)
        log(f"stage drain, {replicas} categorization: {per_s:.1f}/s ({len(times)} of {n})")
        return {
            "replicas": replicas,
            "submitted": n,
            "categorized": len(times),
            "not_categorized": len(pending),
            "per_s": round(per_s, 2),
            "first_after_start_s": round(times[0] - started, 2) if times else None,
            "cpu_seconds": cpu,
            # CPUs busy while it drained (from the first healthy process to the last event)
            "cpus_busy": round(sum(cpu.values()) / max(1e-6, time.time() - started), 2),
        }

    def drain_stage(self, n: int) -> dict:
        self.platform.scale("notification", 0)
        self.platform.scale("reporting", 0)
        try:
            one = self.stage_drain(1, n)
            two = self.stage_drain(2, n)
        finally:
            self.platform.scale("categorization", 1)
            self.platform.scale("notification", 1)
            self.platform.scale("reporting", 1)
        total, with_category = self._wait_counted(self.args.drain_timeout)
        missing, extra = self._reckon(total)
        return {
            "one": one,
            "two": two,
            "stage_scaleout_gain": round(two["per_s"] / one["per_s"], 3) if one["per_s"] else 0,
            "lost": missing + one["not_categorized"] + two["not_categorized"],
            "duplicated": extra,
            "counted_without_category": max(0, total - with_category),
        }

    def totals(self, extra: list[dict]) -> dict:
        keys = ("submitted", "counted", "lost", "duplicated", "submission_errors")
        totals = {key: sum(p.get(key) or 0 for p in self.phases) for key in keys}
        for block in extra:
            for key in ("lost", "duplicated"):
                totals[key] += block.get(key, 0)
        totals["counted_without_category"] = sum(p["counted_without_category"] for p in self.phases)
        totals["not_notified"] = sum(p["not_notified"] or 0 for p in self.phases)
        totals["redelivered_events"] = self.events.repeats
        dead = queues_idle(self.amqp_uri, self.queues)[1]
        totals["dead_lettered"] = dead
        return totals

    def close(self) -> None:
        self.submitter.close()
        self.watcher.stop()
        self.events.stop()
        self.stop_platform()


def flat_latency(runs: dict, suffix: str = "") -> dict:
    flat = {}
    for label, phase in runs.items():
        for stage in report.STAGES:
            for pct in ("p50", "p95", "p99"):
                flat[f"{pct}_{stage}_ms_at_{label}{suffix}"] = phase["latency_ms"][stage].get(pct)
    return flat


def parser(description: str = __doc__.split("\n")[0]) -> argparse.ArgumentParser:
    """The bench's options (``bench/soak.py`` adds its own)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--amqp", default=os.environ.get("SUARA_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
    )
    parser.add_argument(
        "--mongo", default=os.environ.get("SUARA_BENCH_MONGO", "mongodb://127.0.0.1:27017/")
    )
    parser.add_argument("--history", type=int, default=10_000, help="feedback imported first")
    parser.add_argument("--start-rate", type=float, default=24.0, help="first ramp step, /s")
    parser.add_argument("--factor", type=float, default=1.3, help="ramp: next step = x factor")
    parser.add_argument("--step-s", type=float, default=8.0, help="seconds per ramp step")
    parser.add_argument("--latency-s", type=float, default=20.0, help="seconds per latency run")
    parser.add_argument("--drain-timeout", type=float, default=90.0)
    parser.add_argument("--heal-s", type=float, default=15.0, help="wait for the counts (max)")
    parser.add_argument("--warm-up", type=int, default=6, help="unmeasured submissions")
    parser.add_argument("--budget-s", type=float, default=240.0, help="stop each ramp after this")
    parser.add_argument("--drain-n", type=int, default=800, help="feedback per stage drain")
    parser.add_argument("--fill-rate", type=float, default=120.0, help="stage drain: fill /s")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy phase of N seconds")
    parser.add_argument(
        "--ferretdb-pid-file",
        default=str(ROOT / "var" / "ferretdb" / "ferretdb.pid"),
        help="pid file of the FerretDB behind --mongo, for its CPU seconds",
    )
    parser.add_argument("--output", default="latest", help="var/bench/<output>.json and .png")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started_wall, started = datetime.now(UTC), time.monotonic()
    run = "".join(random.choices(string.ascii_lowercase, k=6))
    OUT.mkdir(parents=True, exist_ok=True)
    amqp_uri = args.amqp.rstrip("/") + "/" + VHOST
    log(f"run {run}: vhost {VHOST}, ports 28001-28004, databases bench_{run}<n>_<service>")
    purge_topology(amqp_uri)
    sample = submissions(run, 900_000, 101)
    text = sorted((s.text for s in sample), key=len)[50]
    log("broker: raw kombu one hop, persistent + confirmed + acked")
    base = baseline.measure(amqp_uri, baseline.sample_event(text))
    log(f"broker: one hop {base['one_hop_per_s']:.1f} msg/s ({base['message_bytes']} bytes)")
    skel = skeleton.measure(amqp_uri, text)
    log(f"broker: skeleton of Suara's topology {skel['skeleton_per_s']:.1f} feedback/s")

    bench = Bench(args, run)
    timings = {}
    try:
        mark = time.monotonic()
        best = bench.max_rate(
            "empty", args.start_rate, args.factor, time.monotonic() + args.budget_s, bench.fresh
        )
        e2e = best["counted_per_s"]
        latency = bench.latency_runs("empty", e2e, bench.fresh)
        summary_empty = bench.summary_latency(30)
        timings["empty"] = time.monotonic() - mark

        mark = time.monotonic()
        bench.fresh()
        imported = bench.load_history(args.history)
        log(
            f"history: {args.history} imported, counted in {imported['counted_s']:.0f} s "
            f"({imported['import_per_s']:.1f}/s)"
        )
        timings["history import"] = time.monotonic() - mark

        mark = time.monotonic()
        summary_history = bench.summary_latency(100)
        log(f"summary with history: p50 {summary_history['p50']:.1f} ms")
        # the city's reports over the last 30 days (the default period), read from buckets
        reports_history = {name: bench.report_latency(path) for name, path in REPORTS.items()}
        for name, figures in reports_history.items():
            log(f"{name} with history: p50 {figures['p50']:.1f} ms")
        best_h = bench.max_rate(
            "history",
            0.85 * e2e,
            1.15,
            time.monotonic() + args.budget_s,
            lambda: None,
        )
        e2e_h = best_h["counted_per_s"]
        latency_h = bench.latency_runs("history", e2e_h, lambda: None)
        profile = None
        if args.profile:
            bench.phase("profile", 0.8 * e2e_h, args.profile, profile=args.profile)
            out_dir = OUT / "profile"
            profile = {p.stem: profiling.summarise(p) for p in sorted(out_dir.glob("*.txt"))}
            (OUT / "profile.txt").write_text(profiling.as_text(profile, args.profile))
        timings["with history"] = time.monotonic() - mark

        mark = time.monotonic()
        drain = bench.drain_stage(args.drain_n)
        log(f"stage scale-out gain: {drain['stage_scaleout_gain']:.2f}x")
        bench.platform.scale("categorization", 2)
        best_2 = bench.phase("history 2 cat", 1.15 * best_h["target_per_s"], args.step_s)
        e2e_2 = best_2["counted_per_s"] if best_2["sustainable"] else e2e_h
        latency_2 = bench.latency_runs("history 2 cat", e2e_2, lambda: None)
        timings["scale-out"] = time.monotonic() - mark
        stored_at_end = bench.expected_total
        checks = bench.totals([drain, imported])
    finally:
        bench.close()

    phases = bench.phases
    cpu_total: dict[str, float] = {}
    for p in phases:
        for name, seconds in p["cpu_seconds"].items():
            cpu_total[name] = round(cpu_total.get(name, 0.0) + seconds, 2)
    p99_h = latency_h["50pct"]["latency_ms"]["categorized"].get("p99")
    p99_e = latency["50pct"]["latency_ms"]["categorized"].get("p99")
    result = {
        "run": run,
        "started_at": started_wall.isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": pyplatform.python_version(),
            "platform": pyplatform.platform(),
        },
        "baseline_one_hop_per_s": base["one_hop_per_s"],
        "skeleton_per_s": skel["skeleton_per_s"],
        "e2e_per_s": e2e,
        "ratio": round(e2e / base["one_hop_per_s"], 4),
        "ratio_to_skeleton": round(e2e_h / skel["skeleton_per_s"], 4),
        "e2e_per_s_with_history": e2e_h,
        "history_ratio": round(e2e_h / e2e, 3),
        "history_stored": args.history,
        "preloaded_per_phase": args.history,  # the history phases' (loaded once, kept)
        "stored_at_end": stored_at_end,
        "import_per_s": imported["import_per_s"],
        **flat_latency(latency),
        **flat_latency(latency_h, "_with_history"),
        "summary_ms": summary_empty["p50"],
        "summary_ms_with_history": summary_history["p50"],
        **{f"{name}_ms_with_history": f["p50"] for name, f in reports_history.items()},
        "scaleout_gain": round(e2e_2 / e2e_h, 3),
        "stage_scaleout_gain": drain["stage_scaleout_gain"],
        "lost": checks["lost"],
        "duplicated": checks["duplicated"],
        "submitted": checks["submitted"],
        "counted": checks["counted"],
        "checks": checks,
        "redelivered_events": checks["redelivered_events"],
        "targets": {
            "history_ratio": {"target": 0.9, "met": e2e_h / e2e >= 0.9},
            "ratio_to_skeleton": {"target": 0.5, "met": e2e_h / skel["skeleton_per_s"] >= 0.5},
            "p99_categorized_ms_at_50pct_with_history": {
                "target": 150,
                "met": (p99_h or 1e9) <= 150,
            },
            "summary_ms_with_history": {"target": 50, "met": summary_history["p50"] <= 50},
            **{
                f"{name}_ms_with_history": {"target": 250, "met": f["p50"] <= 250}
                for name, f in reports_history.items()
            },
            "stage_scaleout_gain": {"target": 1.6, "met": drain["stage_scaleout_gain"] >= 1.6},
            "p99_categorized_ms_at_50pct": {"target": 150, "met": (p99_e or 1e9) <= 150},
        },
        "baseline": base,
        "skeleton": skel,
        "history": imported,
        "summary_latency_ms": {"empty": summary_empty, "with_history": summary_history},
        "report_latency_ms_with_history": reports_history,
        "stage_drain": drain,
        "max_rate_by_replicas": {1: e2e_h, 2: e2e_2},
        "max_rate_phase": best,
        "max_rate_phase_with_history": best_h,
        "latency_runs": latency,
        "latency_runs_with_history": latency_h,
        "latency_runs_scaleout": latency_2,
        **flat_latency(latency_2, "_2_categorization"),
        "cpu_seconds_total": cpu_total,
        "cpu_ms_per_feedback_at_max": best["cpu_ms_per_feedback"],
        "cpu_ms_per_feedback_at_max_with_history": best_h["cpu_ms_per_feedback"],
        "timing_s": {k: round(v, 1) for k, v in timings.items()},
        "phases": phases,
        "profile": profile,
        "method": {
            "submission": "wall clock just before the HTTP request or the AMQP publish",
            "stored": "arrival of feedback.received on the bench's own queue",
            "categorized": "arrival of feedback.categorized on the bench's own queue",
            "notified": "latest created_at of the citizen's received delivery and the "
            "department's assigned one, from GET /api/v1/deliveries",
            "counted": "reporting's summary read every 0.1 s: the k-th feedback of a phase to "
            "be categorized is counted when the summary first counts k of them with a category",
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
