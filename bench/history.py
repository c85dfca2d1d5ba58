"""A city's history, loaded the way a city loads it: a file of earlier feedback through
``suara import`` (intake's public AMQP command), then waited for through reporting's summary.

The file has ``n`` rows of realistic texts (``tests.support.load.generate``) over the past year,
in every kecamatan; a third carry the category the earlier system gave them (as an export from
SP4N-LAPOR! would), the rest are categorized by Suara.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.events import CATEGORY_IDS
from tests.support.load import KECAMATAN, VILLAGES, generate


def write_file(path: Path, run: str, n: int, seed: int = 11) -> Path:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as f:
        for i, line in enumerate(generate(n, seed=seed)):
            row = {
                "source": "lapor-archive",
                "external_id": f"{run}-{i:06d}",
                "text": json.loads(line)["text"],
                "submitted_at": (now - timedelta(minutes=rng.randint(60, 525_600))).isoformat(),
                "kecamatan": rng.choice(KECAMATAN),
                "kelurahan": rng.choice(VILLAGES),
            }
            if rng.random() < 1 / 3:
                row["category"] = rng.choice(CATEGORY_IDS)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def load(path: Path, amqp_uri: str, counted, expected: int, timeout_s: float, log) -> dict:
    """``suara import path``; then wait until ``counted()`` (reporting's summary: total, with a
    category) reaches ``expected``. Returns the figures."""
    started = time.monotonic()
    suara = Path(sys.executable).with_name("suara")
    done = subprocess.run(
        [str(suara), "import", str(path), "--amqp", amqp_uri],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    published_s = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"suara import failed ({done.returncode}): {done.stderr[-500:]}")
    log(f"history: suara import published in {published_s:.0f} s; waiting until counted")
    deadline, last_log = started + timeout_s, 0.0
    total = with_category = 0
    while time.monotonic() < deadline:
        total, with_category = counted()
        if total >= expected and with_category >= expected:
            break
        if time.monotonic() - last_log > 30:
            log(f"history: {with_category} of {expected} counted")
            last_log = time.monotonic()
        time.sleep(0.5)
    else:
        raise RuntimeError(f"history: {with_category} of {expected} counted in {timeout_s:.0f} s")
    counted_s = time.monotonic() - started
    return {
        "rows": expected,
        "published_s": round(published_s, 1),
        "published_per_s": round(expected / published_s, 1),
        "counted_s": round(counted_s, 1),
        "import_per_s": round(expected / counted_s, 1),
        "import_output": done.stderr.strip().splitlines()[-1:],
    }
