"""``suara import FILE``: a city's earlier feedback (JSON lines or CSV), loaded through intake's
public AMQP command ``feedback.submit``, idempotently by ``(source, external_id)``.

Each row is checked whole against the command's schema before anything is sent, so a bad row
is reported with its line number and skipped, never half-loaded. Loaded feedback keeps its
``submitted_at``, is categorized (or keeps the ``category`` it came with) and counted, and
nobody is told about it (``imported``). A second run of the same file adds nothing.

CSV columns: ``source, external_id, text, submitted_at, category, category_hint, kecamatan,
kelurahan, lat, lon`` (only ``external_id`` and ``text`` are required; ``source`` may come
from ``--source``). JSON lines: the same fields, ``location`` as an object or flat.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from services.intake.schemas import SubmitCommand
from shared import untrusted

LOCATION_FIELDS = ("kecamatan", "kelurahan", "lat", "lon", "address")


@dataclass
class Outcome:
    read: int = 0
    published: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    def summary(self) -> str:
        lines = [
            f"suara import: {self.read} rows read, {self.published} published, "
            f"{len(self.skipped)} skipped (already stored ones are not stored again)"
        ]
        lines += [f"  line {line}: {why}" for line, why in self.skipped[:50]]
        if len(self.skipped) > 50:
            lines.append(f"  ... and {len(self.skipped) - 50} more")
        return "\n".join(lines)


def rows(path: Path) -> Iterator[tuple[int, dict | str]]:
    """(line number, row) for each row; a row that cannot even be read is its error text."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k and v not in ("", None)}
        return
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield number, untrusted.json_object(line)
            except untrusted.UntrustedInput as exc:
                yield number, f"the line {exc.message}"


def command(row: dict, default_source: str | None) -> dict:
    """The ``feedback.submit`` message for one row, or ValidationError saying why not."""
    doc = dict(row)
    location = dict(doc.pop("location", None) or {})
    for name in LOCATION_FIELDS:
        if name in doc:
            location[name] = doc.pop(name)
    for name in ("lat", "lon"):
        if isinstance(location.get(name), str):
            try:
                location[name] = float(location[name])
            except ValueError:
                raise ValidationError({name: ["not a number"]}) from None
    if location:
        doc["location"] = location
    if default_source and not doc.get("source"):
        doc["source"] = default_source
    if "external_id" in doc and not isinstance(doc["external_id"], str):
        doc["external_id"] = str(doc["external_id"])
    loaded = SubmitCommand().load({**doc, "imported": True})  # raises with the fields
    message = {**doc, "imported": True}
    if loaded.get("submitted_at") is not None:
        message["submitted_at"] = loaded["submitted_at"].isoformat()
    return message


def run(path: Path, publish, default_source: str | None = None, progress=None) -> Outcome:
    """Check and publish every row of ``path``; ``publish(message: bytes)`` confirms each."""
    outcome = Outcome()
    for number, row in progress(rows(path)) if progress else rows(path):
        outcome.read += 1
        if isinstance(row, str):
            outcome.skipped.append((number, row))
            continue
        try:
            message = command(row, default_source)
        except ValidationError as exc:
            outcome.skipped.append((number, json.dumps(exc.messages, ensure_ascii=False)[:300]))
            continue
        publish(json.dumps(message, ensure_ascii=False).encode())
        outcome.published += 1
    return outcome
