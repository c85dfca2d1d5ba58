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
from typing import Literal

from services.categorization.normalize import normalize

Priority = Literal["urgent", "normal"]


def _gap(n: int) -> str:
    """Up to `n` filler words between two parts of a phrase."""
    return r"(?:\w+ ){0," + str(n) + "}"


_PERSON = (
    r"(?:anak|anaknya|bocah|orang|warga|seseorang|pemuda|pengendara|pengemudi|penumpang|"
    r"pejalan kaki|korban|siswa|murid|bapak|ibu|nenek|kakek|lansia|balita|bayi|pemulung|"
    r"pekerja|pedagang|sopir|child|kid|kids|man|woman|boy|girl|person|people|someone|rider|"
    r"driver|worker|student|students)"
)


@dataclass(frozen=True)
class Rule:
    reason: str
    pattern: re.Pattern[str]
    # Words one of which every match contains: texts without any skip the regex (speed).
    anchors: frozenset[str]
    # Ignore a match whose own words contain a negation ("air tidak bisa masuk rumah"); off for
    # rules whose phrase contains one ("belum pulang", "hampir sejajar tanggul").
    negated_inside: bool = True


def _rule(reason: str, pattern: str, *, anchors: str, negated_inside: bool = True) -> Rule:
    return Rule(reason, re.compile(pattern), frozenset(anchors.split()), negated_inside)


