"""The forum report (pure): per theme (category) and area (kecamatan), a period's counts, trend
against the period before it, SLA and satisfaction (from the days' cells, through
``reports``), and per theme its most characteristic terms and three representative texts (from
a bounded sample of the theme's cases: TF-IDF against every sampled text, and the texts
nearest the theme's centroid).

The sample (``forum_samples``: one document per month of submission and category, ``sample_id``)
holds the ``SAMPLE_CAP`` cases of the lowest rank (``sample_entry``: a hash of the case's id), a
bottom-k sample: each categorized case of the month has the same chance to be in it, whatever
their number, and the sample is the same whatever the order, the repeats and the number of
writers (the union of what they add, cut to the lowest ``SAMPLE_CAP``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from services.reporting import projections, reports

SAMPLE_CAP = 200  # case ids kept per (month, category)
MAX_TEXTS_PER_THEME = 400  # sampled cases a report reads per theme (2 months' samples)
TERMS = 10
REPRESENTATIVES = 3
MAX_TEXT_CHARS = 600  # a representative text as shown
# intake's placeholders for what it redacted: never a term
PLACEHOLDER = re.compile(r"\[(?:email|phone|nik|[a-z_]{1,20})\]")
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"  # letters only, three or more
STOP_WORDS = frozenset(
    """
    ada adalah agar akan aku apa atau bagaimana bahwa banyak baru belum berapa bisa buat
    dalam dan dari dekat dengan depan di dia hanya harus ini itu jadi jika juga kalau kami
    kamu kapan karena ke kita kok lagi lah lebih mau masih mohon nya oleh pada para pak
    per saat saja sampai sangat satu saya sebelah sejak semua sendiri sering sudah supaya
    tapi telah terima kasih tersebut tidak tolong untuk warga yang ya bu ibu bapak mas mbak
    gak nggak ga udah aja banget sih dong deh nih tuh kok
    the a an and or of to in on at for from with by is are was were be been it this that
    these those there here not no yes please thanks thank you we our us they them my me
    i he she his her its has have had do does did can could will would should near very
    """.split()
)


def sample_id(month: str, category: str) -> str:
    """The sample document of a month of submission and a category: ``2026-12|flooding``."""
    return f"{month}|{category}"


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def sample_entry(feedback_id: str) -> str:
    """A case's entry in its sample, ``<rank>|<id>``: entries sort by the rank, a uniform hash."""
    return f"{hashlib.sha256(feedback_id.encode()).hexdigest()[:16]}|{feedback_id}"


def entry_id(entry: str) -> str:
    return entry.partition("|")[2]


def kept(entries: Iterable[str], cap: int) -> tuple[list[str], list[str]]:
    """(the lowest ``cap`` entries, sorted; the others): what a sample keeps and drops."""
    ordered = sorted(set(entries))
    return ordered[:cap], ordered[cap:]


