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
    b, k, lines = result["baseline"], result["skeleton"], []
    lines.append(
        f"Suara end-to-end benchmark, run {result['run']} "
        f"({result['machine']['cpus']} CPUs, {result['wall_s']:.0f} s)"
    )
    lines.append(
        f"  broker one hop, raw kombu (persistent, confirmed, acked, {b['message_bytes']} B): "
        f"{b['one_hop_per_s']:8.1f} msg/s"
    )
    lines.append(
        f"  broker skeleton of Suara's topology (2 confirmed publishes, "
        f"{k['deliveries_per_feedback']:.0f} deliveries):  {k['skeleton_per_s']:8.1f} feedback/s"
    )
    h = result["history"]
    lines.append(
        f"  history: {h['rows']} feedback through suara import, counted in {h['counted_s']:.0f} s"
        f" ({result['import_per_s']:.1f}/s; published at {h['published_per_s']:.0f}/s)"
    )
    lines.append("")
    lines.append("                                           empty      with history")
    lines.append(
        f"  Suara end to end, fully counted (/s)  {result['e2e_per_s']:10.1f}  "
        f"{result['e2e_per_s_with_history']:12.1f}   (history_ratio {result['history_ratio']:.2f})"
    )
    lines.append(
        f"  summary latency, median (ms)          {result['summary_ms']:10.1f}  "
        f"{result['summary_ms_with_history']:12.1f}"
    )
    lines.append(
        f"  ratio to the skeleton: {result['ratio_to_skeleton']:.3f} (with history); "
        f"to one hop: {result['ratio']:.4f} (empty)"
    )
    d = result["stage_drain"]
    lines.append(
        f"  categorization stage drain: {d['one']['per_s']:.1f}/s with 1 process, "
        f"{d['two']['per_s']:.1f}/s with 2 (stage_scaleout_gain {d['stage_scaleout_gain']:.2f}x)"
    )
    lines.append(
        f"  end to end with 2 categorization processes (history): scaleout_gain "
        f"{result['scaleout_gain']:.2f}x"
    )
    lines.append("")
    lines.append("  latency from submission (ms)      p50     p95     p99")
    for runs, title in (
        (result["latency_runs"], "empty"),
        (result["latency_runs_with_history"], "with history"),
    ):
        for label in ("50pct", "80pct"):
            phase = runs.get(label)
            if not phase:
                continue
            lines.append(f"  {title}, at {label[:2]}% load ({phase['offered_per_s']:.1f}/s):")
            for stage in STAGES:
                s = phase["latency_ms"][stage]
                lines.append(
                    f"    -> {stage:<27}{_fmt(s, 'p50')} {_fmt(s, 'p95')} {_fmt(s, 'p99')}"
                )
    lines.append("")
    lines.append("  CPU seconds per process (whole run):")
    per_feedback = result["cpu_ms_per_feedback_at_max_with_history"]
    for name, seconds in sorted(result["cpu_seconds_total"].items(), key=lambda kv: -kv[1]):
        per = per_feedback.get(name)
        extra = f"   ({per:.1f} ms per feedback at the max rate, history)" if per else ""
        lines.append(f"    {name:<24}{seconds:8.1f}{extra}")
    lines.append("")
    c = result["checks"]
    lines.append(
        f"  submitted = {result['submitted']} in phases (+ {h['rows']} imported, "
        f"{2 * d['one']['submitted']} in stage drains), counted = {result['counted']}"
    )
    lines.append(
        f"  consistency: {c['counted_without_category']} counted without their category, "
        f"{c['not_notified']} not notified, {c['dead_lettered']} dead-lettered, "
        f"{c['redelivered_events']} events seen twice (at-least-once)"
    )
    lines.append(f"  lost = {result['lost']}, duplicated = {result['duplicated']}")
    lines.append("")
    lines.append("  targets:")
    for key, t in result["targets"].items():
        value = result.get(key)
        lines.append(
            f"    {key:<44} {value!s:>10}  target {t['target']}: {'met' if t['met'] else 'not met'}"
        )
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, mid, right) = plt.subplots(
        1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [2, 1, 1]}
    )
    styles = {"p50": ":", "p95": "--", "p99": "-"}
    groups = (  # (label, phase filter, colour)
        ("empty", lambda p: p["kind"].startswith("empty"), "tab:blue"),
        (
            "with history",
            lambda p: p["kind"].startswith("history") and p["replicas"] == 1,
            "tab:red",
        ),
    )
    for label, keep, color in groups:
        phases = sorted((p for p in result["phases"] if keep(p)), key=lambda p: p["offered_per_s"])
        if not phases:
            continue
        x = [p["offered_per_s"] for p in phases]
        for pct in ("p50", "p99"):
            y = [p["latency_ms"]["categorized"].get(pct, np.nan) for p in phases]
            left.plot(
                x,
                y,
                linestyle=styles[pct],
                marker="o",
                markersize=4,
                color=color,
                label=f"to categorized {pct}, {label}",
            )
    left.axhline(150, color="grey", linewidth=0.8)
    left.text(left.get_xlim()[0], 155, " target p99 categorized at 50% load: 150 ms", fontsize=8)
    left.set_yscale("log")
    left.set_xlabel("offered feedback per second (half HTTP, half AMQP)")
    left.set_ylabel("latency from submission (ms)")
    left.set_title("Latency by offered rate (ramp steps and 50%/80% runs)", fontsize=10)
    left.legend(fontsize=7, loc="upper left")
    left.grid(True, which="both", alpha=0.3)

    labels = ["empty", f"{result['history_stored']:,} stored"]
    rates = [result["e2e_per_s"], result["e2e_per_s_with_history"]]
    bars = mid.bar(labels, rates, color=["tab:blue", "tab:red"])
    mid.bar_label(bars, fmt="%.1f/s")
    mid.set_ylabel("feedback fully counted per second (max sustained)")
    mid.set_title(
        f"Max rate (history_ratio {result['history_ratio']:.2f})\nbroker skeleton "
        f"{result['skeleton_per_s']:.0f}/s, one hop {result['baseline_one_hop_per_s']:.0f}/s",
        fontsize=10,
    )
    mid.grid(True, axis="y", alpha=0.3)

    p99 = [
        result.get("p99_categorized_ms_at_50pct"),
        result.get("p99_categorized_ms_at_50pct_with_history"),
    ]
    bars = right.bar(labels, [v or 0 for v in p99], color=["tab:blue", "tab:red"])
    right.bar_label(bars, fmt="%.0f ms")
    right.axhline(150, color="grey", linewidth=0.8)
    right.set_ylabel("p99 submission -> categorized at 50% load (ms)")
    right.set_title("p99 at 50% of the max rate", fontsize=10)
    right.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"Suara end to end, run {result['run']} ({result['machine']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
