"""Figures of a phase (rates, latency percentiles), the stdout table and the PNG plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

STAGES = ("stored", "categorized", "notified", "counted")


def percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"n": 0}
    a = np.asarray(values_ms)
    return {
        "n": int(a.size),
        "p50": round(float(np.percentile(a, 50)), 1),
        "p95": round(float(np.percentile(a, 95)), 1),
        "p99": round(float(np.percentile(a, 99)), 1),
        "max": round(float(a.max()), 1),
    }


def rate(times: list[float]) -> float:
    """Events per second between the first and the last of ``times``."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else 0.0


def rising(sent: list[float], latency_ms: list[float]) -> bool:
    """Does latency keep rising through the phase (a backlog that grows)?"""
    if len(latency_ms) < 20:
        return False
    order = np.argsort(sent)
    lat = np.asarray(latency_ms)[order]
    quarter = len(lat) // 4
    first, last = float(np.median(lat[:quarter])), float(np.median(lat[-quarter:]))
    return last > 1.5 * first + 100.0


def _fmt(stats: dict, key: str) -> str:
    return f"{stats[key]:>7.0f}" if stats.get("n") else "      -"


def table(result: dict) -> str:
    b, lines = result["baseline"], []
    lines.append(
        f"Suara end-to-end benchmark, run {result['run']} "
        f"({result['machine']['cpus']} CPUs, {result['wall_s']:.0f} s)"
    )
    lines.append(
        f"  baseline one hop, raw kombu (persistent, confirmed, acked, {b['message_bytes']} B): "
        f"{b['one_hop_per_s']:8.1f} msg/s"
    )
    for replicas, value in sorted(result["max_rate_by_replicas"].items()):
        lines.append(
            f"  Suara end to end, fully counted, {replicas} categorization process(es):  "
            f"{value:8.1f} feedback/s"
        )
    lines.append(f"  scale-out gain (2 vs 1 categorization): {result['scaleout_gain']:.2f}x")
    lines.append("")
    lines.append("  latency from submission (ms)      p50     p95     p99")
    for label in ("50pct", "80pct"):
        phase = result["latency_runs"].get(label)
        if not phase:
            continue
        lines.append(f"  at {label[:2]}% load ({phase['offered_per_s']:.1f}/s):")
        for stage in STAGES:
            s = phase["latency_ms"][stage]
            lines.append(f"    -> {stage:<27}{_fmt(s, 'p50')} {_fmt(s, 'p95')} {_fmt(s, 'p99')}")
    lines.append("")
    lines.append("  CPU seconds per process (whole run):")
    for name, seconds in sorted(result["cpu_seconds_total"].items(), key=lambda kv: -kv[1]):
        per = result["cpu_ms_per_feedback_at_max"].get(name)
        extra = f"   ({per:.1f} ms per feedback at the max rate)" if per is not None else ""
        lines.append(f"    {name:<24}{seconds:8.1f}{extra}")
    lines.append("")
    lines.append(f"  submitted = {result['submitted']}, counted = {result['counted']}")
    c = result["checks"]
    lines.append(
        f"  consistency: {c['counted_without_category']} counted without their category, "
        f"{c['counted_late']} counted only after an outbox sweep, {c['not_notified']} not "
        f"notified, {c['dead_lettered']} dead-lettered"
    )
    lines.append(f"  lost = {result['lost']}, duplicated = {result['duplicated']}")
    lines.append(
        f"  ratio = e2e {result['e2e_per_s']:.1f}/s / baseline one hop "
        f"{b['one_hop_per_s']:.1f}/s = {result['ratio']:.4f}"
    )
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [2, 1]})
    styles = {"p50": ":", "p95": "--", "p99": "-"}
    lines = [  # (replicas, stage, percentiles, colour)
        (1, "categorized", ("p50", "p95", "p99"), "tab:blue"),
        (1, "counted", ("p99",), "tab:red"),
        (2, "categorized", ("p50", "p95", "p99"), "tab:purple"),
    ]
    for replicas, stage, pcts, color in lines:
        phases = sorted(
            (p for p in result["phases"] if p["replicas"] == replicas),
            key=lambda p: p["offered_per_s"],
        )
        if not phases:
            continue
        x = [p["offered_per_s"] for p in phases]
        for pct in pcts:
            y = [p["latency_ms"][stage].get(pct, np.nan) for p in phases]
            left.plot(
                x,
                y,
                linestyle=styles[pct],
                marker="o" if replicas == 1 else "s",
                markersize=4,
                linewidth=1.0 if stage == "counted" else 1.5,
                color=color,
                label=f"to {stage} {pct}, {replicas} categorization",
            )
    left.axhline(150, color="grey", linewidth=0.8)
    left.text(left.get_xlim()[0], 155, " target p99 categorized at 50% load: 150 ms", fontsize=8)
    left.axvline(result["e2e_per_s"], color="black", linewidth=0.8)
    left.set_yscale("log")
    left.set_xlabel("offered feedback per second (half HTTP, half AMQP)")
    left.set_ylabel("latency from submission (ms)")
    left.set_title(
        "Latency by offered rate (ramp steps and 50%/80% runs, each from empty databases)",
        fontsize=10,
    )
    left.legend(fontsize=7, ncol=2, loc="upper left")
    left.grid(True, which="both", alpha=0.3)

    replicas = sorted(result["max_rate_by_replicas"])
    values = [result["max_rate_by_replicas"][r] for r in replicas]
    bars = right.bar([f"{r} categorization" for r in replicas], values, color="tab:blue")
    right.bar_label(bars, fmt="%.1f/s")
    right.set_ylabel("feedback fully counted per second")
    right.set_title(
        f"Max sustainable throughput\n(broker one hop: {result['baseline']['one_hop_per_s']:.0f}"
        f" msg/s; ratio {result['ratio']:.3f})"
    )
    right.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"Suara end to end, run {result['run']} ({result['machine']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
