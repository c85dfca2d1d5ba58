"""Language of a feedback text: Indonesian ("id"), Javanese ("jv") or English ("en").

py3langid, restricted to the three languages, does the bulk of the work; it was trained on
little colloquial Javanese, so a small list of marker words typical of Pekalongan Javanese
(and of Indonesian and English) adds evidence on top of its log-probabilities.
Code-mixed texts get the language that dominates. Deterministic.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from services.categorization.normalize import clean

Language = Literal["id", "jv", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "jv", "en")
DEFAULT_LANGUAGE: Language = "id"  # the city's working language, for texts with no words

# Each marker word adds this many nats to its language's log-probability.
MARKER_WEIGHT = 1.0
_FLOOR = 1e-6

MARKERS: dict[Language, frozenset[str]] = {
    "jv": frozenset(
        """
        ora orak ra mboten boten wis wes uwis sampun durung dereng nang neng ning teng karo
        kalih sing ingkang opo piye pripun ngopo kenopo ngapa endi ngendi saiki sakniki wingi
        sesuk iso isa saged kudu tulung tulungi suwun nuwun matur kulo kula nggih injih
        sampeyan njenengan panjenengan kowe koe awakdewe dewe dewek ae wae mawon tenan
        akeh kathah sithik cilik gede dhuwur duwur jero banyu banyune omah omahe mlebu
        uwuh uwuhe dalan dalane lampune kaline mambu ambune bolong growong tibo ceblok ilang
        mudun munggah resik reged mampet wit wite uwit rubuh tugel pedhot pedot geni kobong
        kobongan setrum kabele tiange dodolan bakul tuku larang rego regane duit duwit dhuwit
        bocah bocahe simbah lara gering dino dina sasi wulan taun bengi wengi esuk mangan
        ngombe adus dengkul sedengkul gawe kuwi kuwe iki kae ngene ngono koyo koyok lha
        lho jal mbok yo ayo wong tiyang soale amarga nanging uga meneh maning isih esih taksih
        nganti yen nek seko soko saking arep ajeng badhe kepiye piro pinten udan jawah
        ngapunten sepurane monggo mangga sak rak pora durunge sakjane kabeh sedoyo
        """.split()
    ),
    "id": frozenset(
        """
        tidak tak yang sudah belum dengan untuk karena dari kepada tolong mohon sangat sekali
        banyak rumah masuk air jalan sampah ini itu ada kami kita segera bapak ibu terima kasih
        bisa akan sejak hari sekarang lagi juga saja sampai harus dapat bagaimana kenapa
        mengapa apakah kapan kemarin besok saya kalau tetapi tapi atau agar supaya mereka
        warga telah masih hingga para pada oleh bahwa nya dan di ke
        """.split()
    ),
    "en": frozenset(
        """
        the is are was were and of to in on at for with please not has have been there
        this that it our my we they be can will would should since from by an a road roads
        water street streets lights light garbage trash flood flooding school hospital
        """.split()
    ),
}


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def scores_cleaned(cleaned: str) -> dict[Language, float]:
    """Log-scores per language for text that already went through `normalize.clean`."""
    identifier = _identifier()
    probs = dict(identifier.rank(cleaned))
    tokens = cleaned.split()
    result: dict[Language, float] = {}
    for lang in LANGUAGES:
        hits = sum(1 for token in tokens if token in MARKERS[lang])
        result[lang] = math.log(probs.get(lang, 0.0) + _FLOOR) + MARKER_WEIGHT * hits
    return result


def detect_cleaned(cleaned: str) -> Language:
    """`detect` for text that already went through `normalize.clean`."""
    if not any(ch.isalpha() for ch in cleaned):
        return DEFAULT_LANGUAGE
    scores = scores_cleaned(cleaned)
    return max(LANGUAGES, key=lambda lang: scores[lang])


def detect(text: str) -> Language:
    """"id", "jv" or "en"; "id" for a text without words."""
    return detect_cleaned(clean(text))
