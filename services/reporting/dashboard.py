"""The city's dashboard page (``GET /dashboard``): words, filters, labels, headers and the
static files, rendered server-side with jinja2 (autoescape) in Indonesian (the default) or
English. The numbers are not in the page: its script (``web/dashboard/static/dashboard.js``)
reads them from reporting's public JSON API on the same origin, and again every ``REFRESH_S``.

Pure apart from reading its templates and files: the service hands in what to show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment

from shared import webpages
from shared.taxonomy import TAXONOMY
from shared.wilayah import WILAYAH

WEB = Path(__file__).resolve().parent / "web" / "dashboard"
LANGUAGES = webpages.LANGUAGES
PERIODS = (7, 30, 90, 365)  # days, the last of them today
DEFAULT_PERIOD = 30
REFRESH_S = 60
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_ATTRIBUTION = "© OpenStreetMap contributors"
CHANNELS = {
    "web": "Web",
    "whatsapp": "WhatsApp",
    "sms": "SMS",
    "email": "E-mail",
    "open311": "Open311",
    "http": "API",
    "amqp": "AMQP",
}
MODULES = WEB.parent / "node_modules"  # web/package.json, web/package-lock.json
# the files served from /dashboard/static/<name>, and nothing else: name -> (file, type)
STATIC = {
    "dashboard.js": (WEB / "static" / "dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": (WEB / "static" / "dashboard.css", "text/css; charset=utf-8"),
    "favicon.svg": (WEB / "static" / "favicon.svg", "image/svg+xml"),
    "chart.umd.min.js": (
        MODULES / "chart.js" / "dist" / "chart.umd.min.js",
        "text/javascript; charset=utf-8",
    ),
    "leaflet.js": (MODULES / "leaflet" / "dist" / "leaflet.js", "text/javascript; charset=utf-8"),
    "leaflet.css": (MODULES / "leaflet" / "dist" / "leaflet.css", "text/css; charset=utf-8"),
}
# the libraries are pinned (web/package-lock.json; npm ci puts them in web/node_modules):
# cached a day; the page's own files an hour
STATIC_MAX_AGE = {"dashboard.js": 3600, "dashboard.css": 3600, "favicon.svg": 3600}
LIBRARY_MAX_AGE = 86400


class TileUrlError(ValueError):
    pass


def tile_url(env: Mapping[str, str] | None = None) -> str:
    """``SUARA_TILE_URL``: the map's tile server (``{z}``, ``{x}``, ``{y}``, optionally
    ``{s}``), OpenStreetMap's by default; ``none`` (or empty when set): no tiles, the points on
    a plain background."""
    env = os.environ if env is None else env
    raw = env.get("SUARA_TILE_URL")
    if raw is None:
        return DEFAULT_TILE_URL
    raw = raw.strip()
    if raw.lower() in ("", "none"):
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise TileUrlError(f"SUARA_TILE_URL must be an http(s) URL template, got {raw!r}")
    if not all(p in raw for p in ("{z}", "{x}", "{y}")):
        raise TileUrlError("SUARA_TILE_URL needs {z}, {x} and {y}")
    if re.search(r"[\s'\";]", raw):
        raise TileUrlError("SUARA_TILE_URL: no spaces, quotes or semicolons")
    return raw


def tile_origin(url: str) -> str | None:
    """The tile server as a CSP source: ``{s}.tile.example`` -> ``*.tile.example``."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc.replace("{s}", "*")
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return f"{parts.scheme}://{host}"


def security_headers(tiles: str) -> dict[str, str]:
    origin = tile_origin(tiles)
    images = "'self'" + (f" {origin}" if origin else "")
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
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


def filters(args: Mapping[str, str], today: date) -> dict:
    """The page's filters from its query string (an unknown value is dropped, not an error):
    the period in days, and kecamatan, category and department."""
    raw_days = args.get("period") or ""
    days = int(raw_days) if raw_days.isdigit() and int(raw_days) in PERIODS else DEFAULT_PERIOD
    chosen = {
        "kecamatan": args.get("kecamatan") if args.get("kecamatan") in WILAYAH.kecamatan else "",
        "category": args.get("category") if args.get("category") in TAXONOMY.category_ids else "",
        "department": (
            args.get("department") if args.get("department") in TAXONOMY.department_ids else ""
        ),
    }
    start = today - timedelta(days=days - 1)
    return {"period": days, "from": start.isoformat(), "to": today.isoformat(), **chosen}


def api_query(chosen: dict) -> str:
    """The query string the page's script adds to each report's URL."""
    keep = {k: chosen[k] for k in ("from", "to", "kecamatan", "category", "department")}
    return urlencode({k: v for k, v in keep.items() if v})


def interval(days: int) -> str:
    return "day" if days <= 31 else "week" if days <= 90 else "month"


def labels(lang: str) -> dict:
    """What the script shows for ids: categories, departments, channels, and its words."""
    t = translator(lang)
    script_words = {
        k[3:]: t(k) for k in messages() if k.startswith("js_")
    }  # js_*: the script's words
    return {
        "lang": lang,
        "categories": {c.id: c.labels[lang] for c in TAXONOMY.categories},
        "departments": {d.id: d.name for d in TAXONOMY.departments},
        "channels": CHANNELS,
        "words": script_words,
    }


def render(template: str, lang: str, **context) -> str:
    t = translator(lang)
    return (
        environment()
        .get_template(template)
        .render(lang=lang, other_lang="en" if lang == "id" else "id", t=t, **context)
    )


def page_context(lang: str, chosen: dict, staff, tiles: str) -> dict:
    """What the dashboard's template shows: the filters' choices and the script's settings."""
    return {
        "chosen": chosen,
        "periods": PERIODS,
        "kecamatan": WILAYAH.kecamatan,
        "categories": [(c.id, c.labels[lang]) for c in TAXONOMY.categories],
        "departments": [(d.id, d.name) for d in TAXONOMY.departments],
        "staff": staff,
        "settings": {
            "query": api_query(chosen),
            "interval": interval(chosen["period"]),
            "tiles": tiles,
            "attribution": TILE_ATTRIBUTION if tiles else "",
            "refresh": str(REFRESH_S),
            "staff": "1" if staff else "",
        },
        "labels": labels(lang),  # into the page as JSON by jinja's tojson (<, >, & escaped)
    }


def static_file(name: str) -> tuple[bytes, str, int] | None:
    """(body, content type, max age) of an allowed static file, or None."""
    if name not in STATIC:
        return None
    path, kind = STATIC[name]
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    return body, kind, STATIC_MAX_AGE.get(name, LIBRARY_MAX_AGE)
