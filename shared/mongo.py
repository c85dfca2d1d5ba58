"""A nameko dependency provider that hands each worker its service's own MongoDB database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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

    def __init__(self, ensure_indexes: Callable[[Database], None] | None = None):
        self.ensure_indexes = ensure_indexes
        self._indexed = False
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
        with self._lock:
            if self._indexed:
                return
            try:
                self.ensure_indexes(self.database)
                self._indexed = True
            except PyMongoError as exc:
                log.warning("indexes not created yet (database unavailable?): %s", exc)

    def stop(self):
        self.client.close()

    def kill(self):
        self.client.close()

    def get_dependency(self, worker_ctx) -> Database:
        if not self._indexed:
            self._try_indexes()
        return self.database
