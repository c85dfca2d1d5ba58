"""Runs one Suara service with a bench-only patch: a proposed change, measured before it is made.

    python bench/patched_runner.py --patch byid intake

``e2e_bench.py --patch byid`` starts every service this way. Nothing here is used by
``make run`` or the tests; docs/performance.md gives what the patch gained.

``byid``: FerretDB v1 (SQLite) pushes down to SQLite only a filter that is exactly
``{_id: <value>}``; any other filter reads and decodes the whole collection, so each of the
platform's conditional updates costs time in proportion to the collection's size. The patch
keeps every per-feedback write on ``_id`` alone:

- ``shared.outbox.relay``: ``$pullAll`` of the published entries and ``$unset`` of
  ``outbox_at`` in one write by ``_id``, then one read by ``_id`` sets ``outbox_at`` back if
  entries were staged meanwhile (instead of the filters ``{_id, outbox: staged}`` and
  ``{_id, outbox: []}``);
- intake's ``apply_categorization`` and reporting's ``apply``: the "newer revision only" check
  reads the document by ``_id`` and compares in Python, then writes by ``_id``, under the
  process's ``document_lock`` (instead of filtering on the revision). On MongoDB the filter is
  atomic across replicas and indexed, so a real change would keep it there and take this path
  only on FerretDB (``buildInfo`` has ``ferretdbVersion``), where the per-process lock is all
  the isolation there is anyway.
"""

import eventlet

eventlet.monkey_patch()  # first, as shared/runner.py does

import argparse  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def patch_byid() -> None:
    from pymongo.errors import DuplicateKeyError

    from services.intake import feedback
    from services.intake import store as intake_store
    from services.reporting import store as reporting_store
    from shared import outbox
    from shared.mongo import document_lock

    def relay(collection, doc_id, publish, staged=None) -> int:
        if staged is None:
            doc = collection.find_one({"_id": doc_id}, {"outbox": 1, "outbox_at": 1})
            if doc is None:
                return 0
            staged = doc.get("outbox") or []
            if not staged:
                if doc.get("outbox_at") is not None:
                    with document_lock(collection, doc_id):
                        after = collection.find_one({"_id": doc_id}, {"outbox": 1})
                        if after is not None and not after.get("outbox"):
                            collection.update_one({"_id": doc_id}, {"$unset": {"outbox_at": ""}})
                return 0
        for item in staged:
            publish(item)
        with document_lock(collection, doc_id):
            collection.update_one(
                {"_id": doc_id}, {"$pullAll": {"outbox": staged}, "$unset": {"outbox_at": ""}}
            )
            after = collection.find_one({"_id": doc_id}, {"outbox": 1})
            if after is not None and after.get("outbox"):  # staged meanwhile: keep it swept
                collection.update_one({"_id": doc_id}, {"$set": {"outbox_at": datetime.now(UTC)}})
        return len(staged)

    def apply_categorization(db, data: dict) -> bool:
        fid = data["feedback_id"]
        _, update = feedback.categorization_update(data)
        with document_lock(db.feedback, fid):
            doc = db.feedback.find_one({"_id": fid}, {"categorization_revision": 1})
            if doc is None or doc.get("categorization_revision", 0) >= data.get("revision", 1):
                return False
            return db.feedback.update_one({"_id": fid}, update).modified_count == 1

    def apply(db, change) -> bool:
        query, update = change
        fid = query["_id"]
        with document_lock(db.feedback, fid):
            if "revision" in query:
                doc = db.feedback.find_one({"_id": fid}, {"revision": 1})
                if doc is not None and (doc.get("revision") or 0) >= query["revision"]["$lt"]:
                    return False
            for _ in range(2):
                try:
                    result = db.feedback.update_one({"_id": fid}, update, upsert=True)
                    return bool(result.modified_count or result.upserted_id)
                except DuplicateKeyError:
                    continue
        return False

    outbox.relay = relay
    intake_store.apply_categorization = apply_categorization
    reporting_store.apply = apply


PATCHES = {"byid": patch_byid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patch", default="", help=f"comma-separated: {', '.join(PATCHES)}")
    parser.add_argument("service")
    args = parser.parse_args(argv)
    chosen = set(filter(None, args.patch.split(",")))
    if chosen - set(PATCHES):
        parser.error(f"unknown patch(es): {', '.join(sorted(chosen - set(PATCHES)))}")
    for name, patch in PATCHES.items():
        if name in chosen:
            patch()
    from shared import runner

    return runner.main([args.service])


if __name__ == "__main__":
    sys.exit(main())
