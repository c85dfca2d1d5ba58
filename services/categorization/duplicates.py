""" "Me too": does a new feedback describe the same problem at the same place as an open case?
(pure: text and places in, a decision out; ``store.py`` keeps the open cases by place).

- A text's **signature** is small and robust across languages and spellings: the text goes
  through ``normalize.normalize`` (slang, SMS spelling, Javanese to Indonesian) and
  ``normalize.translate_english``; function words and place words (kelurahan names, "depan",
  "gang", ...) are dropped, since both sides of a pair at one place share them; what is left
  gives three kinds of features, hashed to ints: concepts (``data/duplicate_concepts.tsv``:
  "mampet", "buntu", "blocked" are one), word stems, and character 4-grams of the stems (for
  spellings no table knows). The ``SIGNATURE_SIZE`` heaviest features are kept (ties: the
  lowest hashes, so two texts keep comparable samples). The kind is in a hash's low two bits,
  so a signature is a sorted list of ints and its weights need no storage.
- **Similarity** (0..1) is the weighted overlap of two signatures: the weight they share over
  the mean of their weights (Dice).
- **Places**: a kelurahan key (``kel:<name>``, normalised) and geo cells (``geo:<size>:<row>:
  <col>``) at least the radius wide, so every case within the radius lies in the 3x3 cells
  around a point. A case is written to its own cell and its kelurahan; a lookup reads the
  3x3 cells and the kelurahan: at most 10 documents, whatever is stored.
- **Decision**: the earliest open case, submitted within the window, whose text is similar
  enough, and which lies within the radius (both with coordinates) or in the same kelurahan
  (either without). Its cluster is the new feedback's cluster.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from services.categorization import lexicon, normalize
from shared import wilayah

CONCEPTS_FILE = "duplicate_concepts.tsv"  # in the lexicon folder (lexicon.py)
SIGNATURE_SIZE = 64  # features kept per text: 64 ints, about 0.6 KB in BSON
NGRAM = 4
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180  # of latitude, and of longitude at the equator

# the kind of a feature, in its hash's low two bits, and its weight: concepts of objects
# (what is wrong: the culvert, the PDAM water) and of states (how: blocked, murky) apart
NGRAM_KIND, WORD_KIND, CONCEPT_KIND, STATE_KIND = 0, 1, 2, 3
KINDS = (NGRAM_KIND, WORD_KIND, CONCEPT_KIND, STATE_KIND)
WEIGHTS = {NGRAM_KIND: 0.25, WORD_KIND: 1.0, CONCEPT_KIND: 2.0, STATE_KIND: 2.0}
STATE_PREFIX = "~"  # a concept named "~..." in the table is a state
FAMILY_PREFIX = "@"  # and one named "@..." a family of states
# The words treated apart and the affixes taken off (data/duplicate_words.tsv and
# duplicate_affixes.tsv: what each group means is in their headers).
_WORDS = lexicon.groups("duplicate_words.tsv", ("negator", "stopword", "place"))
NEGATORS = frozenset(_WORDS["negator"])
STOPWORDS = frozenset(_WORDS["stopword"])
PLACE_WORDS = frozenset(_WORDS["place"])
# "jalan" is also a road's surface: it stays a word when nothing else says "road" (see _words)
_AFFIXES = lexicon.groups("duplicate_affixes.tsv", ("prefix", "suffix", "nasal"), phrases=True)
_PREFIXES = _AFFIXES["prefix"]
_SUFFIXES = _AFFIXES["suffix"]
# a prefix's nasal replaces the root's first sound: menyumbat = meny + sumbat, menutup = men + tutup
_NASAL_ROOTS = tuple(tuple(entry.split()) for entry in _AFFIXES["nasal"])
# A report that says its problem is over (data/duplicate_settled.tsv: its header says how) is
# marked with one more state-kind feature, SETTLED, so that the scorer sees "fixed" against
# "broken now" (the feature "settled_clash").
_SETTLED = lexicon.groups(
    "duplicate_settled.tsv", ("perfect", "done", "past", "since", "but"), phrases=True
)
_PERFECT = frozenset(_SETTLED["perfect"])
_DONE = frozenset(_SETTLED["done"])
_PAST = frozenset(tuple(p.split()) for p in _SETTLED["past"])
_SINCE = frozenset(_SETTLED["since"])
_BUT = frozenset(_SETTLED["but"])
SETTLED = "!settled"


@dataclass(frozen=True)
class Settings:
    """``SUARA_DUPLICATE*`` (shared/config.py: duplicate_settings)."""

    enabled: bool = True
    window_days: float = 14.0
    radius_m: float = 150.0
    min_similarity: float = 0.43  # P(same problem): data/duplicate_scorer.json's threshold
    same_category: bool = False  # measured: see the README (Duplicates)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    @property
    def cell_m(self) -> int:
        """A geo cell's size: at least the radius (whole metres, part of the key)."""
        return max(1, math.ceil(self.radius_m))

    @classmethod
    def of(cls, config: dict) -> Settings:
        return cls(**config)


