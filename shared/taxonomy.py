"""Suara's taxonomy, read by every service from one data file (``shared/data/taxonomy.yaml``):
the categories (Indonesian and English labels, default department, SLA, Open311 attributes) and
the city's departments (stable ids such as ``dinas-pupr``, names).

Category and department ids are part of the public contract: events, APIs and stored records
carry them. The file is checked whole when it is read; a broken file stops the service.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "taxonomy.yaml"
DEPARTMENT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class TaxonomyError(ValueError):
    """The taxonomy file is not valid: which entry, and why."""


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    full_name: str

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "full_name": self.full_name}


DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Attribute:
    """An extra question a category asks (an Open311 service attribute)."""

    code: str
    datatype: str
    required: bool
    description: str
    values: tuple[tuple[str, str], ...] = ()  # (key, name) of a list's options


@dataclass(frozen=True)
class Category:
    id: str
    label_id: str
    label_en: str
    department: str  # a department id
    sla_hours: float  # working hours until a case is due
    urgent_sla_hours: float  # calendar hours until an urgent case is due
    group: str | None = None  # how Open311 clients cluster categories
    keywords: str | None = None  # comma-separated
    attributes: tuple[Attribute, ...] = ()

    @property
    def labels(self) -> dict[str, str]:
        return {"id": self.label_id, "en": self.label_en}


@dataclass(frozen=True)
class Taxonomy:
    departments: tuple[Department, ...]
    categories: tuple[Category, ...]

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)

    @property
    def department_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.departments)

    def category(self, category_id: str) -> Category:
        return {c.id: c for c in self.categories}[category_id]

    def department(self, department_id: str) -> Department:
        return {d.id: d for d in self.departments}[department_id]

    def default_department(self, category_id: str) -> Department:
        return self.department(self.category(category_id).department)

    def department_named(self, ref: str) -> Department:
        """The department a configured value means: a department id or name from the file,
        else a department outside it, named so (its id made from the name)."""
        ref = ref.strip()
        for d in self.departments:
            if ref in (d.id, d.name):
                return d
        return Department(slug(ref), ref, ref)


def slug(name: str) -> str:
    """``"UPT PJU Kota"`` -> ``"upt-pju-kota"``: a department id made from a name."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_.lower())) or "department"


def department_id(name: str) -> str:
    """The id of the department with this name (a name from the file, or one configured)."""
    return TAXONOMY.department_named(name).id


def departments_view(taxonomy: Taxonomy) -> list[dict]:
    """``GET /api/v1/departments``: each department, with the categories it takes by default
    and their SLA in working hours."""
    return [
        {
            **d.as_dict(),
            "categories": [
                {"id": c.id, "sla_hours": c.sla_hours, "urgent_sla_hours": c.urgent_sla_hours}
                for c in taxonomy.categories
                if c.department == d.id
            ],
        }
        for d in taxonomy.departments
    ]


def parse(doc: object) -> Taxonomy:
    """A taxonomy from the file's parsed YAML; TaxonomyError says what is wrong."""
    if not isinstance(doc, dict):
        raise TaxonomyError("the taxonomy must be a mapping with departments and categories")
    departments = tuple(_department(i, d) for i, d in enumerate(doc.get("departments") or []))
    categories = tuple(_category(i, c) for i, c in enumerate(doc.get("categories") or []))
    if not departments or not categories:
        raise TaxonomyError("the taxonomy needs departments and categories")
    for kind, ids in (
        ("department", [d.id for d in departments]),
        ("category", [c.id for c in categories]),
    ):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise TaxonomyError(f"{kind} ids listed twice: {', '.join(repeated)}")
    known = {d.id for d in departments}
    for c in categories:
        if c.department not in known:
            raise TaxonomyError(f"category {c.id}: unknown department {c.department!r}")
    attributes = _mapping(doc.get("attributes") or {}, "attributes")
    unknown = sorted(set(attributes) - {c.id for c in categories})
    if unknown:
        raise TaxonomyError(f"attributes: unknown category {', '.join(map(str, unknown))}")
    categories = tuple(
        replace(c, attributes=_attributes(c.id, attributes.get(c.id) or [])) for c in categories
    )
    return Taxonomy(departments, categories)


def _attributes(category: str, entries: object) -> tuple[Attribute, ...]:
    if not isinstance(entries, list):
        raise TaxonomyError(f"attributes.{category}: must be a list")
    found = []
    for i, entry in enumerate(entries):
        where = f"attributes.{category}[{i}]"
        entry = _mapping(entry, where)
        code = _text(entry, "code", where)
        if not CATEGORY_ID.fullmatch(code):
            raise TaxonomyError(f"{where}: code {code!r} must be lower-case words joined by _")
        datatype = _text(entry, "datatype", where)
        if datatype not in DATATYPES:
            raise TaxonomyError(f"{where}: datatype must be one of {', '.join(DATATYPES)}")
        values = tuple(
            (str(_text(_mapping(v, where), "key", where)), _text(v, "name", where))
            for v in entry.get("values") or []
        )
        if datatype.endswith("valuelist") != bool(values):
            raise TaxonomyError(f"{where}: values go with (and only with) a list datatype")
        found.append(
            Attribute(
                code,
                datatype,
                bool(entry.get("required")),
                _text(entry, "description", where),
                values,
            )
        )
    codes = [a.code for a in found]
    if len(set(codes)) != len(codes):
        raise TaxonomyError(f"attributes.{category}: a code listed twice")
    return tuple(found)


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: {key} must be a non-empty text")
    return value.strip()


def _hours(entry: dict, key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TaxonomyError(f"{where}: {key} must be a positive number of working hours")
    return float(value)


def _mapping(entry: object, where: str) -> dict:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{where}: must be a mapping")
    return entry


def _department(i: int, entry: object) -> Department:
    where = f"departments[{i}]"
    entry = _mapping(entry, where)
    dept_id = _text(entry, "id", where)
    if not DEPARTMENT_ID.fullmatch(dept_id):
        raise TaxonomyError(f"{where}: id {dept_id!r} must be lower-case words joined by -")
    name = _text(entry, "name", where)
    return Department(dept_id, name, entry.get("full_name") or name)


def _category(i: int, entry: object) -> Category:
    where = f"categories[{i}]"
    entry = _mapping(entry, where)
    cat_id = _text(entry, "id", where)
    if not CATEGORY_ID.fullmatch(cat_id):
        raise TaxonomyError(f"{where}: id {cat_id!r} must be lower-case words joined by _")
    sla, urgent = _hours(entry, "sla_hours", where), _hours(entry, "urgent_sla_hours", where)
    if urgent > sla:
        raise TaxonomyError(f"{where}: urgent_sla_hours is longer than sla_hours")
    return Category(
        cat_id,
        _text(entry, "label_id", where),
        _text(entry, "label_en", where),
        _text(entry, "department", where),
        sla,
        urgent,
        entry.get("group"),
        entry.get("keywords"),
    )


@cache
def load(path: Path = DEFAULT_PATH) -> Taxonomy:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: {exc}") from exc
    try:
        return parse(doc)
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from exc


TAXONOMY = load()
