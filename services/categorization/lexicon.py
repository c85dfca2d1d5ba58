"""The language data of categorization (`data/*.tsv`): read, checked, and fingerprinted.

Word lists and dictionaries live in data files, not in code, so that a linguist or a city
officer can edit them: the slang and Javanese dictionary and the English lexicon
(`normalize`), the language markers (`language`), the category keywords (`taxonomy`) and the
Indonesian prefixes (`features`). Each file is tab-separated text in UTF-8: lines starting
with ``#`` are comments, blank lines are skipped, every other line has the file's number of
columns, separated by one tab. Words are lowercase ASCII (letters and digits, single spaces),
as `normalize.clean` leaves a text, so an entry that could never match is an error.

A malformed line, a key given twice or an unknown group stops the importing process with a
`LexiconError` naming the file and the line: a bad edit never starts a service.

``SUARA_LEXICON_DIR`` points at another folder (a copy with edits, to evaluate them before
they are committed). Each folder is read once per process (`_snapshot`); `digest` covers the
bytes of every file in it, so a model trained with another lexicon has another version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path

from shared import config

DATA_DIR = Path(__file__).resolve().parent / "data"

_WORD = re.compile(r"[a-z0-9]+")
_PHRASE = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


class LexiconError(ValueError):
    """A data file that cannot be used; the message names the file and the line."""


def default_dir() -> Path:
    """The folder the data files are read from: ``SUARA_LEXICON_DIR`` or `DATA_DIR`."""
    return Path(config.optional("SUARA_LEXICON_DIR") or DATA_DIR).resolve()


@lru_cache(maxsize=8)
def _snapshot(directory: Path) -> Mapping[str, bytes]:
    """The bytes of every file in `directory`, by name: what is parsed is what is digested."""
    if not directory.is_dir():
        raise LexiconError(f"{directory}: no such lexicon folder")
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _folder(directory: Path | str | None) -> Path:
    return Path(directory).resolve() if directory is not None else default_dir()


def digest(directory: Path | str | None = None) -> str:
    """SHA-256 over the name and bytes of every file of the folder, in name order: files
    that no loader here reads (urgency rules, say) count too."""
    hasher = hashlib.sha256()
    for name, data in _snapshot(_folder(directory)).items():
        hasher.update(f"{name}\0{len(data)}\0".encode())
        hasher.update(data)
    return hasher.hexdigest()


def _rows(
    name: str, columns: int, directory: Path | str | None
) -> tuple[Path, list[tuple[int, list[str]]]]:
    """The file's path, and (line number, fields) of every data line of the file `name`."""
    folder = _folder(directory)
    path = folder / name
    data = _snapshot(folder).get(name)
    if data is None:
        raise LexiconError(f"{path}: missing")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LexiconError(f"{path}:{line}: not UTF-8 text") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != columns:
            raise LexiconError(
                f"{path}:{number}: expected {columns} column(s) separated by one tab, "
                f"found {len(fields)}: {line!r}"
            )
        rows.append((number, fields))
    return path, rows


def _check(pattern: re.Pattern[str], value: str, what: str, path: Path, number: int) -> None:
    if not pattern.fullmatch(value):
        shape = "word" if pattern is _WORD else "words"
        raise LexiconError(
            f"{path}:{number}: {what} {value!r} is not lowercase ASCII {shape} (letters, digits"
            f"{', single spaces' if shape == 'words' else ''})"
        )


def words(name: str, *, directory: Path | str | None = None) -> tuple[str, ...]:
    """A one-column list of single words, in file order; each word once."""
    seen: dict[str, int] = {}
    path, rows = _rows(name, 1, directory)
    for number, (word,) in rows:
        _check(_WORD, word, "entry", path, number)
        if word in seen:
            raise LexiconError(f"{path}:{number}: {word!r} is already on line {seen[word]}")
        seen[word] = number
    return tuple(seen)


def mapping(name: str, *, directory: Path | str | None = None) -> dict[str, str]:
    """A two-column ``word<TAB>replacement`` file: word -> replacement (one or more words);
    each word once."""
    result: dict[str, str] = {}
    lines: dict[str, int] = {}
    path, rows = _rows(name, 2, directory)
    for number, (key, value) in rows:
        _check(_WORD, key, "key", path, number)
        _check(_PHRASE, value, "value", path, number)
        if key in result:
            raise LexiconError(f"{path}:{number}: {key!r} is already on line {lines[key]}")
        result[key], lines[key] = value, number
    return result


def groups(
    name: str,
    allowed: Collection[str],
    *,
    phrases: bool = False,
    directory: Path | str | None = None,
) -> dict[str, tuple[str, ...]]:
    """A two-column ``group<TAB>entry`` file: every group of `allowed` (in that order) -> its
    entries in file order (none when it has no line). An entry is one word, or with
    `phrases` one or more; it may be in several groups, but once in each."""
    result: dict[str, dict[str, int]] = {group: {} for group in allowed}
    pattern = _PHRASE if phrases else _WORD
    path, rows = _rows(name, 2, directory)
    for number, (group, entry) in rows:
        if group not in result:
            raise LexiconError(
                f"{path}:{number}: unknown group {group!r} (expected one of: {', '.join(allowed)})"
            )
        _check(pattern, entry, "entry", path, number)
        if entry in result[group]:
            raise LexiconError(
                f"{path}:{number}: {entry!r} is already in {group!r} on line {result[group][entry]}"
            )
        result[group][entry] = number
    return {group: tuple(entries) for group, entries in result.items()}


def document(name: str, *, directory: Path | str | None = None) -> object:
    """A YAML file of the folder (the urgency rules: structure a TSV cannot hold), parsed
    from the same bytes `digest` covers; LexiconError when it is missing or not YAML."""
    import yaml

    folder = _folder(directory)
    data = _snapshot(folder).get(name)
    if data is None:
        raise LexiconError(f"{folder / name}: no such lexicon file")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when built with it
        return yaml.load(data.decode("utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LexiconError(f"{folder / name}: not YAML in UTF-8: {exc}") from None


_CONCEPT = re.compile(r"[~@]?[a-z0-9_]+")
_CONCEPT_WORD = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def concept_table(
    name: str, *, directory: Path | str | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """A ``concept<TAB>word word ...`` file (the "me too" concepts): (concept, its words) in
    file order. A concept is a name, ``~name`` (a state) or ``@name`` (a family of states); a
    word is lowercase ASCII, or words joined by ``_`` read as one ("tidak_mengalir")."""
    path, rows = _rows(name, 2, directory)
    found = []
    for number, (concept, words) in rows:
        _check(_CONCEPT, concept, "concept", path, number)
        entries = words.split()
        if not entries:
            raise LexiconError(f"{path}:{number}: concept {concept!r} has no words")
        for word in entries:
            if not _CONCEPT_WORD.fullmatch(word) and not (
                concept.startswith("@") and _CONCEPT.fullmatch(word)
            ):
                raise LexiconError(f"{path}:{number}: word {word!r} is not lowercase ASCII")
        found.append((concept, tuple(entries)))
    return found
