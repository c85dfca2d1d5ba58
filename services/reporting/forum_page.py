"""The forum report as a printable page (``GET /api/v1/reports/forum.html``): jinja2 with
autoescape, in Indonesian (the default) or English, its print CSS inline (so the PDF, printed
from a file, needs nothing else) and allowed by its hash in the page's CSP.

Pure apart from reading its template and words (``web/forum/``): the service hands in the report.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.reporting import dashboard, reports

WEB = Path(__file__).resolve().parent / "web" / "forum"
LANGUAGES = dashboard.LANGUAGES


@cache
def messages() -> dict[str, dict[str, str]]:
    found = yaml.safe_load((WEB / "messages.yaml").read_text(encoding="utf-8"))
    for key, words in found.items():
        if set(words) != set(LANGUAGES):
            raise ValueError(f"reporting web/forum/messages.yaml: {key} needs id and en")
    return found


@cache
def css() -> str:
    return (WEB / "forum.css").read_text(encoding="utf-8")


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(WEB),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
    )


def language(query: str | None, accept: str | None) -> str:
    """``?lang=``, then Accept-Language; else id."""
    return dashboard.language(query, None, accept)


def headers() -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(css().encode("utf-8")).digest()).decode()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def _formatters(lang: str) -> dict:
    words = messages()

    def t(key: str, **values) -> str:
        text = words[key][lang]
        return text.format(**values) if values else text

    def number(value: float, digits: int = 1) -> str:
        text = f"{value:.{digits}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text  # 2.50 -> 2.5, 50 stays
        return text.replace(".", ",") if lang == "id" else text

    def duration(minutes: float | None) -> str:
        if minutes is None:
            return t("none")
        if minutes < 60:
            return t("minutes", n=number(minutes, 0))
        if minutes < 48 * 60:
            return t("hours", n=number(minutes / 60))
        return t("days", n=number(minutes / 1440))

    def share(value: float | None) -> str:
        return t("none") if value is None else f"{number(value * 100, 0)} %"

    def score(value: float | None) -> str:
        return t("none") if value is None else number(value, 2)

    def signed(value: int) -> str:
        return f"+{value}" if value > 0 else str(value)

    def label(theme: dict) -> str:
        return (theme.get("label") or {}).get(lang) or theme["category"]

    return {
        "t": t,
        "duration": duration,
        "share": share,
        "score": score,
        "signed": signed,
        "label": label,
    }


def render(report: dict, lang: str, args: Mapping[str, str]) -> str:
    """The page of ``report`` (``forum_report.report``); ``args`` the request's query, kept in
    the page's links (the other language, the PDF)."""
    other = "en" if lang == "id" else "id"
    kept = {k: v for k, v in args.items() if k != "lang"}
    filters = [(f, report["period"][f]) for f in reports.FILTERS if report["period"].get(f)]
    return (
        environment()
        .get_template("forum.html")
        .render(
            report=report,
            lang=lang,
            other_lang=other,
            css=Markup(css()),  # our own file, exactly as its CSP hash says
            filters=filters,
            query=urlencode({**kept, "lang": lang}),
            other_query=urlencode({**kept, "lang": other}),
            **_formatters(lang),
        )
    )
