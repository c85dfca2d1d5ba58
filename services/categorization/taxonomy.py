"""Categorization's view of the taxonomy: the categories of ``shared/data/taxonomy.yaml`` (their
labels and default departments), the words typical of each (``data/keywords.tsv``), and
department overrides.

Category ids are part of the public contract (events, API, stored decisions): never rename one.
Departments are configuration: ``SUARA_DEPARTMENTS`` points a category at another department
(by its id or name in the taxonomy, or by the name of one outside it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.categorization import lexicon
from shared.taxonomy import TAXONOMY, department_id


@dataclass(frozen=True)
class Category:
    id: str
    label_id: str
    label_en: str
    department: str  # the default department's name

    @property
    def labels(self) -> dict[str, str]:
        return {"id": self.label_id, "en": self.label_en}


# from the one taxonomy every service reads (shared/data/taxonomy.yaml)
CATEGORIES: tuple[Category, ...] = tuple(
    Category(c.id, c.label_id, c.label_en, TAXONOMY.department(c.department).name)
    for c in TAXONOMY.categories
)

CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)
BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}
FALLBACK_CATEGORY = "other"

# Short column headers for the confusion matrix in evaluation reports.
SHORT_LABELS: dict[str, str] = {
    "roads": "road",
    "flooding": "flood",
    "waste": "waste",
    "water": "water",
    "streetlights": "light",
    "traffic": "traf",
    "social_assistance": "social",
    "health": "health",
    "education": "edu",
    "digital_services": "digit",
    "public_order": "order",
    "economy_umkm": "umkm",
    "population_admin": "admin",
    "environment": "env",
    "other": "other",
}


# Words and phrases typical of each category (data/keywords.tsv): normalised Indonesian, after
# the slang and English dictionaries of `normalize`. The classifier sees how many of each
# category's words a text has (`features.KeywordCounts`): this helps with words that are rare
# in the training corpus.
KEYWORDS: dict[str, tuple[str, ...]] = lexicon.groups("keywords.tsv", CATEGORY_IDS, phrases=True)


def is_category(category_id: str) -> bool:
    return category_id in BY_ID


def departments(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Category id -> department, the defaults with `overrides` (from config) applied.

    Unknown category ids or empty department names in the overrides are a configuration error.
    """
    result = {c.id: c.department for c in CATEGORIES}
    for category_id, department in (overrides or {}).items():
        if category_id not in result:
            raise ValueError(f"unknown category in department overrides: {category_id!r}")
        if not isinstance(department, str) or not department.strip():
            raise ValueError(f"empty department for category {category_id!r}")
        result[category_id] = TAXONOMY.department_named(department).name
    return result


def as_dicts(overrides: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The `GET /api/v1/categories` answer, in the fixed category order."""
    depts = departments(overrides)
    return [
        {
            "id": c.id,
            "label_id": c.label_id,
            "label_en": c.label_en,
            "department": depts[c.id],
            "department_id": department_id(depts[c.id]),
        }
        for c in CATEGORIES
    ]
