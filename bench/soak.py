"""`make soak` (not in CI): Suara for 30 minutes at half its measured max rate, with a city's
history loaded, watching for slow leaks.

The platform, the load and the observation are `make bench`'s (``bench.e2e_bench.Bench``):
``--history`` feedback through ``suara import`` first, then one-minute phases at ``--rate``
(default: half of ``e2e_per_s_with_history`` in ``var/bench/latest.json``). Every minute: p50
and p99 from submission to counted, and each process's RSS and CPU share. Writes
``var/bench/soak.json`` and ``soak.png``; fails (exit 1) if p99 or any process's RSS grows by
more than 20% from the first five minutes to the last five, or anything is lost or duplicated.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 15] [--history 10000]
"""

from __future__ import annotations

import json
import random
import statistics
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.e2e_bench import OUT, Bench, log, parser  # noqa: E402
from bench.observe import rss_mib  # noqa: E402

GROWTH = 1.2  # the last five minutes against the first five
WINDOW = 5


def growth(values: list[float]) -> float | None:
    """Mean of the last ``WINDOW`` values over the mean of the first ``WINDOW``."""
    values = [v for v in values if v is not None]
    if len(values) < 2 * WINDOW:
        return None
    first = statistics.fmean(values[:WINDOW])
    return statistics.fmean(values[-WINDOW:]) / first if first else None


def verdict(minutes: list[dict], lost: int, duplicated: int) -> list[str]:
    problems = []
    g = growth([m["p99_counted_ms"] for m in minutes])
    if g is not None and g > GROWTH:
        problems.append(f"p99 submission -> counted grew {g:.2f}x (limit {GROWTH}x)")
    for name in sorted({n for m in minutes for n in m["rss_mib"]}):
        g = growth([m["rss_mib"].get(name) for m in minutes])
        if g is not None and g > GROWTH:
            problems.append(f"RSS of {name} grew {g:.2f}x (limit {GROWTH}x)")
    if lost or duplicated:
        problems.append(f"lost = {lost}, duplicated = {duplicated}")
    return problems


def default_rate() -> float:
    try:
        latest = json.loads((OUT / "latest.json").read_text())
        return 0.5 * latest["e2e_per_s_with_history"]
    except (OSError, KeyError, ValueError):
        return 15.0


def plot(minutes: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [m["minute"] for m in minutes]
    fig, (lat, rss, cpu) = plt.subplots(1, 3, figsize=(16, 4.5))
    for key, style in (("p50_counted_ms", ":"), ("p99_counted_ms", "-")):
        lat.plot(
            x,
            [m[key] for m in minutes],
            linestyle=style,
            marker="o",
            markersize=3,
            label=key.replace("_counted_ms", " submission -> counted"),
        )
    lat.set_ylabel("ms")
    lat.set_xlabel("minute")
    lat.legend(fontsize=8)
    lat.grid(True, alpha=0.3)
    for name in sorted({n for m in minutes for n in m["rss_mib"]}):
        rss.plot(x, [m["rss_mib"].get(name) for m in minutes], label=name)
        cpu.plot(x, [m["cpu_share"].get(name) for m in minutes], label=name)
    rss.set_ylabel("RSS (MiB)")
    cpu.set_ylabel("CPU (cores)")
    for ax in (rss, cpu):
        ax.set_xlabel("minute")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__.split("\n")[0])
    options.add_argument("--minutes", type=int, default=30, help="one-minute phases")
    options.add_argument("--rate", type=float, help="/s (default: half the last max rate)")
    args = options.parse_args(argv)
    minutes_n, rate = args.minutes, args.rate or default_rate()
    run = "".join(random.choices(string.ascii_lowercase, k=6))
    bench = Bench(args, run)
    minutes: list[dict] = []
    began = time.monotonic()
    try:
        bench.fresh()
        imported = bench.load_history(args.history)
        log(f"soak: {args.history} imported; {minutes_n} minutes at {rate:.1f}/s")
        pids = {**bench.platform.pids(), **{k: v for k, v in bench.server_pids.items() if v}}
        for minute in range(1, minutes_n + 1):
            phase = bench.phase(f"soak {minute}", rate, 60)
            counted = phase["latency_ms"]["counted"]
            minutes.append(
                {
                    "minute": minute,
                    "offered_per_s": phase["offered_per_s"],
                    "p50_counted_ms": counted.get("p50"),
                    "p99_counted_ms": counted.get("p99"),
                    "p99_categorized_ms": phase["latency_ms"]["categorized"].get("p99"),
                    "rss_mib": {
                        name: round(value, 1)
                        for name, pid in pids.items()
                        if (value := rss_mib(pid)) is not None
                    },
                    "cpu_share": {k: round(v / 60, 3) for k, v in phase["cpu_seconds"].items()},
                    "lost": phase["lost"],
                    "duplicated": phase["duplicated"],
                }
            )
        lost = sum(m["lost"] for m in minutes) + imported["lost"]
        duplicated = sum(m["duplicated"] for m in minutes) + imported["duplicated"]
    finally:
        bench.close()
    problems = verdict(minutes, lost, duplicated)
    result = {
        "run": run,
        "rate_per_s": rate,
        "history": imported,
        "minutes": minutes,
        "p99_growth": growth([m["p99_counted_ms"] for m in minutes]),
        "rss_growth": {
            name: growth([m["rss_mib"].get(name) for m in minutes])
            for name in sorted({n for m in minutes for n in m["rss_mib"]})
        },
        "lost": lost,
        "duplicated": duplicated,
        "problems": problems,
        "wall_s": round(time.monotonic() - began, 1),
    }
    (OUT / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(minutes, OUT / "soak.png", f"make soak, run {run}: {rate:.1f}/s, {args.history} stored")
    for m in minutes:
        print(
            f"minute {m['minute']:>2}: p50 {m['p50_counted_ms']} ms, p99 {m['p99_counted_ms']} ms"
            f" to counted; RSS {m['rss_mib']}"
        )
    for problem in problems:
        print("FAIL:", problem)
    print("soak: FAILED" if problems else "soak: passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
