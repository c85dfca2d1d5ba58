"""What notification says (pure): the words of every message, in the reader's language.

A citizen gets e-mails (``citizen_mail``), short WhatsApp or SMS replies (``reply_text``) and the
parameters of the WhatsApp template sent outside the 24-hour window (``reply_template_params``),
from ``templates/citizen.yaml``; a department gets e-mails (``department_mail``) from
``templates/department.yaml``. Each function takes a template kind or a delivery kind
(``deliveries.py``: ``categorized.r2``, ``status.3``, ``assigned.t1`` ...). The HTML part escapes
everything (notes are written by people); department mails take only ids, categories, states,
times and links, never a note or anything about the citizen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

from shared import taxonomy

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATES = TEMPLATE_DIR / "citizen.yaml"
DEPARTMENT_TEMPLATES = TEMPLATE_DIR / "department.yaml"
LANGUAGES = ("id", "en")
CITY_TZ = "Asia/Jakarta"
SUBJECT_LIMIT = 200
REPLY_LIMIT = 300  # one SMS-sized line (WhatsApp allows more; SMS splits beyond 160 anyway)
PARAM_LIMIT = 100
DIGEST_LIMIT = 50

CITIZEN_KINDS = (
    "received",
    "categorized",
    "status",
    "resolved",
    "reopened",
    "transferred",
    "status_answer",
    "followed",
)
DEPARTMENT_KINDS = (
    "assigned",
    "urgent",
    "transferred_in",
    "sla_warning",
    "overdue",
    "rated",
    "reopened",
    "status",
    "digest",
    "spike",
)
# a status change to these states has a template of its own
_STATUS_TEMPLATES = {"resolved", "reopened"}
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------- kinds


def kind_of(delivery_kind: str) -> str | None:
    """The citizen template a delivery kind uses (``categorized.r2`` -> ``categorized``,
    ``transferred.t3`` -> ``transferred``, ``status.4`` -> ``status``, ``status_answer.Q-1`` ->
    ``status_answer``); None for kinds only departments get (``department_kind``)."""
    base = delivery_kind.split(".", 1)[0]
    return base if base in CITIZEN_KINDS else None


def department_kind(delivery_kind: str) -> str | None:
    """The department template a delivery kind uses (``assigned.r1`` -> ``assigned``,
    ``assigned.t2`` -> ``transferred_in``, ``status.5`` -> ``status``, ``urgent``, ``overdue``,
    ``rated``, ``sla_warning``, ``digest``, ``spike.oncall`` -> ``spike``); None for kinds only
    citizens get."""
    base, _, rest = delivery_kind.partition(".")
    if base == "assigned":
        return "transferred_in" if rest.startswith("t") else "assigned"
    return base if base in DEPARTMENT_KINDS else None


# ---------------------------------------------------------------- citizens


def citizen_mail(kind: str, language: str | None, values: Mapping) -> Mail:
    """The e-mail for a citizen. ``values``: ``id`` (required); optional ``status`` (a state
    code), ``note``, ``track``, ``category`` (an id), ``department`` (an id or name),
    ``unsubscribe`` (the footer shows only when it is given), ``followed`` (``followed``: the
    case the citizen's report repeats, whose move this is)."""
    doc, lang = _citizen_templates(), _language(language)
    template = _citizen_template(kind, values)
    words = _citizen_words(doc, lang, values)
    subject = _render(doc["subject"][template][lang], words)
    text = _render(doc["body"][template][lang], words)
    footer = _render(doc["footer"][lang], words) if words["unsubscribe"] else ""
    return _mail(lang, subject, text, footer, links=(words["track"], words["unsubscribe"]))


def reply_text(kind: str, language: str | None, values: Mapping) -> str:
    """One line for a WhatsApp or SMS reply (at most REPLY_LIMIT characters when the tracking
    link allows it): no HTML, and no link but ``track``; a long note is shortened, tags and
    links taken out of it. Same kinds and values as ``citizen_mail``."""
    doc, lang = _citizen_templates(), _language(language)
    template = _citizen_template(kind, values)
    words = _citizen_words(doc, lang, values)
    words["note"] = _sentence(_plain(words["note"]))
    line = _one_line(_render(doc["reply"][template][lang], words))
    if len(line) > REPLY_LIMIT and words["note"]:
        words["note"] = _shortened(words["note"], len(words["note"]) - (len(line) - REPLY_LIMIT))
        line = _one_line(_render(doc["reply"][template][lang], words))
    return line


def reply_template_params(kind: str, language: str | None, values: Mapping) -> tuple[str, str]:
    """The parameters of the approved WhatsApp template for a message outside the 24-hour
    window: ({{1}} the tracking id, {{2}} what happened in a few words), e.g. ("SU-1",
    "sedang dikerjakan") for "Laporan {{1}}: {{2}}." (the templates' text: citizen.yaml). One
    line each (WhatsApp refuses newlines in parameters), at most PARAM_LIMIT characters."""
    doc, lang = _citizen_templates(), _language(language)
    template = _citizen_template(kind, values)
    words = _citizen_words(doc, lang, values)
    said = _one_line(_render(doc["words"][template][lang], words))
    return _one_line(words["id"])[:PARAM_LIMIT], said[:PARAM_LIMIT]


def _citizen_template(kind: str, values: Mapping) -> str:
    template = kind_of(kind)
    if template is None:
        raise ValueError(f"no citizen message for {kind!r}")
    if template == "status" and values.get("status") in _STATUS_TEMPLATES:
        return values["status"]
    return template


def _citizen_words(doc: dict, lang: str, values: Mapping) -> dict:
    _require(values, ("id",), "citizen message")
    return {
        "id": str(values["id"]),
        "status": _state(doc, values.get("status"), lang),
        "note": str(values.get("note") or ""),
        "track": str(values.get("track") or ""),
        "unsubscribe": str(values.get("unsubscribe") or ""),
        "category": category_label(values.get("category"), lang),
        "department": department_name(values.get("department")),
        "followed": str(values.get("followed") or ""),
    }


# ---------------------------------------------------------------- departments

# what each kind cannot do without; anything else may be left out
_DEPARTMENT_NEEDS = {
    "sla_warning": ("id", "due_at"),
    "overdue": ("id", "due_at"),
    "rated": ("id", "score"),
    "status": ("id", "case_status"),
    "digest": ("department", "date"),
    "spike": ("kelurahan", "count", "window_minutes"),
}


def department_mail(kind: str, language: str | None, values: Mapping, tz: str = CITY_TZ) -> Mail:
    """The e-mail for a department's staff (Indonesian unless ``language`` is ``en``).

    ``values`` by kind (``case_url``, the case's page for staff, is optional everywhere):
    ``assigned``: id, category (id), priority (normal|urgent); ``urgent``: id, category,
    reasons (the urgency rules' names); ``transferred_in`` (``assigned.tN``): id,
    from_department_id; ``sla_warning`` and ``overdue``: id, due_at (ISO text or an aware
    datetime; shown in ``tz``); ``rated``: id, score; ``status`` (``status.N``): id,
    case_status (``reopened`` has its own words); ``digest``: department, date, open,
    overdue (counts, else counted from cases), cases (each id, status, due_at, overdue,
    category; the overdue and soonest due first, at most DIGEST_LIMIT listed), cases_url;
    ``spike`` (``spike.oncall``): id (the alert's), kelurahan, kecamatan, category, count,
    window_minutes, baseline_per_hour, threshold, started_at, detected_at.
    Any other value (a note, a name, an address) is ignored."""
    doc, lang = _department_templates(), _language(language)
    template = department_kind(kind)
    if template is None:
        raise ValueError(f"no department message for {kind!r}")
    state = values.get("case_status")
    if template == "status" and state == "reopened":
        template = "reopened"
    _require(values, _DEPARTMENT_NEEDS.get(template, ("id",)), f"department mail {template!r}")
    words = {
        "id": str(values.get("id") or ""),
        "category": category_label(values.get("category"), lang),
        "priority": _word(doc["priorities"], values.get("priority") or "normal", lang),
        "urgent": values.get("priority") == "urgent",
        "reasons": [_word(doc["reasons"], r, lang) for r in values.get("reasons") or ()],
        "from_department": department_name(values.get("from_department_id")),
        "due_at": local_time(values.get("due_at"), lang, tz),
        "score": values.get("score") if values.get("score") is not None else "",
        "status": _word(doc["states"], state, lang),
        "case_url": str(values.get("case_url") or ""),
        **_digest_words(doc, lang, values, tz),
        **_spike_words(lang, values, tz),
    }
    subject = _render(doc["subject"][template][lang], words)
    text = _render(doc["body"][template][lang], words)
    return _mail(lang, subject, text, "", links=(words["case_url"], words["cases_url"]))


def _spike_words(lang: str, values: Mapping, tz: str) -> dict:
    """A surge in one kelurahan (``spike``): where, how many in how long, against what is usual
    there (the baseline, per hour; ``usual``: for a window of that length)."""
    per_hour = float(values.get("baseline_per_hour") or 0)
    window = int(values.get("window_minutes") or 0)
    return {
        "kelurahan": str(values.get("kelurahan") or ""),
        "kecamatan": str(values.get("kecamatan") or ""),
        "count": values.get("count") if values.get("count") is not None else "",
        "window": window,
        "baseline": _number(per_hour, lang),
        "usual": _number(per_hour * window / 60, lang),
        "threshold": values.get("threshold") if values.get("threshold") is not None else "",
        "started_at": local_time(values.get("started_at"), lang, tz),
        "detected_at": local_time(values.get("detected_at"), lang, tz),
    }


def _number(value: float, lang: str) -> str:
    """A small rate as people read it: "0,25" in Indonesian, "0.25" in English."""
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "id" else text


def _digest_words(doc: dict, lang: str, values: Mapping, tz: str) -> dict:
    cases = list(values.get("cases") or ())
    cases.sort(key=lambda c: (not c.get("overdue"), _sort_time(c.get("due_at"))))
    listed = [
        {
            "id": str(c.get("id") or ""),
            "category": category_label(c.get("category"), lang),
            "status": _word(doc["states"], c.get("status"), lang),
            "due_at": local_time(c.get("due_at"), lang, tz),
            "overdue": bool(c.get("overdue")),
        }
        for c in cases[:DIGEST_LIMIT]
    ]
    opened, overdue = values.get("open"), values.get("overdue")
    return {
        "department": department_name(values.get("department")),
        "date": local_date(values.get("date"), lang, tz),
        "open": len(cases) if opened is None else int(opened),
        "overdue": sum(1 for c in cases if c.get("overdue")) if overdue is None else int(overdue),
        "cases": listed,
        "more": len(cases) - len(listed),
        "cases_url": str(values.get("cases_url") or ""),
    }


# ---------------------------------------------------------------- words


def category_label(category_id: object, language: str | None) -> str:
    """A category's label in the language (the id itself when the taxonomy lacks it)."""
    if not category_id:
        return ""
    try:
        return taxonomy.TAXONOMY.category(str(category_id)).labels[_language(language)]
    except KeyError:
        return str(category_id)


def department_name(ref: object) -> str:
    """A department's name, from its id or name (the reference itself when unknown)."""
    return taxonomy.TAXONOMY.department_named(str(ref)).name if ref else ""


def local_time(when: datetime | str | None, language: str | None, tz: str = CITY_TZ) -> str:
    """A time as the city reads it: "Rabu, 2 Des 2026 14:00 WIB" ("" for none)."""
    if when in (None, ""):
        return ""
    local = _aware(when).astimezone(ZoneInfo(tz))
    return f"{local_date(local, language, tz)} {local:%H:%M} {local.tzname()}"


def local_date(day: date | datetime | str | None, language: str | None, tz: str = CITY_TZ) -> str:
    """A day as the city reads it: "Rabu, 2 Des 2026" (a datetime is taken in ``tz``)."""
    if day in (None, ""):
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day) if len(day) == 10 else _aware(day)
    if isinstance(day, datetime):
        day = _aware(day).astimezone(ZoneInfo(tz)).date()
    names = _department_templates()["calendar"][_language(language)]
    return f"{names['days'][day.weekday()]}, {day.day} {names['months'][day.month - 1]} {day.year}"


