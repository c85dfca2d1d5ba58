"""The citizen's web pages (server-rendered with jinja2; no JavaScript needed): the report
form, the receipt, the tracking page. Words come from ``web/messages.yaml`` in Indonesian (the
default) and English; every value is escaped (autoescape), and every page is sent with a
strict Content-Security-Policy (``SECURITY_HEADERS``).

Pure apart from reading its templates: the service hands in what to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment

from services.intake import lifecycle, sla
from shared import webpages
from shared.taxonomy import TAXONOMY
from shared.wilayah import WILAYAH

WEB = Path(__file__).resolve().parent / "web"
LANGUAGES = webpages.LANGUAGES
ZONE = ZoneInfo("Asia/Jakarta")
MAX_PHOTOS = 3

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the tracking link holds the citizen's token
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


@cache
def messages() -> dict[str, dict[str, str]]:
    return webpages.load_messages(WEB / "messages.yaml")


@cache
def environment() -> Environment:
    return webpages.environment(WEB / "templates")


language = webpages.language


def translator(lang: str):
    return webpages.translator(messages(), lang)


def render(template: str, lang: str, **context) -> str:
    t = translator(lang)
    return (
        environment()
        .get_template(template)
        .render(lang=lang, other_lang="en" if lang == "id" else "id", t=t, **context)
    )


# ---------------------------------------------------------------- the report form

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{6,20}$")
FORM_FIELDS = ("text", "category", "kecamatan", "kelurahan", "address", "lat", "lon")
CONTACT_FIELDS = ("name", "email", "phone")


@dataclass
class Report:
    """What the form sent, what is wrong with it (field -> message), and the submission."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    submission: dict | None = None


def form_context(lang: str, report: Report | None, photo_mb: float) -> dict:
    t = translator(lang)
    labels = {
        "text": t("text_label"),
        "kelurahan": t("kelurahan_label"),
        "email": t("email_label"),
        "phone": t("phone_label"),
        "photos": t("photos_title"),
        "category": t("category_label"),
        "form": t("error_title"),
    }
    values = {k: "" for k in (*FORM_FIELDS, *CONTACT_FIELDS)}
    values["anonymous"] = ""
    if report:
        values.update(report.values)
    return {
        "values": values,
        "errors": report.errors if report else {},
        "labels": labels,
        "categories": TAXONOMY.categories,
        "kecamatan": WILAYAH.kecamatan,
        "wilayah": WILAYAH,
        "photo_mb": f"{photo_mb:g}",
    }


def read_report(form: dict[str, str], lang: str, photo_count: int) -> Report:
    """The report form (field -> value) as a submission for the shared use case, or the
    problems found, in the page's language."""
    t = translator(lang)
    values = {k: (form.get(k) or "").strip() for k in (*FORM_FIELDS, *CONTACT_FIELDS)}
    values["anonymous"] = "1" if form.get("anonymous") else ""
    report = Report(values)
    text = values["text"]
    if len(text) < 3:
        report.errors["text"] = t("text_short")
    elif len(text) > 5000:
        report.errors["text"] = t("text_long")
    if values["category"] and values["category"] not in TAXONOMY.category_ids:
        report.errors["category"] = t("invalid")
    kecamatan, kelurahan = values["kecamatan"] or None, values["kelurahan"] or None
    if kecamatan and kecamatan not in WILAYAH.kecamatan:
        report.errors["kecamatan"] = t("invalid")
    place = WILAYAH.find(kelurahan) if kelurahan else None
    if kelurahan and place is None:
        report.errors["kelurahan"] = t("invalid")
    elif place and kecamatan and place.kecamatan != kecamatan:
        report.errors["kelurahan"] = t("kelurahan_mismatch")
    lat, lon = _coordinate(values["lat"], 90), _coordinate(values["lon"], 180)
    if len(values["address"]) > 300:
        report.errors["address"] = t("invalid")
    contact = {}
    if not values["anonymous"]:
        if values["email"] and not _EMAIL.fullmatch(values["email"]):
            report.errors["email"] = t("email_invalid")
        if values["phone"] and not _PHONE.fullmatch(values["phone"]):
            report.errors["phone"] = t("phone_invalid")
        contact = {k: values[k][:200] for k in CONTACT_FIELDS if values[k]}
    if photo_count > MAX_PHOTOS:
        report.errors["photos"] = t("photos_too_many")
    if report.errors:
        return report
    location = {
        "kecamatan": place.kecamatan if place else kecamatan,
        "kelurahan": place.name if place else None,
        "address": values["address"] or None,
        "lat": lat,
        "lon": lon if lat is not None else None,
    }
    report.submission = {
        "text": text,
        "location": location if any(v is not None for v in location.values()) else None,
        "contact": {**contact, "language": lang} if contact else None,
        "category": values["category"] or None,  # the citizen's own choice, when made
    }
    return report


def _coordinate(raw: str, bound: float) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if -bound <= value <= bound else None  # a broken pin is dropped, not fatal


# ---------------------------------------------------------------- the tracking page


def city_time(value: datetime | str | None, lang: str) -> str | None:
    """A time as people in Pekalongan read it: 2 Des 2026 14.05 WIB."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    local = value.astimezone(ZONE)
    months = (
        "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des"
        if lang == "id"
        else "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
    ).split()
    clock = local.strftime("%H.%M" if lang == "id" else "%H:%M")
    return f"{local.day} {months[local.month - 1]} {local.year} {clock} WIB"


def track_context(view: dict, lang: str, *, token_ok: bool, may_reopen: bool) -> dict:
    """The tracking page of a case (``feedback.public_view``), with the forms its token
    allows: rating once resolved, reopening within the window."""
    t = translator(lang)
    steps = []
    for step in view["history"]:
        label = t("state_" + step["status"])
        if step.get("department_id"):
            label = t("transferred", department=_department_name(step["department_id"]))
        steps.append({"at": city_time(step["at"], lang), "label": label, "note": step.get("note")})
    rating = view.get("rating")
    already = view.get("already_reported")
    return {
        "case": view,
        # "me too" (issue 15): reported already as another case, which this citizen follows
        "already": already,
        "already_department": (already or {}).get("department") or t("department_in_charge"),
        "steps": steps,
        "submitted": city_time(view["submitted_at"], lang),
        "due": city_time(view.get("due_at"), lang) if view["status"] in sla.RUNNING else None,
        "department": view.get("department"),
        "may_rate": token_ok and lifecycle.may_rate(view["status"], rating),
        "may_reopen": token_ok and may_reopen,
        "rated": rating["score"] if rating else None,
    }


def _department_name(department_id: str) -> str:
    try:
        return TAXONOMY.department(department_id).name
    except KeyError:
        return department_id