@dataclass(frozen=True)
class Place:
    """Where a feedback is, as far as it says: coordinates and a kelurahan key, each or both."""

    lat: float | None = None
    lon: float | None = None
    kelurahan: str | None = None  # the key (kelurahan_key), not the name as written

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def known(self) -> bool:
        return self.has_coordinates or self.kelurahan is not None


@dataclass(frozen=True)
class OpenCase:
    """An open case as a place document holds it."""

    id: str
    submitted_at: datetime
    cluster_id: str
    signature: tuple[int, ...]
    place: Place
    category: str | None = None


@dataclass(frozen=True)
class Link:
    similar_to: str
    cluster_id: str
    similarity: float
    distance_m: float | None


# text


@cache
def concepts(path: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """word -> the concepts it names (the TSV file; a broken line stops the service)."""
    found: dict[str, list[str]] = {}
    for name, words in _table_lines(path):
        if not name.startswith(FAMILY_PREFIX):
            for word in words:
                found.setdefault(word, []).append(name)
    return {word: tuple(dict.fromkeys(names)) for word, names in found.items()}


@cache
def families(path: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """state -> the families it belongs to ("@outage": "~mati", "~gelap", ...)."""
    found: dict[str, list[str]] = {}
    for name, states in _table_lines(path):
        if name.startswith(FAMILY_PREFIX):
            for state in states:
                found.setdefault(state, []).append(name)
    return {state: tuple(names) for state, names in found.items()}


@cache
def family_hashes(path: Path | str | None = None) -> frozenset[int]:
    """The hashes of the families (state-kind features that are families, not states)."""
    return frozenset(_hash(STATE_KIND, f) for names in families(path).values() for f in names)


def _table_lines(path: Path | str | None) -> list[tuple[str, tuple[str, ...]]]:
    """The concept table's lines (lexicon.py checks them): ``path`` names another table file
    (a test's), None the lexicon folder's ``duplicate_concepts.tsv``."""
    if path is None:
        return lexicon.concept_table(CONCEPTS_FILE)
    path = Path(path)
    return lexicon.concept_table(path.name, directory=path.parent)


@cache
def _kelurahan_words() -> frozenset[str]:
    return frozenset(
        word for k in wilayah.WILAYAH.kelurahan for word in normalize.clean(k.name).split()
    )


def stem(word: str) -> str:
    """A light Indonesian stem: one suffix, then one prefix, when enough is left."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            return word[len(prefix) :]
    return word


def _forms(word: str) -> list[str]:
    """A word as written, with each suffix off ("retakan": retak, not "reta" after "kan"),
    then each prefix off, with the root's first sound back after a nasal prefix
    ("menyumbat": sumbat), in that order."""
    forms = [word] + [word[: -len(s)] for s in _SUFFIXES if word.endswith(s)]
    for form in list(forms):
        for prefix in _PREFIXES:
            if form.startswith(prefix) and len(form) - len(prefix) >= 3:
                forms.append(form[len(prefix) :])
        for prefix, sound in _NASAL_ROOTS:
            if form.startswith(prefix) and len(form) - len(prefix) >= 3:
                forms.append(sound + form[len(prefix) :])
    return forms


def _concepts_of(word: str, table: dict) -> tuple[str, ...]:
    """The concepts of a word the light stem misses: those of its first form (`_forms`) the
    table knows."""
    for form in _forms(word):
        if form in table:
            return table[form]
    return ()


def _joined(tokens: list[str], i: int, n: int, table: dict) -> str | None:
    """The ``n`` tokens from ``i`` joined by "_" if the concept table knows them (the last
    one as written or stemmed: "tidak_angkut" covers "tidak diangkut"), else None."""
    if i + n > len(tokens):
        return None
    head = "_".join(tokens[i : i + n - 1])
    for last in dict.fromkeys((tokens[i + n - 1], stem(tokens[i + n - 1]))):
        if f"{head}_{last}" in table:
            return f"{head}_{last}"
    return None


def _paired(tokens: list[str], table: dict) -> list[str]:
    """Tokens, with two or three that the concept table knows as one ("tidak_mengalir",
    "tidak_bisa_login") as one; negators first read as "tidak"."""
    tokens = ["tidak" if t in NEGATORS else t for t in tokens]
    out, i = [], 0
    while i < len(tokens):
        for n in (3, 2):
            joined = _joined(tokens, i, n, table)
            if joined:
                out.append(joined)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _tokens(text: str) -> list[str]:
    return normalize.translate_english(normalize.normalize(text)).split()


def settled(tokens: Sequence[str]) -> bool:
    """The text says its problem is over: a word of completion and, one or two words on, one of
    "done" ("sudah ditambal", "sudah lebih jernih", "has been fixed"; not "sudah tidak ...": no
    longer leaking, or no longer flowing), or a date in the past ("tahun lalu", not "sejak
    tahun lalu"), with no "but" after it ("sudah diperbaiki tapi bocor lagi")."""
    end = None
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if (
            token in _PERFECT
            and following not in NEGATORS
            and any(_done(t) for t in tokens[i + 1 : i + 3])
        ):
            end = i + 2
        elif (token, following) in _PAST and (i == 0 or tokens[i - 1] not in _SINCE):
            end = i + 2
        elif end is not None and i >= end and token in _BUT:
            end = None
    return end is not None


def _done(token: str) -> bool:
    """A word of `done`, stemmed or in one of its forms (`_forms`: "diganti" -> "ganti")."""
    return stem(token) in _DONE or any(form in _DONE for form in _forms(token))


def _words(text: str, tokens: list[str] | None = None) -> list[str]:
    """The words of a text that may say what its problem is."""
    tokens = _tokens(text) if tokens is None else tokens
    places = PLACE_WORDS | _kelurahan_words()
    return [
        t
        for t in _paired(tokens, concepts())
        if len(t) > 1 and t not in STOPWORDS and t not in places
    ]


def _hash(kind: int, feature: str) -> int:
    digest = hashlib.blake2b(feature.encode(), digest_size=4).digest()
    return (int.from_bytes(digest, "big") >> 2) << 2 | kind


SETTLED_HASH = _hash(STATE_KIND, SETTLED)


def features(text: str) -> dict[int, float]:
    """Every feature of a text, hashed, with its weight."""
    table = concepts()
    found: dict[int, float] = {}
    tokens = _tokens(text)
    if settled(tokens):
        found[SETTLED_HASH] = WEIGHTS[STATE_KIND]
    for word in _words(text, tokens):
        stemmed = stem(word)
        names = table.get(word) or table.get(stemmed) or _concepts_of(word, table)
        for name in names:
            kind = STATE_KIND if name.startswith(STATE_PREFIX) else CONCEPT_KIND
            found[_hash(kind, name)] = WEIGHTS[kind]
            for family in families().get(name, ()) if kind == STATE_KIND else ():
                found[_hash(STATE_KIND, family)] = WEIGHTS[STATE_KIND]
        if names:  # the concept speaks for the word: its spelling adds nothing
            continue
        found[_hash(WORD_KIND, stemmed)] = WEIGHTS[WORD_KIND]
        padded = f"#{stemmed}#"
        for i in range(max(1, len(padded) - NGRAM + 1)):
            found[_hash(NGRAM_KIND, padded[i : i + NGRAM])] = WEIGHTS[NGRAM_KIND]
    return found


def signature(text: str, size: int = SIGNATURE_SIZE) -> tuple[int, ...]:
    """The ``size`` heaviest features of a text (ties: the lowest hashes), sorted."""
    kept = sorted(features(text).items(), key=lambda item: (-item[1], item[0]))[:size]
    return tuple(sorted(h for h, _ in kept))


def _weight(feature: int) -> float:
    return WEIGHTS[feature & 3]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The weight two signatures share over the mean of their weights (0..1)."""
    total = sum(map(_weight, a)) + sum(map(_weight, b))
    if total <= 0:
        return 0.0
    shared = sum(_weight(f) for f in set(a) & set(b))
    return min(1.0, 2 * shared / total)


# the score of a pair: learned over a few overlaps (data/duplicate_scorer.json)

SCORER_PATH = Path(__file__).resolve().parent / "data" / "duplicate_scorer.json"
FEATURES = (
    "dice",
    "objects",
    "states",
    "words",
    "ngrams",
    "object_clash",
    "state_clash",
    "one_state",
    "object_and_state",
    "object_only",
    "rare_objects",
    "rare_states",
    "rare_words",
    "families",
    "family_clash",
    "settled_clash",
)


def _by_kind(sig: Sequence[int]) -> tuple[frozenset[int], ...]:
    """A signature's features, one set per kind (the kind is in each hash's low two bits)."""
    kinds: tuple[set[int], ...] = tuple(set() for _ in KINDS)
    for feature in sig:
        kinds[feature & 3].add(feature)
    return tuple(frozenset(k) for k in kinds)


CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
_CORPUS_SKIP = ("duplicates_",)  # the pairs files are not reports of the city's corpus


@cache
def rarity() -> tuple[dict[int, float], float]:
    """How rare each word and concept is in the category corpus (inverse document frequency,
    by hash), and the rarity of one it never saw. "sampah" and "sekolah" are in many reports
    and say little about which problem two reports of one place share; "lindi" or "railing"
    say much. From the corpus files of the repository (read once, about a second; no model),
    so the scores do not move with the model's version."""
    texts = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        if path.name.startswith(_CORPUS_SKIP):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line).get("text") or "")
    counts: dict[int, int] = {}
    for text in texts:
        for feature in features(text):
            if feature & 3 != NGRAM_KIND:
                counts[feature] = counts.get(feature, 0) + 1
    n = len(texts)
    idf = {h: math.log((n + 1) / (c + 1)) + 1 for h, c in counts.items()}
    return idf, math.log(n + 1) + 1