def _aware(when: datetime | str) -> datetime:
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _sort_time(when: datetime | str | None) -> tuple[bool, float]:
    return (True, 0.0) if when in (None, "") else (False, _aware(when).timestamp())


def _state(doc: dict, state: str | None, lang: str) -> str:
    return _word(doc["states"], state, lang)


def _word(table: dict, code: object, lang: str) -> str:
    """A code in words from a YAML table; an unknown code as readable as it gets."""
    if not code:
        return ""
    entry = table.get(code)
    return entry[lang] if entry else str(code).replace("_", " ")


def language_of(language: str | None) -> str:
    """The language a message is written in: ``id`` or ``en`` (``en-GB`` -> ``en``; anything
    else Indonesian)."""
    return _language(language)


def _language(language: str | None) -> str:
    lang = (language or "").lower().replace("_", "-").split("-")[0]
    return lang if lang in LANGUAGES else "id"


def _require(values: Mapping, needed: Iterable[str], what: str) -> None:
    missing = [k for k in needed if values.get(k) in (None, "")]
    if missing:
        raise ValueError(f"{what} needs {', '.join(missing)}")


# ---------------------------------------------------------------- rendering


@cache
def _citizen_templates() -> dict:
    return yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))


@cache
def _department_templates() -> dict:
    return yaml.safe_load(DEPARTMENT_TEMPLATES.read_text(encoding="utf-8"))


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@cache
def _compiled(source: str) -> Template:
    return _environment().from_string(source)


