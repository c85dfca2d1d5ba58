"""What each database operation Suara issues costs FerretDB, by collection size.

The profile of the slowest stage: FerretDB uses about two thirds of the CPU time of a
feedback (``make bench``), and its cost per operation depends on which filter the operation
has and on how many documents the collection holds. For every kind of operation the services
issue per feedback, this measures FerretDB's CPU time (``/proc/<pid>/stat``) and the wall
time, on collections of ``--sizes`` documents shaped like intake's, with intake's indexes.

    .venv/bin/python bench/ferretdb_ops.py [--mongo URI] [--pid-file PATH] [--sizes 200,3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.observe import cpu_seconds, pid_from_file  # noqa: E402
from shared.mongo import connect  # noqa: E402

ENTRY = {"id": "e1", "exchange": "intake.events", "event": {"data": {"text": "x" * 300}}}


def operations(c, now: datetime) -> list[tuple[str, str, object]]:
    """(name, where Suara issues it, function of i)."""
    return [
        ("insert_one", "intake/categorization store.insert", lambda i: c.insert_one(new(i, now))),
        ("find_one {_id}", "reads; outbox.relay(staged=None)", lambda i: c.find_one({"_id": k(i)})),
        (
            "update {_id} $pullAll",
            "outbox.relay, when more was staged",
            lambda i: c.update_one({"_id": k(i)}, {"$pullAll": {"outbox": [ENTRY]}}),
        ),
        (
            "upsert {_id}",
            "reporting received / urgent",
            lambda i: c.update_one({"_id": f"U{i}"}, {"$set": {"received": True}}, upsert=True),
        ),
        (
            "update {_id, outbox: staged}",
            "outbox.relay (every relay)",
            lambda i: c.update_one(
                {"_id": k(i), "outbox": [ENTRY]}, {"$set": {"outbox": []}, "$unset": {"x": ""}}
            ),
        ),
        (
            "update {_id, revision: {$lt}}",
            "intake apply_categorization, reporting categorized",
            lambda i: c.update_one(
                {"_id": k(i), "categorization_revision": {"$lt": 1}},
                {"$set": {"categorization_revision": 1, "status": "categorized"}},
            ),
        ),
        (
            "find {outbox_at: {$lt}}",
            "outbox.sweep, every 2 s per service",
            lambda i: list(c.find({"outbox_at": {"$lt": now}}, {"_id": 1}).limit(500)),
        ),
    ]


def k(i: int) -> str:
    return f"SU-N{i:09d}"


def new(i: int, now: datetime) -> dict:
    return {
        "_id": k(i),
        "text": "banyu rob mlebu omah neng Panjang Wetan",
        "status": "received",
        "categorization_revision": 0,
        "outbox": [ENTRY],
        "outbox_at": now,
        "idempotency_key": f"key-{i}",
        "created_at": now,
    }


def measure(pid: int | None, fn, n: int) -> dict:
    cpu0, t0 = (cpu_seconds(pid) if pid else None), time.perf_counter()
    for i in range(n):
        fn(i)
    wall = time.perf_counter() - t0
    cpu = (cpu_seconds(pid) - cpu0) if pid else None
    return {
        "wall_ms": round(1000 * wall / n, 2),
        "ferretdb_cpu_ms": round(1000 * cpu / n, 2) if cpu is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mongo", default="mongodb://127.0.0.1:27017/")
    parser.add_argument("--pid-file", default=str(ROOT / "var" / "ferretdb" / "ferretdb.pid"))
    parser.add_argument("--sizes", default="200,3000")
    parser.add_argument("--n", type=int, default=60, help="operations per measurement")
    args = parser.parse_args(argv)
    pid = pid_from_file(Path(args.pid_file))
    client = connect(args.mongo)
    db = client[f"bench_ops_{int(time.time())}"]
    results = {}
    try:
        c = db.feedback
        c.create_index("idempotency_key", unique=True, sparse=True)
        c.create_index("external_key", unique=True, sparse=True)
        c.create_index([("status", 1), ("created_at", 1)])
        c.create_index("outbox_at", sparse=True)
        now = datetime.now(UTC)
        stored = 0
        for size in (int(s) for s in args.sizes.split(",")):
            filler = [
                {"_id": f"SU-P{i:09d}", "text": "arsip", "status": "categorized", "created_at": now}
                for i in range(stored, size)
            ]
            if filler:
                c.insert_many(filler)
            stored = max(stored, size)
            c.delete_many({"_id": {"$regex": "^(SU-N|U)"}})
            row = {}
            for name, where, fn in operations(c, now):
                scans = "{_id}" not in name and name != "insert_one"
                n = max(5, args.n // 4) if scans else args.n
                row[name] = {"where": where, **measure(pid, fn, n)}
            results[size] = row
            print(f"collection of {size} documents", file=sys.stderr)
            for name, r in row.items():
                print(
                    f"  {name:<32} FerretDB CPU {r['ferretdb_cpu_ms']!s:>7} ms  "
                    f"wall {r['wall_ms']:7.2f} ms   ({r['where']})",
                    file=sys.stderr,
                )
    finally:
        client.drop_database(db.name)
        client.close()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
