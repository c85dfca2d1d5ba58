"""Emergency detection: high-precision rules, in Indonesian, Javanese and English.

The rules run on normalised text (`normalize.normalize`), so Javanese is mostly Indonesian
by then ("banyune mlebu omah" -> "air masuk rumah"). Precision comes first: a false "urgent"
pages a duty officer at night; a missed one still reaches staff in the normal queue.

Two kinds of rules:
- hazards (water in homes, breached embankment, fire, live wires, collapsed bridge, gas leak,
  people trapped, an explicit "emergency!"): urgent on their own;
- incidents (injuries, accidents, violence, collapses, drowning, medical emergencies, a missing
  child, hunger): urgent only when the text also says it is happening now or asks for help now
  ("sekarang", "segera", "tolong", "right now", "!!") and does not describe a habit or the
  past ("setiap malam", "dulu", "last year").
A match right after a negation or hedge ("tidak ada korban", "hampir", "takut", "could") is
ignored, as is one whose own words are negated ("air tidak bisa masuk").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from services.categorization import lexicon
from services.categorization.normalize import normalize

Priority = Literal["urgent", "normal"]


RULES_FILE = "urgency.yaml"  # in the lexicon folder (lexicon.py: data/, or SUARA_LEXICON_DIR)
_PLACEHOLDER = re.compile(r"\{(gap:\d+|person)\}")


@dataclass(frozen=True)
class Rule:
    reason: str
    pattern: re.Pattern[str]
    # Words one of which every match contains: texts without any skip the regex (speed).
    anchors: frozenset[str]
    # Ignore a match whose own words contain a negation ("air tidak bisa masuk rumah"); off for
    # rules whose phrase contains one ("belum pulang", "hampir sejajar tanggul").
    negated_inside: bool = True
    group: str = ""  # incidents of one group count as one kind; "" = its own reason

    @property
    def kind(self) -> str:
        return self.group or self.reason


class RulesError(lexicon.LexiconError):
    """The rules file is malformed; the text names the rule and what is wrong."""


def _alternatives(words: list[str]) -> str:
    return "(?:" + "|".join(words) + ")"


def _expand(pattern: str, person: str) -> str:
    """The regex for a rule's ``match`` entry: ``{gap:N}`` up to N filler words, ``{person}``."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return person if name == "person" else r"(?:\w+ ){0," + name[4:] + "}"

    return _PLACEHOLDER.sub(one, pattern)


def _words(data: dict, key: str) -> list[str]:
    words = data.get(key)
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        raise RulesError(f"{key}: a non-empty list of words")
    return words


def _rules(data: dict, key: str, person: str) -> tuple[Rule, ...]:
    rules = []
    for position, entry in enumerate(data.get(key) or []):
        where = f"{key}[{position}]"
        if not isinstance(entry, dict) or not {"reason", "match", "anchors"} <= entry.keys():
            raise RulesError(f"{where}: needs reason, match and anchors")
        try:
            pattern = re.compile("|".join(_expand(m, person) for m in entry["match"]))
        except (re.error, TypeError) as exc:
            raise RulesError(f"{where} ({entry['reason']}): {exc}") from None
        rules.append(
            Rule(
                entry["reason"],
                pattern,
                frozenset(str(entry["anchors"]).split()),
                bool(entry.get("negated_inside", True)),
                str(entry.get("group", "")),
            )
        )
    if not rules:
        raise RulesError(f"{key}: no rules")
    return tuple(rules)


def load_rules(directory: Path | str | None = None) -> dict:
    """The rules file of the lexicon folder, parsed (a LexiconError naming what is wrong)."""
    data = lexicon.document(RULES_FILE, directory=directory)
    if not isinstance(data, dict):
        raise RulesError(f"{RULES_FILE}: a mapping at the top")
    return data


_DATA = load_rules()
_PERSON = _alternatives(_words(_DATA, "person"))
HAZARD_RULES: tuple[Rule, ...] = _rules(_DATA, "hazards", _PERSON)
INCIDENT_RULES: tuple[Rule, ...] = _rules(_DATA, "incidents", _PERSON)

# Incidents count only with one of these (searched in the normalised text), two incident
# kinds at once ("tabrakan" + "luka"), or two exclamation marks in the raw text ...
_NOW = re.compile(rf"\b{_alternatives(_words(_DATA, 'now'))}\b")
_BANG = re.compile(r"!\s*!")
# ... and not with one of these: a habit, the past or a hypothesis, not an event now.
_NOT_NOW = re.compile(rf"\b{_alternatives(_words(_DATA, 'not_now'))}\b")