def _render(source: str, words: dict) -> str:
    return _compiled(source).render(**words)


def _mail(lang: str, subject: str, text: str, footer: str, links: Iterable[str]) -> Mail:
    lines = _lines(text)
    body = "".join(f"<p>{_linked(line, links)}</p>" for line in lines if line)
    text = "\n".join(lines) + "\n"
    if footer.strip():
        text += f"\n-- \n{_one_line(footer)}\n"
        body += f"<hr><p><small>{_linked(_one_line(footer), links)}</small></p>"
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"></head>'
        f"<body>{body}</body></html>"
    )
    return Mail(_one_line(subject)[:SUBJECT_LIMIT], text, html)


def _lines(text: str) -> list[str]:
    """The text's lines without trailing spaces, at most one empty line in a row."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return lines


def _linked(line: str, links: Iterable[str]) -> str:
    """The line escaped, with our own web links (never a link someone wrote) made clickable."""
    escaped = str(escape(line))
    urls = sorted(
        {str(escape(u)) for u in links if u and u.startswith(("https://", "http://"))},
        key=len,
        reverse=True,
    )
    if not urls:
        return escaped
    pattern = re.compile("|".join(re.escape(u) for u in urls))
    return pattern.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def _plain(text: str) -> str:
    """Free text for a short message: no tags, no links, one line."""
    return _one_line(_URL.sub("", Markup(text).striptags()))


def _shortened(text: str, limit: int) -> str:
    """The text cut at a word to at most ``limit`` characters, "…" included ("" if none fit)."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut and not text[len(cut)].isspace():
        cut = cut.rsplit(" ", 1)[0]
    cut = cut.rstrip(" ,;:")
    return cut + "…" if cut else ""


def _sentence(text: str) -> str:
    return text + "." if text and text[-1] not in ".!?…" else text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
