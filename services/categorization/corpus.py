"""The labelled corpus (`corpus/<category>.jsonl`) and its fixed train / held-out split.

The split is a pure function of each text: a line is held out when the SHA-256 of its
de-duplication key (normalised text without numbers) falls in the first `HELDOUT_PERCENT`
of the hash space. So the split never changes when lines are added elsewhere, exact and
near-exact duplicates always land on the same side, and training never sees held-out lines.
Train lines that are near-duplicates of a held-out line (same words up to numbers and word
order, or character 4-gram cosine >= `NEAR_DUPLICATE_COSINE`) are dropped from training too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from services.categorization.normalize import normalize
from services.categorization.taxonomy import CATEGORY_IDS, is_category
from shared import config

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
HELDOUT_PERCENT = 20
NEAR_DUPLICATE_COSINE = 0.9
LANGS = ("id", "en", "jv", "mix")
# a text's shape, labelled in the hard sets (corpus/hard/*.jsonl); corpus lines leave it out
STYLES = ("sms", "whatsapp", "long", "indirect", "border", "plain")


@dataclass(frozen=True)
class Record:
    text: str
    category: str
    lang: str = "id"
    urgent: bool = False
    source: str = ""  # "file.jsonl:line"
    style: str | None = None  # one of STYLES when labelled

    @property
    def example(self) -> tuple[str, str]:
        return (self.text, self.category)


class CorpusError(ValueError):
    pass


def default_dir() -> Path:
    return Path(config.optional("SUARA_CORPUS_DIR") or CORPUS_DIR).resolve()


def parse_line(line: str, source: str = "") -> Record:
    """One corpus line; raises CorpusError with the reason when it is not valid."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{source}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{source}: not a JSON object")
    text, category = data.get("text"), data.get("category")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{source}: missing or empty text")
    if not isinstance(category, str) or not is_category(category):
        raise CorpusError(f"{source}: unknown category {category!r}")
    lang = data.get("lang", "id")
    urgent = data.get("urgent", False)
    style = data.get("style")
    if style is not None and style not in STYLES:
        raise CorpusError(f"{source}: unknown style {style!r} (one of {', '.join(STYLES)})")
    return Record(
        text=text,
        category=category,
        lang=lang if lang in LANGS else "id",
        urgent=urgent is True,
        source=source,
        style=style,
    )


def read_file(path: Path) -> tuple[list[Record], list[str]]:
    """Valid records of one file, and the problems found in the others."""
    records: list[Record] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(parse_line(line, f"{path.name}:{number}"))
            except CorpusError as exc:
                problems.append(str(exc))
    return records, problems


def load(directory: Path | str | None = None) -> list[Record]:
    """All valid records of `<directory>/<category>.jsonl`, in category then line order."""
    directory = Path(directory) if directory is not None else default_dir()
    records: list[Record] = []
    for category in CATEGORY_IDS:
        path = directory / f"{category}.jsonl"
        if path.exists():
            records.extend(read_file(path)[0])
    if not records:
        raise CorpusError(f"no corpus lines found in {directory}")
    return records


def dedupe_key(text: str) -> str:
    """Texts with the same key are the same feedback for the classifier."""
    return " ".join(token for token in normalize(text).split() if token != "0")


def _bag_key(key: str) -> str:
    return " ".join(sorted(set(key.split())))


def is_heldout(key: str) -> bool:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT


def _unique(records: Iterable[Record]) -> Iterator[tuple[str, Record]]:
    seen: set[str] = set()
    for record in records:
        key = dedupe_key(record.text)
        if key and key not in seen:
            seen.add(key)
            yield key, record


def _near_duplicates(train_keys: list[str], heldout_keys: list[str]) -> set[int]:
    """Indexes of train keys whose char 4-gram cosine with some held-out key is high."""
    if not train_keys or not heldout_keys:
        return set()
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), use_idf=False)
    vectorizer.fit(train_keys + heldout_keys)
    similarity = vectorizer.transform(train_keys) @ vectorizer.transform(heldout_keys).T
    rows = similarity.multiply(similarity >= NEAR_DUPLICATE_COSINE).tocoo().row
    return {int(i) for i in rows}


def split(records: Iterable[Record]) -> tuple[list[Record], list[Record]]:
    """(train, held-out): deduplicated; train has nothing near-identical to held-out."""
    train: list[tuple[str, Record]] = []
    heldout: list[tuple[str, Record]] = []
    for key, record in _unique(records):
        (heldout if is_heldout(key) else train).append((key, record))
    heldout_bags = {_bag_key(key) for key, _ in heldout}
    near = _near_duplicates([k for k, _ in train], [k for k, _ in heldout])
    kept = [
        record
        for i, (key, record) in enumerate(train)
        if i not in near and _bag_key(key) not in heldout_bags
    ]
    return kept, [record for _, record in heldout]


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    paths = (directory / f"{category}.jsonl" for category in CATEGORY_IDS)
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.exists())


@lru_cache(maxsize=4)
def _cached_split(
    directory: Path, signature: tuple[tuple[str, int, int], ...]
) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    train, heldout = split(load(directory))
    return tuple(train), tuple(heldout)


def _split_of(directory: Path | str | None) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    path = Path(directory).resolve() if directory is not None else default_dir()
    return _cached_split(path, _signature(path))


def train_records(directory: Path | str | None = None) -> list[Record]:
    return list(_split_of(directory)[0])


def heldout_records(directory: Path | str | None = None) -> list[Record]:
    return list(_split_of(directory)[1])


def train_examples(directory: Path | str | None = None) -> list[tuple[str, str]]:
    """(text, category) pairs the model may learn from."""
    return [record.example for record in train_records(directory)]


def heldout_examples(directory: Path | str | None = None) -> list[tuple[str, str]]:
    """(text, category) pairs kept for evaluation only."""
    return [record.example for record in heldout_records(directory)]


def read_examples(path: Path | str) -> list[tuple[str, str]]:
    """(text, category) pairs of a JSONL file of {"text","category"} lines (e.g. `--extra`).

    Raises CorpusError on the first invalid line: extra training data must be clean.
    """
    examples: list[tuple[str, str]] = []
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                examples.append(parse_line(line, f"{path.name}:{number}").example)
    return examples
