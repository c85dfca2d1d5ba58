"""Versioned models in the categorization database, so every replica uses the same one.

Collection ``models``: one document per version (the serialized model, under 8 MB, fits in a
single document); the newest ``created_at`` is the active one. Collection ``corrections``:
staff corrections, used as extra training examples by ``suara train``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bson.binary import Binary
from pymongo import DESCENDING
from pymongo.database import Database

from services.categorization import serialisation
from services.categorization.classifier import Model
from shared import config


def ensure_indexes(db: Database) -> None:
    db.models.create_index([("created_at", DESCENDING)])
    db.corrections.create_index([("created_at", 1)])


def save_model(db: Database, model: Model) -> None:
    db.models.replace_one(
        {"_id": model.version},
        {
            "_id": model.version,
            "blob": Binary(serialisation.to_bytes(model)),
            # as JSON text: FerretDB v1 stores no nested arrays (the confusion matrix)
            "metrics_json": json.dumps(model.metrics, default=str),
            "macro_f1": model.metrics.get("macro_f1"),
            "training_size": model.training_size,
            "trained_at": model.trained_at,
            "created_at": datetime.now(UTC),
        },
        upsert=True,
    )


def active_version(db: Database) -> str | None:
    doc = db.models.find_one({}, {"_id": 1}, sort=[("created_at", DESCENDING)])
    return doc["_id"] if doc else None


def load_version(db: Database, version: str) -> Model | None:
    doc = db.models.find_one({"_id": version})
    return serialisation.from_bytes(bytes(doc["blob"])) if doc else None


def corrections(db: Database) -> list[dict]:
    return [
        {"text": c["text"], "category": c["category"]}
        for c in db.corrections.find({}, {"text": 1, "category": 1}).sort("created_at", 1)
    ]


def _database(uri: str) -> Database:
    from shared.mongo import connect

    return connect(uri)[config.service_mongo("categorization")[1]]


# The two entry points of the DB-backed `suara train` (services/categorization/cli.py).
def store_trained_model(uri: str, model: Model) -> None:
    db = _database(uri)
    ensure_indexes(db)
    save_model(db, model)


def load_corrections(uri: str) -> list[dict]:
    return corrections(_database(uri))
