"""Bounds on input from outside (HTTP bodies, AMQP messages): size, JSON depth, clean text.

Pure: the HTTP layer and the message decoders both call ``json_object`` and map its
``UntrustedInput`` to their own answer (a 400 with field errors, a dead letter with the reason).
"""

from __future__ import annotations

import json

MAX_BYTES = 256 * 1024  # an HTTP body or an AMQP message
MAX_DEPTH = 32  # nesting of JSON objects and arrays


class UntrustedInput(ValueError):
    """Input that breaks a bound. ``message`` reads after "body" ("is not JSON: ..."); ``fields``
    maps a dotted path to its problems."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def text_problem(value: str) -> str | None:
    """Why ``value`` is not clean text (a lone surrogate, a NUL), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text (lone surrogate)"
    return None


def _printable(key: object) -> str:
    """A field name fit to echo in an error: escaped, and short."""
    text = str(key).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:64]


def _problems(doc: object, max_depth: int) -> dict[str, list[str]]:
    """Walks ``doc`` without recursion: depth beyond ``max_depth`` and unclean strings."""
    found: dict[str, list[str]] = {}
    stack: list[tuple[object, str, int]] = [(doc, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                found.setdefault(path or "_body", []).append(
                    f"nested deeper than {max_depth} levels"
                )
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = f"{path}.{_printable(key)}" if path else _printable(key)
                if isinstance(key, str) and (problem := text_problem(key)):
                    found.setdefault(child, []).append(f"field name {problem}")
                    continue
                stack.append((item, child, depth + 1))
        elif isinstance(value, str) and (problem := text_problem(value)):
            found.setdefault(path or "_body", []).append(problem)
        if len(found) >= 20:  # enough to say what is wrong
            break
    return found


def json_object(raw: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH):
    """The JSON object in ``raw``, within the bounds; UntrustedInput says what is wrong."""
    if len(raw) > max_bytes:
        raise UntrustedInput(f"is larger than {max_bytes} bytes")
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise UntrustedInput(f"is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise UntrustedInput(f"is not JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise UntrustedInput("is not a JSON object")
    problems = _problems(doc, max_depth)
    if problems:
        raise UntrustedInput("has values out of bounds", problems)
    return doc
