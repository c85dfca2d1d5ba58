"""The city's areas (``shared/data/wilayah.yaml``): its kecamatan and their kelurahan, with
approximate centroids. Checked whole when read; a broken file stops the service."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "wilayah.yaml"


class WilayahError(ValueError):
    pass


@dataclass(frozen=True)
class Kelurahan:
    name: str
    kecamatan: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Wilayah:
    kelurahan: tuple[Kelurahan, ...]

    @property
    def kecamatan(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k.kecamatan for k in self.kelurahan))

    def of(self, kecamatan: str) -> tuple[Kelurahan, ...]:
        return tuple(k for k in self.kelurahan if k.kecamatan == kecamatan)

    def find(self, name: str) -> Kelurahan | None:
        return next((k for k in self.kelurahan if k.name == name), None)


def parse(doc: object) -> Wilayah:
    if not isinstance(doc, dict) or not isinstance(doc.get("kecamatan"), list):
        raise WilayahError("expected a mapping with a list of kecamatan")
    found = []
    for i, kec in enumerate(doc["kecamatan"]):
        if not isinstance(kec, dict) or not isinstance(kec.get("name"), str):
            raise WilayahError(f"kecamatan[{i}]: needs a name")
        for j, kel in enumerate(kec.get("kelurahan") or []):
            where = f"kecamatan[{i}].kelurahan[{j}]"
            try:
                name, lat, lon = kel["name"], float(kel["lat"]), float(kel["lon"])
            except (KeyError, TypeError, ValueError):
                raise WilayahError(f"{where}: needs name, lat and lon") from None
            if not (-7.0 < lat < -6.8 and 109.6 < lon < 109.75):
                raise WilayahError(f"{where}: {name} lies outside Kota Pekalongan")
            found.append(Kelurahan(name, kec["name"], lat, lon))
    names = [k.name for k in found]
    if len(set(names)) != len(names) or not found:
        raise WilayahError("each kelurahan once, and at least one")
    return Wilayah(tuple(found))


@cache
def load(path: Path = DEFAULT_PATH) -> Wilayah:
    try:
        return parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, WilayahError) as exc:
        raise WilayahError(f"{path}: {exc}") from exc


WILAYAH = load()
