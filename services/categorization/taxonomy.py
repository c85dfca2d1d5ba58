"""The fixed list of feedback categories, their labels and default departments.

Category ids are part of the public contract (events, API, stored decisions): never rename one.
Departments are configuration: the defaults below can be overridden per deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    id: str
    label_id: str
    label_en: str
    department: str

    @property
    def labels(self) -> dict[str, str]:
        return {"id": self.label_id, "en": self.label_en}


CATEGORIES: tuple[Category, ...] = (
    Category("roads", "Jalan & Jembatan", "Roads & bridges", "Dinas PUPR"),
    Category("flooding", "Banjir & Rob", "Flooding & tidal flooding", "BPBD"),
    Category("waste", "Sampah & Kebersihan", "Waste & cleanliness", "Dinas Lingkungan Hidup"),
    Category("water", "Air Bersih & Sanitasi", "Clean water & sanitation", "Perumda Air Minum"),
    Category("streetlights", "Penerangan Jalan Umum", "Street lighting", "Dinas Perhubungan"),
    Category("traffic", "Lalu Lintas & Parkir", "Traffic, parking & transport", "Dinas Perhubungan"),
    Category("social_assistance", "Bantuan Sosial", "Social assistance", "Dinas Sosial"),
    Category("health", "Kesehatan", "Health", "Dinas Kesehatan"),
    Category("education", "Pendidikan", "Education", "Dinas Pendidikan"),
    Category(
        "digital_services", "Layanan Digital", "Digital & e-government services", "Dinkominfo"
    ),
    Category("public_order", "Ketertiban Umum", "Public order", "Satpol PP"),
    Category(
        "economy_umkm",
        "UMKM & Perdagangan",
        "Small business & markets",
        "Dinas Perdagangan, Koperasi dan UKM",
    ),
    Category(
        "population_admin",
        "Administrasi Kependudukan",
        "Civil registration (KTP, KK, akta)",
        "Disdukcapil",
    ),
    Category("environment", "Lingkungan Hidup", "Environment & pollution", "Dinas Lingkungan Hidup"),
    Category("other", "Lainnya", "Other (praise, questions, ideas)", "Dinkominfo (triage)"),
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
        result[category_id] = department.strip()
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
        }
        for c in CATEGORIES
    ]
