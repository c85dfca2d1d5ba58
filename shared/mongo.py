"""A nameko dependency provider that hands each worker its service's own MongoDB database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pymongo
from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)


def connect(uri: str, *, timeout_ms: int = 5000) -> MongoClient:
    # retryWrites off: FerretDB v1 (the stand-in used in development) has no retryable writes;
    # every write Suara makes is idempotent, so the consumer's own retry covers it.
    return MongoClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=30_000,
        retryWrites=False,
        tz_aware=True,
        appname="suara",
    )


class MongoDatabase(DependencyProvider):
    """Injects a ``pymongo.database.Database``.

    ``ensure_indexes(db)`` runs at start-up; if the database is down then, the service still
    starts and the indexes are created on first use. pymongo reconnects by itself after a
    database restart.
    """

    RETRY_INDEXES_S = 30.0

    def __init__(self, ensure_indexes: Callable[[Database], None] | None = None):
        self.ensure_indexes = ensure_indexes
        self._indexed = False
        self._next_attempt = 0.0
        self._lock = threading.Lock()

    def setup(self):
        config = self.container.config
        self.client = connect(config["MONGO_URI"])
        self.database = self.client[config["MONGO_DB"]]
        self._try_indexes()

    def _try_indexes(self) -> None:
        if self._indexed or self.ensure_indexes is None:
            self._indexed = True
            return
        # while the database is down, try again now and then, not in every worker
        if time.monotonic() < self._next_attempt or not self._lock.acquire(blocking=False):
            return
        try:
            with pymongo.timeout(3):
                self.ensure_indexes(self.database)
            self._indexed = True
        except PyMongoError as exc:
            self._next_attempt = time.monotonic() + self.RETRY_INDEXES_S
            log.warning("indexes not created yet (database unavailable?): %s", exc)
        finally:
            self._lock.release()

    def stop(self):
        self.client.close()

    def kill(self):
        self.client.close()

    def get_dependency(self, worker_ctx) -> Database:
        if not self._indexed:
            self._try_indexes()
        return self.database
