"""Text normalisation for citizen feedback written in Indonesian, Javanese (Pekalongan) and English.

Two stages:
- `clean(text)`: strips HTML, lowercases, removes accents, replaces URLs/e-mails/numbers, drops
  emoji and other non-Latin symbols, squashes repeated letters. Language detection runs on this.
- `normalize(text)`: `clean` + the slang/abbreviation/Javanese dictionary (`SLANG`, from
  `data/slang.tsv`), so that "banyune mlebu omah" and "air masuk rumah" look alike to the
  classifier and urgency rules.
"""

from __future__ import annotations

import html
import re
import unicodedata

from services.categorization import lexicon

# Raw input beyond this is ignored before any regex runs, so a 100 KB paste costs no more
# than a few milliseconds; the classifier only looks at the first `MAX_CHARS` anyway.
MAX_RAW_CHARS = 20_000
MAX_CHARS = 2_000

# The language data (services/categorization/data/, read by `lexicon`): slang, abbreviations,
# common typos and Javanese words -> standard Indonesian (whole tokens); English domain words ->
# the Indonesian word the corpus uses; the words next to which "kali" means "times".
SLANG: dict[str, str] = lexicon.mapping("slang.tsv")
ENGLISH: dict[str, str] = lexicon.mapping("english.tsv")
_KALI_AS_TIMES = lexicon.groups("kali_as_times.tsv", ("before", "after"))
_KALI_AS_TIMES_BEFORE = frozenset(_KALI_AS_TIMES["before"])
_KALI_AS_TIMES_AFTER = frozenset(_KALI_AS_TIMES["after"])

_HTML_BLOCK = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[a-zA-Z!][^<>]{0,2000}>")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|id|net|org|go\.id|co\.id)\S*")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_REDUPLICATION = re.compile(r"\b([a-z]{2,})2\b")  # "jalan2" -> "jalan jalan"
_NUMBER = re.compile(r"\d+")
# After folding the text is ASCII: every character but letters and digits becomes a space.
_NON_WORD_TABLE = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isdigit() or "a" <= chr(c) <= "z")}
)
_DOMAIN_HINT = re.compile(r"\.(?:com|id|net|org)\b")
_REPEAT = re.compile(r"([a-z])\1{2,}")  # "bangettt" -> "banget"; keeps "maaf", "saat"
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def strip_html(text: str) -> str:
    """Remove tags, scripts, styles and comments; decode entities."""
    if "<" in text:
        text = _HTML_BLOCK.sub(" ", text)
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def _fold_to_ascii(text: str) -> str:
    """Lowercase; accented Latin letters lose their accents; other scripts and emoji become
    spaces (they carry no category signal for this city's feedback)."""
    text = text.lower()
    if text.isascii():
        return text
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _NON_ASCII.sub(" ", text)


def clean(text: str) -> str:
    """Lowercase ASCII words separated by single spaces; numbers become "0"."""
    text = strip_html(text[:MAX_RAW_CHARS])
    text = _fold_to_ascii(text)
    if "@" in text:
        text = _EMAIL.sub(" email ", text)
    if "." in text and ("www." in text or "://" in text or _DOMAIN_HINT.search(text)):
        text = _URL.sub(" url ", text)
    if "2" in text:
        text = _REDUPLICATION.sub(r"\1 \1", text)
    text = _NUMBER.sub(" 0 ", text.translate(_NON_WORD_TABLE))
    text = _REPEAT.sub(r"\1", text)
    return " ".join(text.split())


def expand(tokens: list[str]) -> list[str]:
    """Apply the slang dictionary to tokens, with the context rule for "kali"."""
    out: list[str] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        if token == "kali":
            before = tokens[i - 1] if i > 0 else ""
            after = tokens[i + 1] if i < last else ""
            if before in _KALI_AS_TIMES_BEFORE or after in _KALI_AS_TIMES_AFTER:
                out.append(token)
            else:
                out.append("sungai")
        else:
            out.append(SLANG.get(token, token))
    return out


def normalize_cleaned(cleaned: str, max_chars: int = MAX_CHARS) -> str:
    """`normalize` for text that already went through `clean`."""
    if len(cleaned) > max_chars:
        cut = cleaned.rfind(" ", 0, max_chars)
        cleaned = cleaned[: cut if cut > 0 else max_chars]
    return " ".join(expand(cleaned.split()))


def translate_english(normalized: str, *, keep: bool = False) -> str:
    """Replace English domain words of a normalised text by their Indonesian equivalents
    (`keep`: add the equivalent after the English word instead)."""
    if keep:
        return " ".join(
            f"{token} {ENGLISH[token]}" if token in ENGLISH else token
            for token in normalized.split()
        )
    return " ".join(ENGLISH.get(token, token) for token in normalized.split())


def normalize(text: str, max_chars: int = MAX_CHARS) -> str:
    """The classifier's view of a text: cleaned, truncated to `max_chars`, slang expanded."""
    return normalize_cleaned(clean(text), max_chars)


def has_letters(normalized: str) -> bool:
    """True when the text has at least one word of two or more letters."""
    return any(len(token) > 1 and token.isalpha() for token in normalized.split())
