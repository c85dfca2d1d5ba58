"""Lists of ids kept in chunks of at most ``size`` (pymongo), so that a list that grows for
ever (a day's cases, a webhook's deliveries) is appended to and read by ``_id`` alone: the
chunks of list ``key`` are the documents ``key:0``, ``key:1``, ... of one collection.

An id is listed *before* the write that makes it true, so a crash between the two leaves an id
that a reader skips, never an item that it misses.
"""

from __future__ import annotations

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

CHUNK = 500
_open_chunk: dict[tuple[str, str, str], int] = {}  # (database, collection, key) -> chunk to try


def _chunk_id(key: str, chunk: int) -> str:
    return f"{key}:{chunk}"


def append(collection: Collection, key: str, item: str, size: int | None = None) -> None:
    size = size or CHUNK
    cache_key = (collection.database.name, collection.name, key)
    chunk = _open_chunk.get(cache_key, 0)
    while True:
        try:
            collection.update_one(
                {"_id": _chunk_id(key, chunk), "n": {"$lt": size}},
                {"$addToSet": {"ids": item}, "$inc": {"n": 1}},
                upsert=True,
            )
            break
        except DuplicateKeyError:  # this chunk is full: the next one
            chunk += 1
    _open_chunk[cache_key] = chunk


def read(collection: Collection, key: str) -> list[str]:
    """The ids listed under ``key``, in the order they were listed."""
    ids, chunk = [], 0
    while (doc := collection.find_one({"_id": _chunk_id(key, chunk)})) is not None:
        ids.extend(doc.get("ids") or [])
        chunk += 1
    return ids
