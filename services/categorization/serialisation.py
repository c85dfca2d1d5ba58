"""A trained model as bytes and as a file, and the fingerprint its version carries.

Serialised models are zlib-compressed pickles: load only files and documents this platform
wrote itself. Format 2 holds the model's `Predictor` as plain data (numpy arrays, dicts) and
the scikit-learn pipeline as pickled bytes inside it, unpickled only when something asks for
the pipeline, so loading a model to predict imports no scikit-learn; its vocabularies are
pickled once, in the predictor, and shared with the pipeline. Format 1 (joblib, the pipeline
itself) still loads. A model's version is ``<trained date>-<fingerprint>``, and the
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

import numpy as np

from services.categorization import lexicon
from services.categorization.classifier import Hyperparameters, Model
from services.categorization.predictor import Predictor

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "default.joblib"
MAX_MODEL_BYTES = 8 * 1024 * 1024  # one MongoDB document holds 16 MB; keep well under
FORMAT = "suara-categorization-model/2"
FORMAT_1 = "suara-categorization-model/1"  # joblib, read only
_MAGIC = b"suara-categorization-model/2\n"  # before the pickle in format 2


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


class _SharedPickler(pickle.Pickler):
    """Pickles the estimators with the vocabularies the predictor already holds as
    references to them (pickle's persistent ids), not as second copies."""

    def __init__(self, file: io.BytesIO, shared: dict[int, str]) -> None:
        super().__init__(file, protocol=5)
        self._shared = shared

    def persistent_id(self, obj: Any) -> str | None:
        return self._shared.get(id(obj)) if isinstance(obj, dict | np.ndarray) else None


class _SharedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: dict[str, Any]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        if pid not in self._shared:
            raise pickle.UnpicklingError(f"unknown shared object {pid!r}")
        return self._shared[pid]


def _shared_tables(predictor: dict[str, Any] | None) -> dict[str, Any]:
    """The predictor's vocabularies and arrays by their path in its state: the pipeline's
    own objects when the predictor was read off it (then pickled once)."""
    found: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, np.ndarray) or path.endswith(".vocabulary"):
            found[path] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))

    walk(predictor or {}, "")
    return found


def _state(model: Model) -> dict[str, Any]:
    predictor = model.predictor.state() if model.predictor is not None else None
    shared = {id(table): name for name, table in _shared_tables(predictor).items()}
    buffer = io.BytesIO()
    _SharedPickler(buffer, shared).dump((model.pipeline, model.urgency_head))
    return {
        "format": FORMAT,
        "version": model.version,
        "trained_at": model.trained_at.isoformat(),
        "hyperparameters": model.hyperparameters.as_dict(),
        "training_size": model.training_size,
        "metrics": model.metrics,
        "predictor": predictor,
        "estimators": buffer.getvalue(),
    }


def to_bytes(model: Model) -> bytes:
    return zlib.compress(_MAGIC + pickle.dumps(_state(model), protocol=5), 6)


def _load_state(data: bytes) -> dict[str, Any]:
    raw = zlib.decompress(data)
    if raw.startswith(_MAGIC):
        return pickle.loads(raw[len(_MAGIC) :])
    import joblib  # format 1 (and joblib imports scikit-learn's helpers only then)

    return joblib.load(io.BytesIO(raw))


def from_bytes(data: bytes) -> Model:
    try:
        state = _load_state(data)
    except (zlib.error, pickle.UnpicklingError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f"not a serialised categorization model: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") not in (FORMAT, FORMAT_1):
        raise ValueError("not a serialised categorization model (unknown format)")
    params = state["hyperparameters"]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    common = {
        "version": state["version"],
        "trained_at": datetime.fromisoformat(state["trained_at"]),
        "hyperparameters": Hyperparameters(**params),
        "training_size": state["training_size"],
        "metrics": state["metrics"],
    }
    if state["format"] == FORMAT_1:
        # the pipeline itself; the urgency head is absent in a model stored before it
        return Model(state["pipeline"], urgency=state.get("urgency"), **common)
    estimators = state["estimators"]
    shared = _shared_tables(state["predictor"])

    def load_estimators() -> tuple[Any, Any]:
        return _SharedUnpickler(io.BytesIO(estimators), shared).load()

    if state["predictor"] is None:
        pipeline, urgency = load_estimators()
        return Model(pipeline, urgency=urgency, **common)
    return Model(
        predictor=Predictor.of_state(state["predictor"]), estimators=load_estimators, **common
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