HAZARD_RULES: tuple[Rule, ...] = (
    _rule(
        "water_in_homes",
        r"\b(?:banjir|rob|air|genangan|luapan|water|floodwater)\b "
        + _gap(6)
        + r"(?:masuk|memasuki|menggenangi|merendam|naik) (?:ke )?(?:dalam )?"
        r"(?:rumah|permukiman|pemukiman|kamar|dapur|kampung|toko|sekolah|puskesmas|kelas)",
        anchors="masuk memasuki menggenangi merendam naik",
    ),
    _rule(
        "water_in_homes",
        r"\b(?:sudah|mulai|telah) (?:\w+ )?(?:masuk|menggenangi|merendam) (?:ke )?(?:dalam )?"
        r"(?:rumah rumah|rumah warga|permukiman|pemukiman)\b",
        anchors="masuk menggenangi merendam",
    ),
    _rule(
        "water_in_homes",
        r"\b(?:rumah|rumah warga|permukiman|pemukiman|ratusan rumah|puluhan rumah)\b "
        + _gap(2)
        + r"(?:terendam|kebanjiran|tergenang|kemasukan air|kelelep|klelep)\b",
        anchors="terendam kebanjiran tergenang kemasukan kelelep klelep",
    ),
    _rule(
        "water_in_homes",
        r"\b(?:water|flood ?water|flooding|sea water|tidal flood(?:ing)?|rob)\b "
        + _gap(3)
        + r"(?:entered|entering|came into|coming into|got into|getting into|pouring into|"
        r"rising into|inside|into) "
        + _gap(2)
        + r"(?:house|houses|home|homes|building|neighbourhood|neighborhood|shops)\b"
        r"|\b(?:houses?|homes?)\b " + _gap(2) + r"(?:flooded|submerged|under water|underwater)\b",
        anchors="entered entering into inside flooded submerged under underwater",
    ),
    _rule(
        "deep_flood",
        r"\b(?:banjir|rob|air|genangan|water|flood)\b "
        + _gap(4)
        + r"(?:setinggi |sedalam |sampai |hingga |se)?(?:dada|pinggang|sepinggang|sedada|leher|"
        r"seleher|atap|plafon)\b|\b(?:waist|chest|neck)[ -]?(?:deep|high)\b",
        anchors=(
            "dada sedada pinggang sepinggang leher seleher atap seatap plafon seplafon waist "
            "chest neck waistdeep chestdeep neckdeep waisthigh chesthigh neckhigh"
        ),
    ),
    _rule(
        "embankment_breach",
        r"\b(?:tanggul|talud|parapet|bendungan|pintu air)\b "
        + _gap(4)
        + r"(?:jebol|bobol|ambruk|runtuh|roboh|longsor|pecah)\b"
        r"|\b(?:jebol|bobol)(?:nya)? " + _gap(1) + r"(?:tanggul|talud|bendungan)\b"
        r"|\b(?:embankment|levee|dike|dyke|sea ?wall|dam)\b "
        + _gap(3)
        + r"(?:breach|breached|burst|collapsed|broke|broken|gave way)\b",
        anchors=(
            "jebol bobol jebolnya bobolnya ambruk runtuh roboh longsor pecah breach breached "
            "burst collapsed broke broken gave"
        ),
    ),
    _rule(
        "fallen_tree",
        r"\b(?:pohon|dahan|cabang)\b " + _gap(6) + r"(?:tumbang|roboh|ambruk|menimpa|rubuh)\b"
        r"|\b(?:ranting|dahan|cabang|pang|pohon|branch)\b "
        + _gap(4)
        + r"(?:patah|jatuh|nyangkut|tersangkut|menimpa|fell|fallen|caught) "
        + _gap(4)
        + r"(?:kabel|wires?|cables?)\b"
        r"|\btumbang(?:nya)? " + _gap(1) + r"pohon\b"
        r"|\b(?:fallen|fell|collapsed|uprooted) " + _gap(1) + r"(?:tree|trees)\b"
        r"|\b(?:tree|trees)\b " + _gap(2) + r"(?:fell|fallen|collapsed|came down)\b",
        anchors=(
            "tumbang tumbangnya roboh ambruk menimpa rubuh kabel wire wires cable cables "
            "fallen fell collapsed uprooted came"
        ),
    ),
    _rule(
        "fire",
        r"(?<!korban )(?<!pemadam )(?<!bekas )(?<!sisa )\b(?:kebakaran|terbakar|dilalap api|"
        r"api membesar|apinya membesar|api berkobar|kobaran api)\b"
        r"|\b(?:on fire|caught fire|fire broke out|fire spreading|house fire|blaze|flames)\b"
        r"|\bburning (?:\w+ ){0,2}(?:warehouse|house|building|factory|shop|market|kiosk)\b",
        anchors="kebakaran terbakar dilalap membesar berkobar kobaran fire blaze flames burning",
    ),
    _rule(
        "electrical_hazard",
        r"\bkabel\b "
        + _gap(3)
        + r"(?:putus|menjuntai|terjatuh|terbakar|korsleting|konsleting|korslet|konslet|"
        r"percikan|memercik|nyetrum|menyetrum|mengeluarkan api|berasap|berarus\w*|spark|sparks)\b"
        r"|\b(?:korsleting|konsleting|korslet|konslet|arus pendek|kesetrum|tersetrum|"
        r"tersengat listrik|percikan api|trafo meledak|gardu meledak|bau hangus|"
        r"burning smell)\b"
        r"|\b(?:panel|trafo|gardu|kotak)\b " + _gap(6) + r"(?:hangus|berasap|dengung)\b"
        r"|\btiang\b " + _gap(6) + r"(?:roboh|ambruk|tumbang|rubuh)\b"
        r"|\b(?:live|power|electric|electrical)\b "
        + _gap(1)
        + r"(?:wire|wires|cable|cables|line|lines)\b "
        + _gap(2)
        + r"(?:down|fallen|fell|snapped|hanging|dangling|sparking|exposed)\b"
        r"|\b(?:electrocuted|electric shock|sparking|short circuit)\b",
        anchors=(
            "kabel korsleting konsleting korslet konslet pendek kesetrum tersetrum tersengat "
            "percikan meledak hangus smell berasap dengung tiang wire wires cable cables line "
            "lines electrocuted shock sparking circuit"
        ),
    ),
    _rule(
        "bridge_collapse",
        r"(?<!pagar )(?<!pengaman )(?<!pegangan )(?<!railing )\b(?:jembatan|kreteg|bridge)\b "
        + r"(?:(?!pagar|pegangan|railing|rambu|lampu|papan)\w+ ){0,8}"
        + r"(?:ambruk|ambrukan|putus|runtuh|roboh|amblas|hanyut|patah|jebol|collapsed|collapse|"
        r"washed away|caved in|gave way)\b",
        anchors="jembatan kreteg bridge",
    ),
    _rule(
        "gas_leak",
        r"\b(?:gas|elpiji|lpg|tabung gas)\b "
        + _gap(2)
        + r"(?:bocor|kebocoran|meledak)\b|\bbau gas\b|\bledakan\b"
        r"|\bgas leak\b|\bsmells? of gas\b|\bexplosion\b",
        anchors="gas elpiji lpg ledakan explosion",
    ),
    _rule(
        "chemical_spill",
        r"\b(?:bahan kimia|chemical|chemicals|drum|drum drum|tangki|tanker)\b "
        + _gap(3)
        + r"(?:bocor|tumpah|leak|leaking|spill|spilled|spilling)\b"
        r"|\b(?:leaking|spilled|leaked) " + _gap(1) + r"(?:chemical|chemicals|drum|drums)\b",
        anchors="bocor tumpah leak leaking spill spilled spilling leaked",
    ),
    _rule(
        "people_trapped",
        r"\b(?:tertimbun|terjepit|terjebak(?! macet)|tertimpa|terkubur|trapped|pinned under|"
        r"buried)\b",
        anchors="tertimbun terjepit terjebak tertimpa terkubur trapped pinned buried",
    ),
    _rule(
        "explicit_emergency",
        r"^(?:\w+ ){0,2}(?:emergency|urgent|sos)\b(?! room| number| department| ward| care)"
        r"|\b(?:emergency|urgently|sos)(?: \w+){0,2}$",
        anchors="emergency urgent urgently sos",
    ),
)

