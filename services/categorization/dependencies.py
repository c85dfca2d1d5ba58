"""The categorization model as a nameko dependency: the newest version stored in the database,
picked up by every replica within ``REFRESH_S`` seconds of ``suara train``, without a restart."""

from __future__ import annotations

import logging
import threading
import time

from eventlet import tpool
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from services.categorization import duplicates, modelstore, triage
from services.categorization.classifier import Model
from shared.mongo import connect

log = logging.getLogger(__name__)
REFRESH_S = 10.0


def _default_model() -> Model:
    from services.categorization.cli import load_model  # the shipped model file

    return load_model()


class ActiveModel(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.db = connect(config["MONGO_URI"])[config["MONGO_DB"]]
        self.model: Model | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        # in setup, not start: every setup ends before any entrypoint starts consuming
        self.model = self._from_database() or tpool.execute(_default_model)
        tpool.execute(triage.warm_up, self.model)  # not inside the first request
        tpool.execute(duplicates.warm_up)  # the me-too tables: about a second, once
        log.info("categorization model %s", self.model.version)

    def stop(self):
        self.db.client.close()

    def _from_database(self, known: str | None = None) -> Model | None:
        try:
            version = modelstore.active_version(self.db)
            if version is None or version == known:
                return None
            # deserializing takes a moment of CPU: keep the event loop (and heartbeats) free
            return tpool.execute(modelstore.load_version, self.db, version)
        except PyMongoError as exc:
            log.warning("could not look for a newer model: %s", exc)
            return None

    def current(self) -> Model:
        now = time.monotonic()
        if now - self._checked >= REFRESH_S and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                newer = self._from_database(self.model.version)
                if newer is not None:
                    tpool.execute(triage.warm_up, newer)
                    log.info("switching to model %s", newer.version)
                    self.model = newer
            finally:
                self._lock.release()
        return self.model

    def get_dependency(self, worker_ctx) -> Model:
        return self.current()