def _dice(a: frozenset[int], b: frozenset[int]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def _rare_dice(a: frozenset[int], b: frozenset[int]) -> float:
    """Dice with each feature weighted by its rarity."""
    idf, unseen = rarity()
    total = sum(idf.get(f, unseen) for f in a) + sum(idf.get(f, unseen) for f in b)
    return 2 * sum(idf.get(f, unseen) for f in a & b) / total if total else 0.0


def pair_features(a: Sequence[int], b: Sequence[int]) -> list[float]:
    """The numbers ``FEATURES`` names, for two signatures (symmetric)."""
    ka, kb = _by_kind(a), _by_kind(b)
    objects_a, objects_b = ka[CONCEPT_KIND], kb[CONCEPT_KIND]
    family = family_hashes()
    mark = SETTLED_HASH
    states_a, states_b = ka[STATE_KIND] - family - {mark}, kb[STATE_KIND] - family - {mark}
    families_a, families_b = ka[STATE_KIND] & family, kb[STATE_KIND] & family
    objects, states = _dice(objects_a, objects_b), _dice(states_a, states_b)
    state_clash = float(bool(states_a and states_b and not states_a & states_b))
    return [
        similarity(a, b),
        objects,
        states,
        _dice(ka[WORD_KIND], kb[WORD_KIND]),
        _dice(ka[NGRAM_KIND], kb[NGRAM_KIND]),
        float(bool(objects_a and objects_b and not objects_a & objects_b)),
        state_clash,
        float(bool(states_a) != bool(states_b)),
        objects * states,
        objects * float(not (states_a and states_b)),
        _rare_dice(objects_a, objects_b),
        _rare_dice(states_a, states_b),
        _rare_dice(ka[WORD_KIND], kb[WORD_KIND]),
        _dice(families_a, families_b),
        float(bool(families_a and families_b and not families_a & families_b)),
        float((mark in ka[STATE_KIND]) != (mark in kb[STATE_KIND])),
    ]


@dataclass(frozen=True)
class Scorer:
    """A logistic regression over ``FEATURES``: P(same problem | the two texts)."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5  # the one chosen by cross-validation (the setting's default)
    trained_on: str = ""

    def probability(self, a: Sequence[int], b: Sequence[int]) -> float:
        return self.probability_of(pair_features(a, b))

    def probability_of(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1 / (1 + math.exp(-z)) if z > -30 else 0.0

    def as_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
            "trained_on": self.trained_on,
        }

    @classmethod
    def of(cls, data: dict) -> Scorer:
        if list(data.get("features") or []) != list(FEATURES):
            raise ValueError(f"scorer features {data.get('features')} are not {list(FEATURES)}")
        return cls(
            tuple(float(w) for w in data["weights"]),
            float(data["bias"]),
            float(data.get("threshold", 0.5)),
            str(data.get("trained_on", "")),
        )


@cache
def scorer(path: Path = SCORER_PATH) -> Scorer:
    """The scorer the service uses (a broken file stops it at start)."""
    return Scorer.of(json.loads(path.read_text(encoding="utf-8")))


def warm_up() -> None:
    """Read the concept table, the scorer and the corpus rarities now (a broken file stops the
    service at start, and the first check pays nothing)."""
    concepts()
    scorer()
    rarity()


def probability(a: Sequence[int], b: Sequence[int]) -> float:
    """P(same problem) of two signatures with the shipped scorer."""
    return scorer().probability(a, b)


# places


def kelurahan_key(name: str | None) -> str | None:
    """``kel:<name>``: lowercase ASCII words, without "kelurahan"/"kel." (so "Kel. Bendan
    Kergon" and "bendan  kergon" are one place); None without a name."""
    if not name:
        return None
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    words = [w for w in words if w not in ("kelurahan", "kel", "desa")]
    return f"kel:{' '.join(words)}"[:120] if words else None


def place_of(location: dict | None) -> Place:
    """The Place of an event's ``location`` (lat/lon as validated by its contract)."""
    location = location or {}
    lat, lon = location.get("lat"), location.get("lon")
    if lat is None or lon is None:
        lat = lon = None
    return Place(lat, lon, kelurahan_key(location.get("kelurahan")))


def _row(lat: float, cell_m: int) -> int:
    return math.floor(lat * METRES_PER_DEGREE / cell_m)


def _column(lon: float, row: int, cell_m: int) -> int:
    """A row's cells are as many degrees of longitude wide as ``cell_m`` at its poleward edge,
    where a degree is shortest, so they are at least ``cell_m`` wide all across the row."""
    edge = max(abs(row), abs(row + 1)) * cell_m / METRES_PER_DEGREE
    width = max(math.cos(math.radians(min(edge, 89.9))), 1e-6) * METRES_PER_DEGREE
    return math.floor(lon * width / cell_m)


def _cell(row: int, column: int, cell_m: int) -> str:
    return f"geo:{cell_m}:{row}:{column}"


def home_keys(place: Place, settings: Settings) -> list[str]:
    """The place documents a case is written to: its cell and its kelurahan."""
    keys = []
    if place.has_coordinates:
        row = _row(place.lat, settings.cell_m)
        keys.append(_cell(row, _column(place.lon, row, settings.cell_m), settings.cell_m))
    if place.kelurahan:
        keys.append(place.kelurahan)
    return keys


def nearby_keys(place: Place, settings: Settings) -> list[str]:
    """The place documents a lookup reads (at most 10): the 3x3 cells around the point (the
    neighbour rows' own columns: rows differ in width) and the kelurahan."""
    keys = []
    if place.has_coordinates:
        cell_m = settings.cell_m
        row = _row(place.lat, cell_m)
        for r in (row - 1, row, row + 1):
            column = _column(place.lon, r, cell_m)
            keys.extend(_cell(r, c, cell_m) for c in (column - 1, column, column + 1))
    if place.kelurahan:
        keys.append(place.kelurahan)
    return keys


def distance_m(a: Place, b: Place) -> float | None:
    """Haversine distance in metres; None unless both have coordinates."""
    if not (a.has_coordinates and b.has_coordinates):
        return None
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlambda = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# the decision


def same_place(a: Place, b: Place, settings: Settings) -> tuple[bool, float | None]:
    """Within the radius when both have coordinates, else the same kelurahan."""
    distance = distance_m(a, b)
    if distance is not None:
        return distance <= settings.radius_m, distance
    return a.kelurahan is not None and a.kelurahan == b.kelurahan, None


def find_link(
    feedback_id: str,
    submitted_at: datetime,
    sig: Sequence[int],
    place: Place,
    candidates: Iterable[OpenCase],
    settings: Settings,
    category: str | None = None,
) -> Link | None:
    """The link to the earliest matching open case, or None (a cluster of its own)."""
    best: tuple[OpenCase, float, float | None] | None = None
    for case in candidates:
        if case.id == feedback_id or abs(submitted_at - case.submitted_at) > settings.window:
            continue
        if settings.same_category and category and case.category not in (None, category):
            continue
        near, distance = same_place(place, case.place, settings)
        if not near:
            continue
        score = probability(sig, case.signature)
        if score < settings.min_similarity:
            continue
        if best is None or (case.submitted_at, case.id) < (best[0].submitted_at, best[0].id):
            best = (case, score, distance)
    if best is None:
        return None
    case, score, distance = best
    return Link(
        similar_to=case.id,
        cluster_id=case.cluster_id,
        similarity=round(score, 4),
        distance_m=None if distance is None else round(distance, 1),
    )


def unique(cases: Iterable[OpenCase]) -> list[OpenCase]:
    """Cases read from several place documents, each once."""
    return list({case.id: case for case in cases}.values())


# what the service stores (pure: documents in, documents out; store.py writes them)

CAP_PER_PLACE = 200  # open cases a place document keeps (the oldest go first): <= ~150 KB
CLOSED_STATUSES = frozenset(("resolved", "closed", "rejected", "duplicate"))
REOPENED_STATUSES = frozenset(("reopened",))
_SAFE_SLOT = re.compile(r"[A-Za-z0-9_-]{1,64}")


def slot(feedback_id: str) -> str:
    """A case's field name in a place document's ``cases``: its id, or a hash of an id that
    holds characters a field name may not ("." and "$")."""
    if _SAFE_SLOT.fullmatch(feedback_id):
        return feedback_id
    return "h" + hashlib.sha256(feedback_id.encode()).hexdigest()[:32]


def submitted(raw: str | None, now: datetime) -> datetime:
    """An event's ``submitted_at`` as a UTC time; ``now`` when it is no ISO 8601 time (the
    check must not fail a categorization)."""
    try:
        moment = datetime.fromisoformat(raw) if raw else now
    except ValueError:
        return now
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def skip_reason(data: dict, settings: Settings) -> str | None:
    """Why no check runs for a ``feedback.received``, or None."""
    if not settings.enabled:
        return "disabled"
    if data.get("imported"):
        return "imported"  # history: its cases were handled elsewhere, long ago
    if not place_of(data.get("location")).known:
        return "no_location"  # "the same place" means nothing without one
    return None


def check(data: dict, settings: Settings, places: Iterable[dict], now: datetime) -> dict:
    """The ``duplicates`` field of a decision: the link (or a cluster of its own) and what the
    place documents need to hold the case. ``places``: the documents of ``nearby_keys``."""
    feedback_id = data["feedback_id"]
    place = place_of(data.get("location"))
    sig = signature(data["text"])
    at = submitted(data.get("submitted_at"), now)
    link = find_link(feedback_id, at, sig, place, cases_in(places), settings)
    return {
        "checked": True,
        "cluster_id": link.cluster_id if link else feedback_id,
        "similar_to": link.similar_to if link else None,
        "similarity": link.similarity if link else None,
        "distance_m": link.distance_m if link else None,
        "signature": list(sig),
        "submitted_at": at,
        "lat": place.lat,
        "lon": place.lon,
        "kelurahan": place.kelurahan,
        "kelurahan_name": ((data.get("location") or {}).get("kelurahan") or None),
        "home_keys": home_keys(place, settings),
        "nearby_keys": nearby_keys(place, settings),
        "open": True,
        "status_sequence": 0,
    }


def not_checked(reason: str) -> dict:
    return {"checked": False, "reason": reason}


def entry(feedback_id: str, record: dict) -> dict:
    """A case as its place documents hold it, from its decision's ``duplicates``."""
    return {
        "id": feedback_id,
        "at": record["submitted_at"],
        "cluster_id": record["cluster_id"],
        "sig": list(record["signature"]),
        "lat": record.get("lat"),
        "lon": record.get("lon"),
        "kel": record.get("kelurahan"),
    }


def case_of(item: dict) -> OpenCase | None:
    """The OpenCase of a place document's entry; None for one that is not whole."""
    try:
        return OpenCase(
            id=item["id"],
            submitted_at=item["at"],
            cluster_id=item["cluster_id"],
            signature=tuple(item["sig"]),
            place=Place(item.get("lat"), item.get("lon"), item.get("kel")),
        )
    except (KeyError, TypeError):
        return None


def cases_in(places: Iterable[dict]) -> list[OpenCase]:
    """Every case of some place documents, each once."""
    found = (case_of(item) for doc in places for item in (doc.get("cases") or {}).values())
    return unique(case for case in found if case is not None)


def evictions(
    cases: dict, keep: str, now: datetime, settings: Settings, cap: int = CAP_PER_PLACE
) -> list[str]:
    """The slots of a place document to drop when ``keep`` is written: those older than the
    window, then the oldest beyond the cap."""
    oldest_kept = now - settings.window
    stale, fresh = [], []
    for key, item in cases.items():
        if key == keep:
            continue
        at = item.get("at") if isinstance(item, dict) else None
        if not isinstance(at, datetime) or at < oldest_kept:
            stale.append(key)
        else:
            fresh.append((at, key))
    fresh.sort()
    overflow = max(0, len(fresh) + 1 - cap)
    return stale + [key for _, key in fresh[:overflow]]


def cluster_members(places: Iterable[dict], cluster_id: str, ids: Iterable[str]) -> list[str]:
    """The slots of a cluster's cases in some place documents (its first case, and those
    that joined it and were not undone), and of ``ids``."""
    wanted = {slot(i) for i in ids} | {slot(cluster_id)}
    for doc in places:
        for key, item in (doc.get("cases") or {}).items():
            if isinstance(item, dict) and item.get("cluster_id") == cluster_id:
                wanted.add(key)
    return sorted(wanted)


# measuring the text decision on labelled pairs (`suara pairs`)


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    tn: int


def pair_scores(scored: Iterable[tuple[float, bool]], threshold: float) -> PairScores:
    """Precision, recall and F1 of "similarity >= threshold" against each pair's label."""
    tp = fp = fn = tn = 0
    for score, same in scored:
        linked = score >= threshold
        tp += linked and same
        fp += linked and not same
        fn += same and not linked
        tn += not (same or linked)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, tp, fp, fn, tn)