INCIDENT_RULES: tuple[Rule, ...] = (
    _rule(
        "injury",
        r"\b(?:ada korban|jatuh korban|korban jiwa|korban luka|korbannya|korban masih|"
        r"korban meninggal|luka parah|luka berat|luka luka|terluka|(?<!demam )berdarah|"
        r"pendarahan|pingsan|tidak sadar|tidak sadarkan diri|tergeletak|kejang|sesak napas|"
        r"sesak nafas|patah tulang|tangan patah|kaki patah|tidak bisa bangun|"
        r"tidak bisa bergerak|tidak bisa bernapas|ada yang luka|yang luka|injured|injuries|"
        r"bleeding|unconscious|hurt|not moving|not breathing|cannot stand|can t stand|"
        r"can t breathe|cannot breathe|chest pain|seizure)\b"
        r"|" + _PERSON + r" " + _gap(2) + r"(?:meninggal|mati|tewas|died)\b",
        negated_inside=False,
        anchors=(
            "korban korbannya luka terluka berdarah pendarahan pingsan sadar tergeletak "
            "kejang sesak patah bangun bergerak bernapas injured injuries bleeding "
            "unconscious hurt moving breathing stand breathe pain seizure meninggal mati "
            "tewas died"
        ),
    ),
    _rule(
        "accident",
        r"\b(?:kecelakaan|tabrakan|tertabrak|menabrak|ditabrak|tertemper|terbalik|terguling|"
        r"terperosok|accident|crash|collision|hit by|run over)\b"
        r"|\b(?:bus|mobil|motor|truk|truck|car) " + _gap(2) + r"(?:masuk|terjun ke|tercebur ke) "
        r"(?:selokan|got|sungai|jurang|parit)\b",
        anchors=(
            "kecelakaan tabrakan tertabrak menabrak ditabrak tertemper terbalik terguling "
            "terperosok accident crash collision hit run masuk terjun tercebur"
        ),
    ),
    _rule(
        "violence",
        r"\b(?:tawuran|perkelahian|berkelahi|pengeroyokan|dikeroyok|dibacok|bacok|ditusuk|"
        r"celurit|sajam|senjata tajam|parang|pedang|pisau|golok|mengamuk|dipukul|dipukuli|"
        r"pemukulan|dirampas|perampokan|dirampok|begal|mengancam|ngancam|ngancem|lempar batu|"
        r"saling lempar|melempari|mbalangi|machete|machetes|knife|knives|brawl|fight|fighting|"
        r"stabbed|robbed|robbery|threatening|smashing|attacked|assault)\b",
        anchors=(
            "tawuran perkelahian berkelahi pengeroyokan dikeroyok dibacok bacok ditusuk "
            "celurit sajam senjata parang pedang pisau golok mengamuk dipukul dipukuli "
            "pemukulan dirampas perampokan dirampok begal mengancam ngancam ngancem lempar "
            "saling melempari mbalangi machete machetes knife knives brawl fight fighting "
            "stabbed robbed robbery threatening smashing attacked assault"
        ),
    ),
    _rule(
        "collapse",
        r"\b(?:jalan|tanah|aspal|rumah|atap|plafon|bangunan|gedung|kelas|los|"
        r"kios|ceiling|roof|wall|building|road)\b "
        + _gap(3)
        + r"(?:roboh|ambruk|runtuh|amblas|longsor|ambrol|rubuh|collapsed|caved in)\b(?! sedikit)"
        r"|\b(?:longsor|sinkhole|landslide)\b",
        anchors=(
            "roboh ambruk runtuh amblas longsor ambrol rubuh collapsed caved sinkhole landslide"
        ),
    ),
    _rule(
        "drowning",
        r"\b(?:hanyut|tenggelam|terseret|tercebur|terbawa arus|swept|drowning|drowned)\b",
        anchors="hanyut tenggelam terseret tercebur terbawa swept drowning drowned",
    ),
    _rule(
        "fall",
        _PERSON
        + r" "
        + _gap(4)
        + r"(?:jatuh|terjatuh|fell|fallen) (?:ke|into|from|dari) "
        + _gap(2)
        + r"(?:sungai|got|selokan|saluran|lubang|sumur|septic|motor|drain|river|hole|well)\b",
        anchors="jatuh terjatuh fell fallen",
    ),
    _rule(
        "medical",
        r"\b(?:keracunan|poisoning|muntah|mual|diare|diarrhoea|diarrhea|vomiting|outbreak|"
        r"wabah|klb|sick|dehydrated|melahirkan)\b",
        anchors=(
            "keracunan poisoning muntah mual diare diarrhoea diarrhea vomiting outbreak wabah "
            "klb sick dehydrated melahirkan"
        ),
    ),
    _rule(
        "missing_person",
        _PERSON + r" " + _gap(4) + r"(?:hilang|belum pulang|tidak pulang|diculik|missing|"
        r"kidnapped)\b",
        negated_inside=False,
        anchors="hilang pulang diculik missing kidnapped",
    ),
    _rule(
        "hunger",
        r"\b(?:tidak|belum) makan " + _gap(2) + r"(?:hari|sejak)\b"
        r"|\bhari (?:tidak|belum) makan\b|\b(?:kelaparan|starving|no food|tidak ada makanan)\b",
        negated_inside=False,
        anchors="makan kelaparan starving food makanan",
    ),
    _rule(
        "no_drinking_water",
        r"\b(?:tidak|tak) (?:punya|ada) air (?:minum|bersih) sama sekali\b"
        r"|\b(?:tidak|tak) punya air minum\b|\bno (?:drinking|clean) water (?:at all|left)\b",
        negated_inside=False,
        anchors="minum bersih drinking clean",
    ),
    _rule(
        "burst_main",
        r"\b(?:pipa|pipe)\b " + _gap(3) + r"(?:pecah|patah|burst|jebol)\b",
        anchors="pecah patah burst jebol",
    ),
    _rule(
        "river_overtopping",
        r"\b(?:(?:hampir|sudah|nyaris|meh) )*(?:sejajar|setinggi|sama tinggi|sama tingginya) "
        r"(?:dengan )?tanggul\b|\btanggul " + _gap(3) + r"(?:rembes|bocor|retak)\b",
        negated_inside=False,
        anchors="tanggul",
    ),
)

