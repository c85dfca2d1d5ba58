"""What every server-rendered page of Suara shares (the citizen's pages in intake, the
dashboard in reporting): words from a messages file in Indonesian and English, a jinja2
environment that escapes everything, the page's language, and a page's unexpected failure
answered as a plain page without the details."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pymongo.errors import ConnectionFailure
from werkzeug.wrappers import Response

LANGUAGES = ("id", "en")
log = logging.getLogger(__name__)


def load_messages(path: Path) -> dict[str, dict[str, str]]:
    """A messages file: each key with its words in every language (else ValueError)."""
    found = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, words in found.items():
        if set(words) != set(LANGUAGES):
            raise ValueError(f"{path.parent.name}/{path.name}: {key} needs id and en")
    return found


def environment(templates: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
    )


def language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page's language: the switch (``?lang=``), then the remembered choice (cookie),
    then the browser's Accept-Language; Indonesian otherwise."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "id"


def translator(words: Mapping[str, Mapping[str, str]], lang: str) -> Callable[..., str]:
    def t(key: str, **values) -> str:
        text = words[key][lang]
        return text.format(**values) if values else text

    return t


def plain(status: int, text: str, headers: Mapping[str, str]) -> Response:
    response = Response(text, status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(headers)
    return response


def page_errors(headers: Callable[[], Mapping[str, str]]):
    """A decorator for a page's entrypoint: an unexpected failure is logged and answered with
    a plain page (``headers()``: the page's security headers) without the details."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(self, request, *args, **kwargs):
            try:
                return fn(self, request, *args, **kwargs)
            except ConnectionFailure:
                log.warning("%s: database unavailable", fn.__name__)
                busy = "Layanan sedang sibuk; coba lagi sebentar. / Try again shortly."
                return plain(503, busy, headers())
            except Exception:
                log.exception("unhandled error in %s", fn.__name__)
                return plain(500, "Terjadi kesalahan. / Something went wrong.", headers())

        return wrapper

    return decorate
