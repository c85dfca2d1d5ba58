"""The MongoDB stand-in behaves like MongoDB where Suara relies on it (deploy/ferretdb/*.patch):
an update of one document is atomic, and a filter with an _id equality reads one row however
large the collection. Against MongoDB itself these hold as well."""

import threading

import pytest

from shared.mongo import connect
from tests.conftest import MONGO_URI

CLIENTS, INCREMENTS = 4, 200


def test_concurrent_increments_of_one_document_are_all_kept(db):
    db.counters.insert_one({"_id": "c", "n": 0})
    clients = [connect(MONGO_URI) for _ in range(CLIENTS)]  # one connection each
    errors: list[Exception] = []

    def bump(client):
        try:
            coll = client[db.name].counters
            for _ in range(INCREMENTS):
                coll.update_one({"_id": "c"}, {"$inc": {"n": 1}})
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for c in clients:
        c.close()
    assert not errors, errors
    assert db.counters.find_one({"_id": "c"})["n"] == CLIENTS * INCREMENTS


def test_find_and_modify_and_delete_are_atomic_too(db):
    db.items.insert_many([{"_id": f"i{k}", "claimed_by": None} for k in range(50)])
    claims: list[tuple[str, str]] = []

    def claim(worker: str):
        while doc := db.items.find_one_and_update(
            {"claimed_by": None}, {"$set": {"claimed_by": worker}}
        ):
            claims.append((doc["_id"], worker))

    threads = [threading.Thread(target=claim, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(i for i, _ in claims) == sorted(f"i{k}" for k in range(50))  # each once


@pytest.fixture
def large(db):
    db.large.insert_many([{"_id": f"d{k:05d}", "revision": k % 7} for k in range(20_000)])
    return db.large


def test_a_filter_with_an_id_equality_is_pushed_down_whatever_else_it_has(db, large):
    for extra in ({}, {"revision": {"$lt": 5}}, {"outbox.id": "x"}):
        plan = db.command("explain", {"find": "large", "filter": {"_id": "d12345", **extra}})
        assert plan.get("filterPushdown") is True, (extra, plan)
        assert "SCAN" not in str(plan["queryPlanner"]), plan  # a SEARCH by the _id index
    # and the result is still the whole filter's
    assert large.find_one({"_id": "d12345", "revision": {"$lt": 5}})["revision"] == 4
    assert large.find_one({"_id": "d12346", "revision": {"$lt": 5}}) is None  # revision 5
    result = large.update_one({"_id": "d00003", "revision": {"$lt": 5}}, {"$set": {"x": 1}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    result = large.update_one({"_id": "d00006", "revision": {"$lt": 5}}, {"$set": {"x": 1}})
    assert result.matched_count == 0  # revision 6: the rest of the filter still applies


def test_a_list_of_ids_is_pushed_down_and_still_filtered_whole(db, large):
    ids = ["d00003", "d12345", "d99999", "d00006"]  # d99999: not stored
    plan = db.command("explain", {"find": "large", "filter": {"_id": {"$in": ids}}})
    assert plan.get("filterPushdown") is True, plan
    assert "SCAN" not in str(plan["queryPlanner"]), plan  # a SEARCH by the _id index
    found = large.find({"_id": {"$in": ids}, "revision": {"$lt": 5}})
    assert sorted(d["_id"] for d in found) == ["d00003", "d12345"]  # d00006: revision 6
    assert sorted(d["_id"] for d in large.find({"_id": {"$in": ids}})) == [
        "d00003",
        "d00006",
        "d12345",
    ]
    # a list with anything but strings (or ObjectIds) is filtered in memory, as before
    mixed = {"find": "large", "filter": {"_id": {"$in": ["d00003", 7]}}}
    assert db.command("explain", mixed).get("filterPushdown") is False
    assert [d["_id"] for d in large.find({"_id": {"$in": ["d00003", 7]}})] == ["d00003"]
