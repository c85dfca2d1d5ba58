"""What a citizen is told by e-mail (pure): subject, plain text and HTML, in their language,
from ``templates/citizen.yaml``. Everything a department wrote is escaped in the HTML part."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from jinja2 import Environment, StrictUndefined
from markupsafe import escape

TEMPLATES = Path(__file__).resolve().parent / "templates" / "citizen.yaml"
LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


@cache
def _templates() -> dict:
    return yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def kind_of(delivery_kind: str) -> str | None:
    """The template a delivery kind uses: ``received``, or ``status`` for ``status.N``."""
    if delivery_kind == "received":
        return "received"
    if delivery_kind.startswith("status."):
        return "status"
    return None


def citizen_mail(kind: str, language: str | None, values: dict) -> Mail:
    templates, env = _templates(), _environment()
    lang = language if language in LANGUAGES else "id"
    state = values.get("status")
    words = {
        **values,
        "status": templates["states"][state][lang] if state in templates["states"] else state,
    }
    subject = env.from_string(templates["subject"][kind][lang]).render(**words).strip()
    text = env.from_string(templates["body"][kind][lang]).render(**words).strip() + "\n"
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line)
    html = f'<!doctype html><html lang="{lang}"><body>{paragraphs}</body></html>'
    return Mail(" ".join(subject.split())[:200], text, html)
