"""Throughput of `suara classify` on one core (a benchmark, not a test).

Generates N realistic feedback lines from the corpus texts, varied so that hardly any two are
identical (village names, RT/RW numbers, greetings, typos, two reports joined), runs
`suara classify` as a subprocess pinned to CPU 0 (`taskset -c 0`) and prints
{"lines": .., "seconds": .., "lines_per_s": ..} for the median of `--repeat` runs. The time
includes process start-up and model loading (about 0.35 s), as a user of the command sees it.

    .venv/bin/python bench/classify_bench.py [--lines 20000] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.categorization.serialisation import DEFAULT_MODEL_PATH  # noqa: E402
from tests.support.load import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args(argv)

    model = Path(args.model)
    if not model.exists():
        print(f"building {model} first (not timed)", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "services.categorization.cli", "train", "--output", str(model)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    lines = generate(args.lines)
    unique = len(set(lines))
    command = [sys.executable, "-m", "services.categorization.cli", "classify"]
    command += ["--model", str(model)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for _ in range(args.repeat):
            with source.open("rb") as stdin, target.open("wb") as stdout:
                started = time.perf_counter()
                subprocess.run(command, cwd=ROOT, stdin=stdin, stdout=stdout, check=True)
                runs.append(time.perf_counter() - started)
        answers = target.read_text(encoding="utf-8").splitlines()
    errors = sum(1 for answer in answers if "error" in json.loads(answer))
    if len(answers) != len(lines) or errors:
        print(f"bad output: {len(answers)} lines, {errors} errors", file=sys.stderr)
        return 1
    seconds = statistics.median(runs)
    result = {
        "lines": len(lines),
        "seconds": round(seconds, 3),
        "lines_per_s": round(len(lines) / seconds),
        "unique_lines": unique,
        "runs_seconds": [round(r, 3) for r in runs],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
