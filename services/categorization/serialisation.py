"""A trained model as bytes and as a file, and the fingerprint its version carries.

Serialised models are pickles (via joblib), zlib-compressed: load only files and documents
this platform wrote itself. A model's version is ``<trained date>-<fingerprint>``, and the
fingerprint covers everything that makes the model what it is: the training examples and
urgency labels, the hyperparameters and seed, the scikit-learn version, the format, and the
bytes of every language data file (`lexicon.digest`). Two models with one version are the
same model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tempfile
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib

from services.categorization import lexicon
from services.categorization.classifier import Hyperparameters, Model

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "default.joblib"
MAX_MODEL_BYTES = 8 * 1024 * 1024  # one MongoDB document holds 16 MB; keep well under
FORMAT = "suara-categorization-model/1"


def fingerprint(
    examples: Sequence[tuple[str, str]],
    params: Hyperparameters,
    seed: int,
    sklearn_version: str,
    urgent: Sequence[tuple[str, bool]] = (),
    data: str | None = None,
) -> str:
    """12 hex digits of SHA-256 over what the model was trained from; `data` is the digest
    of the language data folder (default: `lexicon.digest()`, the one this process reads)."""
    digest = hashlib.sha256()
    for text, category in sorted(examples):
        digest.update(f"{category}\t{text}\n".encode())
    for text, is_urgent in urgent:
        digest.update(f"urgent={int(is_urgent)}\t{text}\n".encode())
    settings = {
        "params": params.as_dict(),
        "seed": seed,
        "sklearn": sklearn_version,
        "data": data if data is not None else lexicon.digest(),
        "format": FORMAT,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:12]


def _state(model: Model) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "pipeline": model.pipeline,
        "version": model.version,
        "trained_at": model.trained_at.isoformat(),
        "hyperparameters": model.hyperparameters.as_dict(),
        "training_size": model.training_size,
        "metrics": model.metrics,
        "urgency": model.urgency_head,
    }


def to_bytes(model: Model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(_state(model), buffer, protocol=5)
    return zlib.compress(buffer.getvalue(), 6)


def from_bytes(data: bytes) -> Model:
    try:
        state = joblib.load(io.BytesIO(zlib.decompress(data)))
    except (zlib.error, pickle.UnpicklingError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f"not a serialised categorization model: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("not a serialised categorization model (unknown format)")
    params = state["hyperparameters"]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return Model(
        state["pipeline"],
        version=state["version"],
        trained_at=datetime.fromisoformat(state["trained_at"]),
        hyperparameters=Hyperparameters(**params),
        training_size=state["training_size"],
        metrics=state["metrics"],
        urgency=state.get("urgency"),  # absent in a model stored before the head
    )


def save(model: Model, path: Path | str) -> Path:
    """Write atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(model))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; services may run as others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: Path | str) -> Model:
    return from_bytes(Path(path).read_bytes())
