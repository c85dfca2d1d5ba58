"""Recount the summary from reporting's projection and compare it with the live counters.

    python -m services.reporting.recount        (SUARA_MONGO_URI / SUARA_REPORTING_MONGO_URI,
                                                 SUARA_REPORTING_DB, as the service reads them)

Prints both and every difference; exits 0 when they agree, 1 when they do not. It scans the
projection (the counters exist so that nothing else has to): run it after an incident, or in
the fault tests, not on every request.
"""

from __future__ import annotations

import json
import sys

from services.reporting import store
from shared import config


def differences(live: dict, recounted: dict) -> dict[str, tuple[int, int]]:
    """``{"by_status.received": (live, recounted), ...}`` for every count that differs."""
    a, b = _counts(live), _counts(recounted)
    return {k: (a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def _counts(summary: dict, prefix: str = "") -> dict[str, int]:
    """Every count of a summary, flattened (``by_status.received``, ``satisfaction.by_score.5``);
    derived figures (the mean score) follow from them."""
    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update(_counts(value, f"{prefix}{key}."))
        elif isinstance(value, int) and not isinstance(value, bool):
            flat[prefix + key] = value
    return flat


def main(argv=None) -> int:
    cfg = config.load("reporting")
    client, db = store.open_database(cfg["MONGO_URI"], cfg["MONGO_DB"])
    try:
        live, recounted = store.summary(db), store.recount(db)
    finally:
        client.close()
    found = differences(live, recounted)
    for doc in (live, recounted):
        doc.pop("generated_at", None)
    print(json.dumps({"live": live, "recounted": recounted}, indent=1, sort_keys=True))
    for key, (a, b) in found.items():
        print(f"differs: {key}: live {a}, recounted {b}", file=sys.stderr)
    print("recount: the counters agree" if not found else "recount: DIFFERENCES", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
