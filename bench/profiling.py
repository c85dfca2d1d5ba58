"""Sampling profiles of the running services with py-spy, summarised as text.

py-spy attaches to a process from outside (``--nonblocking``: it never pauses it) and samples
the Python stacks of its busy threads; idle stacks (the event loop waiting) are not sampled, so
the counts show where CPU time goes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")
COMPONENTS = (  # py-spy names files relative to their sys.path entry
    ("suara code", ("/services/", "/shared/")),
    ("pymongo/bson", ("/pymongo/", "/bson/")),
    ("kombu/amqp", ("/kombu/", "/amqp/")),
    ("eventlet", ("/eventlet/", "/greenlet/")),
    ("nameko", ("/nameko/",)),
    ("werkzeug", ("/werkzeug/",)),
    ("marshmallow", ("/marshmallow/",)),
    ("cloudevents", ("/cloudevents/",)),
    ("classifier libs (sklearn, numpy, scipy, langid)", ("/sklearn/", "/numpy/", "/scipy/")),
    ("classifier libs (sklearn, numpy, scipy, langid)", ("/py3langid/", "/joblib/")),
)
# the event loop waiting in epoll: py-spy cannot tell it from work, so it is set apart
WAITING = {"Hub.do_poll", "Hub.wait", "BaseHub.run"}


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pids: dict[str, int], seconds: float, out_dir: Path, rate: int = 100) -> list:
    """Start one py-spy per process; returns the Popen objects (wait for them)."""
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed (pip install -e '.[dev]')")
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for name, pid in pids.items():
        cmd = [binary, "record", "--pid", str(pid), "--duration", str(int(seconds))]
        cmd += ["--rate", str(rate), "--nonblocking", "--format", "raw"]
        cmd += ["--output", str(out_dir / f"{name}.txt")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def _parse(frame: str) -> tuple[str, str]:
    m = FRAME.match(frame)
    return (m["func"], m["file"]) if m else (frame, "")


def _component(path: str) -> str:
    path = "/" + path.lstrip("/")
    for name, markers in COMPONENTS:
        if any(marker in path for marker in markers):
            return name
    return "python stdlib and other"


def _suara(path: str) -> bool:
    return _component(path) == "suara code"


def summarise(path: Path, top: int = 12) -> dict:
    """Samples, self time by component and by function, and inclusive time of Suara functions."""
    total, waiting, by_component, by_leaf, inclusive = 0, 0, Counter(), Counter(), Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_parse(f) for f in stack.split(";")]
        func, file = frames[-1]
        if func in WAITING:
            waiting += n
            continue
        total += n
        by_component[_component(file)] += n
        by_leaf[f"{func} ({Path(file).name})"] += n
        seen = set()
        for func, file in frames:
            if _suara(file) and (func, file) not in seen:
                seen.add((func, file))
                inclusive[f"{func} ({'/'.join(Path(file).parts[-2:])})"] += n

    def share(counter: Counter) -> list[tuple[str, float]]:
        return [(k, round(100.0 * v / total, 1)) for k, v in counter.most_common(top)]

    if not total:
        return {"samples": 0, "waiting_samples": waiting}
    return {
        "samples": total,
        "waiting_samples": waiting,
        "self_by_component_pct": share(by_component),
        "self_by_function_pct": share(by_leaf),
        "inclusive_suara_functions_pct": share(inclusive),
    }


def as_text(summaries: dict[str, dict], seconds: float) -> str:
    lines = [f"py-spy profiles, {seconds:.0f} s at 80% of the max rate (100 samples/s, busy only)"]
    for name, s in summaries.items():
        lines.append(
            f"\n== {name}: {s.get('samples', 0)} busy samples "
            f"(+{s.get('waiting_samples', 0)} of the event loop waiting, left out)"
        )
        for title, key in (
            ("self time by component", "self_by_component_pct"),
            ("self time by function", "self_by_function_pct"),
            ("inclusive time of Suara functions", "inclusive_suara_functions_pct"),
        ):
            lines.append(f"  {title}:")
            lines.extend(f"    {pct:5.1f}%  {what}" for what, pct in s.get(key, []))
    return "\n".join(lines) + "\n"