def bounded(ids: Iterable[str], limit: int = MAX_TEXTS_PER_THEME) -> list[str]:
    """At most ``limit`` of the ids, the same ones each time (by their hash), any order in."""
    unique = sorted(set(ids), key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    return unique[:limit]


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of equal length just before [start, end]."""
    before_end = start - timedelta(days=1)
    return before_end - (end - start), before_end


def trend(current: int, previous: int) -> dict:
    """The period's cases against the period before's: the change, and the ratio (None when
    there were none before)."""
    return {
        "previous": previous,
        "change": current - previous,
        "ratio": round(current / previous, 2) if previous else None,
    }


def matches(where: dict, query: dict) -> bool:
    """Whether a case's cell fields (``projections.parse_cell``) pass the report's filters, as
    ``reports.selected`` decides for a cell."""
    return all(where.get(f) == query[f] for f in reports.FILTERS if query.get(f))


def case_where(doc: dict) -> dict:
    """A projected case's fields as its cell counts them (areas by the city's names)."""
    return projections.parse_cell(projections.cell(doc))


# ---------------------------------------------------------------- texts


def _clean(text: str) -> str:
    return PLACEHOLDER.sub(" ", text or "")


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        lowercase=True,
        token_pattern=TOKEN_PATTERN,
        stop_words=sorted(STOP_WORDS),
        sublinear_tf=True,
        min_df=2,  # a word of one text alone (a name, a street) is never a theme's term
    )


def _fitted(all_texts: list[str]):
    """The vectorizer fitted on every sampled text, or None when they hold no term."""
    vectorizer = _vectorizer()
    try:
        vectorizer.fit([_clean(t) for t in all_texts])
    except ValueError:  # an empty vocabulary: no text had a word that is not a stop word
        return None
    return vectorizer


def characteristic_terms(
    theme_texts: list[str], all_texts: list[str], k: int = TERMS, vectorizer=None
) -> list[dict]:
    """The ``k`` terms of highest mean TF-IDF over the theme's texts, the IDF from all
    sampled texts (so words every theme uses rank low), the highest first."""
    if not theme_texts:
        return []
    vectorizer = vectorizer or _fitted(all_texts or theme_texts)
    if vectorizer is None:
        return []
    matrix = vectorizer.transform([_clean(t) for t in theme_texts])
    scores = np.asarray(matrix.mean(axis=0)).ravel()
    names = vectorizer.get_feature_names_out()
    order = sorted(range(len(names)), key=lambda i: (-scores[i], names[i]))
    return [
        {"term": str(names[i]), "score": round(float(scores[i]), 4)}
        for i in order[:k]
        if scores[i] > 0
    ]


def representatives(
    theme_texts: list[str], all_texts: list[str], k: int = REPRESENTATIVES, vectorizer=None
) -> list[int]:
    """The indices of the ``k`` theme texts of highest cosine similarity to the theme's
    centroid (TF-IDF rows are L2-normed), the nearest first; distinct texts only."""
    if not theme_texts:
        return []
    vectorizer = vectorizer or _fitted(all_texts or theme_texts)
    if vectorizer is None:
        return list(range(min(k, len(theme_texts))))
    matrix = vectorizer.transform([_clean(t) for t in theme_texts])
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    similarity = matrix @ centroid / norm if norm else np.zeros(len(theme_texts))
    similarity = np.asarray(similarity).ravel()
    chosen, seen = [], set()
    for i in sorted(range(len(theme_texts)), key=lambda i: (-similarity[i], i)):
        key = " ".join(theme_texts[i].split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(i)
        if len(chosen) == k:
            break
    return chosen


def _shown(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


# ---------------------------------------------------------------- the report


def _figures(cells: list[tuple[dict, dict]]) -> dict:
    summary = reports.summary(cells)
    sla = reports.sla(cells)
    satisfaction = reports.satisfaction(cells)
    return {
        "cases": summary["total"],
        "me_too": summary["me_too"],  # of those, the "me too" of an open case
        "sla": {
            "resolved": sla["resolved"],
            "resolved_within_sla": sla["resolved_within_sla"],
            "median_minutes_to_resolve": sla["to_resolve"]["median_minutes"],
            "overdue_now": sla["overdue_now"],
        },
        "satisfaction": {
            "ratings": satisfaction["ratings"],
            "mean_score": satisfaction["mean_score"],
        },
    }


def _grouped(cells: list[tuple[dict, dict]], field: str) -> dict[str, list]:
    groups: dict[str, list] = {}
    for where, metrics in cells:
        groups.setdefault(where.get(field) or "-", []).append((where, metrics))
    return groups


def build(
    now: list[tuple[dict, dict]],
    before: list[tuple[dict, dict]],
    sampled: list[dict],
    labels: dict[str, dict[str, str]] | None = None,
) -> dict:
    """The report's themes, the most cases first: each theme's figures, trend, areas, terms
    and representative texts. ``now`` and ``before`` are the cells of the period and of the
    one before; ``sampled`` the sampled cases of the period that pass the filters, each
    ``{"category", "kecamatan", "text", "day"}`` (texts already redacted)."""
    labels = labels or {}
    texts_by_theme: dict[str, list[dict]] = {}
    for case in sampled:
        if case.get("text"):
            texts_by_theme.setdefault(case.get("category") or "-", []).append(case)
    all_texts = [c["text"] for group in texts_by_theme.values() for c in group]
    vectorizer = _fitted(all_texts) if all_texts else None
    previous = _grouped(before, "category")
    themes = []
    for category, cells in _grouped(now, "category").items():
        figures = _figures(cells)
        before_cells = previous.get(category, [])
        before_areas = _grouped(before_cells, "kecamatan")
        areas = []
        for kecamatan, area_cells in _grouped(cells, "kecamatan").items():
            area = _figures(area_cells)
            was = sum(m["n"] for _, m in before_areas.get(kecamatan, []))
            areas.append({"kecamatan": kecamatan, **area, "trend": trend(area["cases"], was)})
        areas.sort(key=lambda a: (-a["cases"], a["kecamatan"]))
        cases = texts_by_theme.get(category, [])
        theme_texts = [c["text"] for c in cases]
        chosen = representatives(theme_texts, all_texts, vectorizer=vectorizer)
        themes.append(
            {
                "category": category,
                "label": labels.get(category),
                **figures,
                "trend": trend(figures["cases"], sum(m["n"] for _, m in before_cells)),
                "areas": areas,
                "terms": characteristic_terms(theme_texts, all_texts, vectorizer=vectorizer),
                "representative_texts": [
                    {
                        "text": _shown(cases[i]["text"]),
                        "kecamatan": cases[i].get("kecamatan"),
                        "day": cases[i].get("day"),
                    }
                    for i in chosen
                ],
                "sampled_texts": len(theme_texts),
            }
        )
    themes.sort(key=lambda t: (-t["cases"], t["category"]))
    total = sum(m["n"] for _, m in now)
    return {
        "total": total,
        "me_too": sum(m.get("me_too", 0) for _, m in now),  # "me too" of an open case
        "trend": trend(total, sum(m["n"] for _, m in before)),
        "themes": themes,
        "sample": {
            "cap_per_month_and_theme": SAMPLE_CAP,
            "max_texts_per_theme": MAX_TEXTS_PER_THEME,
            "texts": len(all_texts),
        },
    }