# Incidents count only with one of these (searched in the normalised text), two incident
# kinds at once ("tabrakan" + "luka"), or two exclamation marks in the raw text ...
_NOW = re.compile(
    r"\b(?:sekarang|saat ini|barusan|baru saja|tadi|segera|cepat|cepetan|secepatnya|tolong|"
    r"darurat|emergency|urgent|urgently|asap|now|right now|just|minutes ago|help|malam ini|"
    r"hari ini|today|tonight|panik|evakuasi|damkar|ambulans|ambulance|bantuan medis|tim medis|"
    r"medical team|medical help|polisi|police|butuh|need|send|quickly)\b"
)
_BANG = re.compile(r"!\s*!")
# ... and not with one of these: a habit, the past or a hypothesis, not an event now.
_NOT_NOW = re.compile(
    r"\b(?:sering|setiap|tiap|selalu|biasanya|kerap|dulu|(?<!tidak )pernah|bulan lalu|minggu lalu|"
    r"tahun lalu|rawan|every|often|always|usually|last week|last month|last year|years ago|"
    r"months ago|weeks ago|eventually|gonna|will|prone)\b"
)

# A match preceded (within a few words) by one of these is not an emergency report.
_NEGATION_WORDS = (
    r"tidak|tak|belum|bukan|tanpa|hampir|nyaris|meh|jangan|semoga|khawatir|takut|kalau|jika|"
    r"seandainya|sebelum|bisa|akan|nanti|rawan|risiko|bahaya|no|not|nobody|never|without|"
    r"almost|nearly|if|worried|before|could|might|would|risk|prone|sebentar|soon"
)
_NEGATION = re.compile(f"(?:{_NEGATION_WORDS})")
_NEGATED_INSIDE = re.compile(rf"\b(?:{_NEGATION_WORDS})\b")
# A hedge right after the match: "ada yang korslet paling" (probably a short circuit).
_HEDGE_AFTER = re.compile(r" (?:paling|mungkin|kayaknya|sepertinya|maybe|probably)\b")
# Words that may stand between a negation and the match ("tidak ada korban").
_FILLERS = frozenset("ada yang sampai sempat pun one anyone a the is was were".split())
_MAX_FILLERS = 3


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


def _fires(rule: Rule, text: str) -> bool:
    return any(not _negated(text, match, rule) for match in rule.pattern.finditer(text))


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
        if rule.reason not in reasons and _fires(rule, normalized):
            reasons.append(rule.reason)
    incident_rules = _candidates(INCIDENT_RULES, _INCIDENT_INDEX, tokens, use_anchors)
    if incident_rules and not _NOT_NOW.search(normalized):
        incidents = [rule.reason for rule in incident_rules if _fires(rule, normalized)]
        if incidents:
            now = _NOW.search(normalized) is not None or _BANG.search(raw) is not None
            if now or len(incidents) >= 2:
                reasons += [reason for reason in incidents if reason not in reasons]
    return Urgency("urgent" if reasons else "normal", reasons)


def assess_normalized(normalized: str, raw: str = "") -> Urgency:
    """`assess` for text that already went through `normalize.normalize` (`raw`: the
    original text, for its punctuation)."""
    return _assess(normalized, raw)


def assess(text: str) -> Urgency:
    """ "urgent" with the names of the rules that fired, or "normal" with no reasons."""
    return assess_normalized(normalize(text), text)