# A match preceded (within a few words) by one of these is not an emergency report.
_NEGATION_WORDS = "|".join(_words(_DATA, "negation"))
_NEGATION = re.compile(f"(?:{_NEGATION_WORDS})")
_NEGATED_INSIDE = re.compile(rf"\b(?:{_NEGATION_WORDS})\b")
# A hedge right after the match: "ada yang korslet paling" (probably a short circuit).
_HEDGE_AFTER = re.compile(rf" {_alternatives(_words(_DATA, 'hedge_after'))}\b")
# Words that may stand between a negation and the match ("tidak ada korban").
_FILLERS = frozenset(_words(_DATA, "fillers"))
_MAX_FILLERS = 3
# The past shortly before a hazard's match ("tahun lalu ada kebakaran"): not now.
_PAST = re.compile(rf"\b{_alternatives(_words(_DATA, 'past'))}\b")
_PAST_WORDS = 6
_PAST_AFTER_WORDS = 5
# The danger is over, nobody is in it or there is none ("api sudah padam"), unless it goes on
# ("masih").
_NO_DANGER = re.compile(rf"\b{_alternatives(_words(_DATA, 'no_danger'))}\b")
_ONGOING = re.compile(rf"\b{_alternatives(_words(_DATA, 'ongoing'))}\b")


@dataclass(frozen=True)
class Urgency:
    priority: Priority
    reasons: list[str] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return self.priority == "urgent"


def _negated(text: str, match: re.Match[str], rule: Rule) -> bool:
    before = text[: match.start()].split()[-(_MAX_FILLERS + 1) :]
    while before and before[-1] in _FILLERS:
        before.pop()
    if before and _NEGATION.fullmatch(before[-1]):
        return True
    if _HEDGE_AFTER.match(text, match.end()):
        return True
    return rule.negated_inside and _NEGATED_INSIDE.search(match.group()) is not None


def _in_the_past(text: str, match: re.Match[str]) -> bool:
    """The past within a few words of the match, before it or right after it ("rumah saya
    terbakar tahun lalu")."""
    before = " ".join(text[: match.start()].split()[-_PAST_WORDS:])
    after = " ".join(text[match.end() :].split()[:_PAST_AFTER_WORDS])
    return _PAST.search(before) is not None or _PAST.search(after) is not None


def _fires(rule: Rule, text: str, *, hazard: bool = False) -> bool:
    return any(
        not _negated(text, match, rule) and not (hazard and _in_the_past(text, match))
        for match in rule.pattern.finditer(text)
    )


def no_present_danger(normalized: str) -> bool:
    """The text says the danger is none or over, or tells of the past, and nothing that it
    goes on: triage's urgency model yields to it (the model weighs words, not tense)."""
    if _ONGOING.search(normalized) is not None:
        return False
    return _NO_DANGER.search(normalized) is not None or _PAST.search(normalized) is not None


def _settled(normalized: str) -> bool:
    """The text says the danger is over or hurt nobody, and nothing that it goes on."""
    return _NO_DANGER.search(normalized) is not None and _ONGOING.search(normalized) is None


def _anchor_index(rules: tuple[Rule, ...]) -> dict[str, tuple[int, ...]]:
    index: dict[str, list[int]] = {}
    for position, rule in enumerate(rules):
        for word in rule.anchors:
            index.setdefault(word, []).append(position)
    return {word: tuple(positions) for word, positions in index.items()}


_HAZARD_INDEX = _anchor_index(HAZARD_RULES)
_INCIDENT_INDEX = _anchor_index(INCIDENT_RULES)


def _candidates(
    rules: tuple[Rule, ...], index: dict[str, tuple[int, ...]], tokens: list[str], use: bool
) -> list[Rule]:
    """The rules whose anchors occur in the tokens, in rule order (all rules if not `use`)."""
    if not use:
        return list(rules)
    positions = {p for token in tokens if token in index for p in index[token]}
    return [rules[p] for p in sorted(positions)]


def _assess(normalized: str, raw: str, *, use_anchors: bool = True) -> Urgency:
    tokens = normalized.split()
    reasons: list[str] = []
    for rule in _candidates(HAZARD_RULES, _HAZARD_INDEX, tokens, use_anchors):
        if rule.reason not in reasons and _fires(rule, normalized, hazard=True):
            reasons.append(rule.reason)
    incident_rules = _candidates(INCIDENT_RULES, _INCIDENT_INDEX, tokens, use_anchors)
    if incident_rules and not _NOT_NOW.search(normalized):
        incidents = [rule for rule in incident_rules if _fires(rule, normalized)]
        if incidents:
            now = _NOW.search(normalized) is not None or _BANG.search(raw) is not None
            if now or len({rule.kind for rule in incidents}) >= 2:
                reasons += [rule.reason for rule in incidents if rule.reason not in reasons]
    if reasons and _settled(normalized):  # checked last: it matters only when a rule fired
        return Urgency("normal", [])
    return Urgency("urgent" if reasons else "normal", reasons)


def assess_normalized(normalized: str, raw: str = "") -> Urgency:
    """`assess` for text that already went through `normalize.normalize` (`raw`: the
    original text, for its punctuation)."""
    return _assess(normalized, raw)


def assess(text: str) -> Urgency:
    """ "urgent" with the names of the rules that fired, or "normal" with no reasons."""
    return assess_normalized(normalize(text), text)
