"""Text normalisation for citizen feedback written in Indonesian, Javanese (Pekalongan) and English.

Two stages:
- `clean(text)`: strips HTML, lowercases, removes accents, replaces URLs/e-mails/numbers, drops
  emoji and other non-Latin symbols, squashes repeated letters. Language detection runs on this.
- `normalize(text)`: `clean` + the slang/abbreviation/Javanese dictionary (`SLANG`), so that
  "banyune mlebu omah" and "air masuk rumah" look alike to the classifier and urgency rules.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Raw input beyond this is ignored before any regex runs, so a 100 KB paste costs no more
# than a few milliseconds; the classifier only looks at the first `MAX_CHARS` anyway.
MAX_RAW_CHARS = 20_000
MAX_CHARS = 2_000

# Slang, abbreviations, common typos and Javanese (ngoko/krama as spoken in Pekalongan) words,
# mapped to standard Indonesian. Whole tokens only; keys are lowercase ASCII.
SLANG: dict[str, str] = {
    # negation
    "gk": "tidak",
    "gak": "tidak",
    "ga": "tidak",
    "ngga": "tidak",
    "nggak": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "kagak": "tidak",
    "tdk": "tidak",
    "tdak": "tidak",
    "ndak": "tidak",
    "nda": "tidak",
    "ora": "tidak",
    "orak": "tidak",
    "ra": "tidak",
    "mboten": "tidak",
    "boten": "tidak",
    "gaada": "tidak ada",
    "gada": "tidak ada",
    # function words and chat abbreviations
    "yg": "yang",
    "sing": "yang",
    "ingkang": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "karo": "dengan",
    "kalih": "dengan",
    "utk": "untuk",
    "untk": "untuk",
    "krn": "karena",
    "karna": "karena",
    "soale": "karena",
    "amarga": "karena",
    "tp": "tapi",
    "tpi": "tapi",
    "nanging": "tapi",
    "jg": "juga",
    "uga": "juga",
    "sm": "sama",
    "aja": "saja",
    "aj": "saja",
    "sj": "saja",
    "wae": "saja",
    "mawon": "saja",
    "sdh": "sudah",
    "udh": "sudah",
    "udah": "sudah",
    "dah": "sudah",
    "wis": "sudah",
    "wes": "sudah",
    "uwis": "sudah",
    "sampun": "sudah",
    "blm": "belum",
    "blum": "belum",
    "durung": "belum",
    "dereng": "belum",
    "msh": "masih",
    "masi": "masih",
    "isih": "masih",
    "esih": "masih",
    "taksih": "masih",
    "lg": "lagi",
    "lgi": "lagi",
    "maning": "lagi",
    "meneh": "lagi",
    "bgt": "banget",
    "bngt": "banget",
    "bget": "banget",
    "tenan": "banget",
    "sanget": "sangat",
    "kalo": "kalau",
    "klo": "kalau",
    "klu": "kalau",
    "yen": "kalau",
    "nek": "kalau",
    "sampe": "sampai",
    "nganti": "sampai",
    "pake": "pakai",
    "hrs": "harus",
    "kudu": "harus",
    "bs": "bisa",
    "bsa": "bisa",
    "iso": "bisa",
    "isa": "bisa",
    "saged": "bisa",
    "dpt": "dapat",
    "dapet": "dapat",
    "bkn": "bukan",
    "dudu": "bukan",
    "pdhl": "padahal",
    "gmn": "bagaimana",
    "gimana": "bagaimana",
    "bgmn": "bagaimana",
    "piye": "bagaimana",
    "pripun": "bagaimana",
    "knp": "kenapa",
    "ngopo": "kenapa",
    "ngapa": "kenapa",
    "kenopo": "kenapa",
    "opo": "apa",
    "napa": "apa",
    "endi": "mana",
    "ngendi": "mana",
    "skrg": "sekarang",
    "skrng": "sekarang",
    "saiki": "sekarang",
    "sakniki": "sekarang",
    "kmrn": "kemarin",
    "kemaren": "kemarin",
    "wingi": "kemarin",
    "sesuk": "besok",
    "mben": "besok",
    "sy": "saya",
    "aku": "saya",
    "kulo": "saya",
    "kula": "saya",
    "gw": "saya",
    "gue": "saya",
    "org": "orang",
    "wong": "orang",
    "tiyang": "orang",
    "akeh": "banyak",
    "kathah": "banyak",
    "sithik": "sedikit",
    "gede": "besar",
    "cilik": "kecil",
    "dhuwur": "tinggi",
    "duwur": "tinggi",
    "jero": "dalam",
    "mhn": "mohon",
    "tlg": "tolong",
    "tlong": "tolong",
    "tulung": "tolong",
    "tulungi": "tolong",
    "nyuwun": "mohon",
    "trims": "terima kasih",
    "makasih": "terima kasih",
    "mksh": "terima kasih",
    "makasi": "terima kasih",
    "tks": "terima kasih",
    "thx": "thanks",
    "suwun": "terima kasih",
    "matur": "terima",
    "nuwun": "kasih",
    "pls": "please",
    "plz": "please",
    "govt": "government",
    "nang": "di",
    "neng": "di",
    "ning": "di",
    "teng": "di",
    "ng": "di",
    "seko": "dari",
    "soko": "dari",
    "saking": "dari",
    # places and administration
    "jl": "jalan",
    "jln": "jalan",
    "jalanan": "jalan",
    "dalan": "jalan",
    "dalane": "jalan",
    "ratan": "jalan",
    "margi": "jalan",
    "gg": "gang",
    "rmh": "rumah",
    "omah": "rumah",
    "omahe": "rumah",
    "griya": "rumah",
    "kec": "kecamatan",
    "kel": "kelurahan",
    "kab": "kabupaten",
    "sklh": "sekolah",
    "skolah": "sekolah",
    "sekolahan": "sekolah",
    "puskes": "puskesmas",
    "pkm": "puskesmas",
    "rs": "rumah sakit",
    "rsud": "rumah sakit",
    "dbd": "demam berdarah",
    "pasare": "pasar",
    # things and events
    "banyu": "air",
    "banyune": "air",
    "toya": "air",
    "mlebu": "masuk",
    "mlebune": "masuk",
    "mlbu": "masuk",
    "uwuh": "sampah",
    "uwuhe": "sampah",
    "smpah": "sampah",
    "sampahe": "sampah",
    "lampune": "lampu",
    "lmpu": "lampu",
    "kaline": "sungai",
    "bnjir": "banjir",
    "banjire": "banjir",
    "robe": "rob",
    "udan": "hujan",
    "jawah": "hujan",
    "mambu": "bau",
    "ambune": "bau",
    "ambu": "bau",
    "bolong": "lubang",
    "lobang": "lubang",
    "growong": "lubang",
    "tibo": "jatuh",
    "ceblok": "jatuh",
    "ilang": "hilang",
    "mudun": "turun",
    "munggah": "naik",
    "urip": "hidup",
    "resik": "bersih",
    "reged": "kotor",
    "mampet": "tersumbat",
    "buntu": "tersumbat",
    "wit": "pohon",
    "wite": "pohon",
    "uwit": "pohon",
    "rubuh": "roboh",
    "ambrol": "ambruk",
    "tugel": "putus",
    "pedhot": "putus",
    "pedot": "putus",
    "geni": "api",
    "kobong": "terbakar",
    "kobongan": "kebakaran",
    "setrum": "listrik",
    "kabele": "kabel",
    "tiange": "tiang",
    "dodolan": "jualan",
    "bakul": "pedagang",
    "tuku": "beli",
    "larang": "mahal",
    "rego": "harga",
    "regane": "harga",
    "duit": "uang",
    "duwit": "uang",
    "dhuwit": "uang",
    "duite": "uang",
    "bantuane": "bantuan",
    "bocah": "anak",
    "bocahe": "anak",
    "simbah": "nenek",
    "lara": "sakit",
    "gering": "sakit",
    "dino": "hari",
    "dina": "hari",
    "sasi": "bulan",
    "wulan": "bulan",
    "taun": "tahun",
    "bengi": "malam",
    "wengi": "malam",
    "esuk": "pagi",
    "mangan": "makan",
    "ngombe": "minum",
    "adus": "mandi",
    "dengkul": "lutut",
    "sedengkul": "selutut",
    "gawe": "buat",
    # urgency vocabulary
    "cepet": "cepat",
    "ndang": "segera",
    "enggal": "segera",
    "getihen": "berdarah",
    "ketiban": "tertimpa",
    "kejepit": "terjepit",
    "semaput": "pingsan",
    "mendem": "mabuk",
    "gelut": "berkelahi",
    "ketabrak": "tertabrak",
    "nabrak": "menabrak",
    "mutah": "muntah",
    "sirahe": "kepala",
    "sikile": "kaki",
    "tangane": "tangan",
    "kecemplung": "tercebur",
    "nyemplung": "tercebur",
    "kintir": "hanyut",
    "keli": "hanyut",
    "wedi": "takut",
    "luber": "meluap",
    "mbludag": "meluap",
    "ambles": "amblas",
    "ngamuk": "mengamuk",
    "kebalik": "terbalik",
    "kobar": "berkobar",
    "duwure": "tingginya",
    "dhuwure": "tingginya",
    "podo": "sama",
    "pletikan": "percikan",
    "nglawer": "menjuntai",
    "kelupas": "terkelupas",
    "gosong": "hangus",
    "maf": "maaf",
    "ngapunten": "maaf",
    "sepurane": "maaf",
}

# English domain words -> the Indonesian word the corpus uses for the same thing, so that the
# (fewer) English reports share features with Indonesian and Javanese ones. Written as
# "indonesian": "english words ..."; only words that are not also Indonesian/Javanese words.
_ENGLISH_GROUPS: dict[str, str] = {
    "jalan": "road roads street streets",
    "lubang": "pothole potholes hole holes",
    "jembatan": "bridge bridges",
    "aspal": "asphalt tarmac",
    "trotoar": "sidewalk sidewalks pavement footpath",
    "rusak": "damaged broken",
    "retak": "crack cracks cracked",
    "perbaiki": "repair repaired fix fixed",
    "banjir": "flood floods flooded flooding",
    "rob": "tidal",
    "saluran": "drain drains drainage gutter gutters ditch ditches",
    "gorong": "culvert culverts sewer sewers",
    "tanggul": "embankment levee dike dyke",
    "pompa": "pump pumps",
    "genangan": "puddle puddles waterlogged",
    "hujan": "rain rains raining rainy storm",
    "meluap": "overflow overflowing overflowed overflows",
    "evakuasi": "evacuation evacuate evacuated",
    "sungai": "river rivers",
    "sampah": "garbage trash rubbish litter waste",
    "tong": "bins",
    "angkut": "collected collection pickup",
    "truk": "truck trucks lorry",
    "buang": "dump dumping dumped",
    "bau": "smell smells stench stinks stinky smelly",
    "penyapu": "sweeper sweepers",
    "kran": "tap taps faucet",
    "pipa": "pipe pipes",
    "bocor": "leak leaking leaks leaked",
    "air": "water",
    "minum": "drinking",
    "keruh": "dirty murky muddy cloudy",
    "tagihan": "bill bills billing",
    "meteran": "meter",
    "jamban": "toilet toilets latrine",
    "lampu": "lamp lamps light lights lighting streetlight streetlights",
    "gelap": "dark darkness",
    "kedip": "flickering flicker flickers",
    "tiang": "pole poles",
    "lalu lintas": "traffic",
    "macet": "congestion congested gridlock",
    "parkir": "parking parked",
    "juru": "attendant attendants",
    "liar": "illegal",
    "motor": "motorbike motorbikes motorcycle motorcycles scooter scooters",
    "mobil": "car cars",
    "simpang": "junction intersection crossroads",
    "penyeberangan": "crossing crosswalk",
    "ngebut": "speeding",
    "bantuan": "aid assistance welfare",
    "miskin": "poor poverty",
    "lansia": "elderly",
    "disabilitas": "disabled disability",
    "tunai": "cash",
    "penerima": "recipient recipients beneficiary beneficiaries",
    "rumah sakit": "hospital hospitals",
    "puskesmas": "clinic clinics",
    "dokter": "doctor doctors",
    "perawat": "nurse nurses",
    "obat": "medicine medicines drugs",
    "pasien": "patient patients",
    "sakit": "sick illness",
    "demam": "fever",
    "demam berdarah": "dengue",
    "imunisasi": "vaccine vaccines vaccination immunization immunisation",
    "nyamuk": "mosquito mosquitoes",
    "hamil": "pregnant",
    "balita": "toddler toddlers",
    "sekolah": "school schools",
    "guru": "teacher teachers",
    "siswa": "student students pupil pupils",
    "kelas": "classroom classrooms",
    "beasiswa": "scholarship scholarships",
    "seragam": "uniform uniforms",
    "buku": "textbook textbooks books",
    "aplikasi": "app apps application",
    "akun": "account accounts",
    "sinyal": "signal",
    "pedagang": "vendor vendors hawker hawkers trader traders seller sellers",
    "pengemis": "beggar beggars begging",
    "mabuk": "drunk drunken",
    "berisik": "noise noisy loud",
    "balap": "racing",
    "tawuran": "brawl brawls",
    "polisi": "police",
    "patroli": "patrol patrols",
    "judi": "gambling",
    "miras": "liquor alcohol",
    "gelandangan": "homeless",
    "pasar": "market markets",
    "toko": "shop shops store stores",
    "kios": "stall stalls kiosk kiosks",
    "usaha": "business businesses",
    "pinjaman": "loan loans",
    "modal": "capital",
    "harga": "price prices",
    "izin": "permit permits license licence",
    "pelatihan": "training workshop workshops",
    "koperasi": "cooperative cooperatives",
    "akta kelahiran": "birth",
    "akta": "certificate certificates",
    "kematian": "death",
    "nikah": "marriage married",
    "domisili": "domicile residence",
    "pindah": "moving relocate",
    "antre": "queue queueing queues",
    "loket": "counter",
    "dokumen": "document documents",
    "tercemar": "polluted pollution contaminated",
    "asap": "smoke smoky",
    "pabrik": "factory factories",
    "limbah": "wastewater effluent sewage",
    "kimia": "chemical chemicals",
    "pohon": "tree trees",
    "taman": "park parks",
    "debu": "dust dusty",
    "terima kasih": "thank thanks",
    "usul": "idea ideas suggestion suggestions suggest",
    "tanya": "question questions",
    "halo": "hello hi",
    "tolong": "please",
    "jadwal": "schedule schedules timetable",
    "laporan": "report reports complaint complaints",
    "tpa": "landfill",
    "baterai": "batteries battery",
    "listrik": "electricity electric power",
    "tarif": "tariff tariffs fare fares",
    "rute": "route routes",
    "rambu": "sign signs signage",
    "marka": "markings marking",
    "knalpot": "exhaust exhausts muffler",
    "balap liar": "race races",
    "penampungan": "shelter shelters",
    "sosial": "social",
    "odgj": "mentally",
    "lapar": "hungry hunger",
    "makan": "meals meal",
    "igd": "er",
    "bangsal": "ward wards",
    "periksa": "checkup",
    "jentik": "larvae larva",
    "diare": "diarrhoea diarrhea",
    "plafon": "ceiling ceilings",
    "pagar": "fence fences",
    "hp": "phone phones smartphone",
    "pembayaran": "payment payments",
    "retribusi": "retribution levy levies",
    "privasi": "privacy",
    "bangunan": "building buildings",
    "spanduk": "banner banners posters poster",
    "baliho": "billboard billboards",
    "vandalisme": "graffiti vandalism",
    "petasan": "fireworks firecrackers",
    "lem": "glue",
    "preman": "thugs thug gangsters",
    "pungli": "extortion bribe bribes",
    "pejalan kaki": "pedestrian pedestrians",
    "pengrajin": "artisans artisan craftsmen crafters",
    "merek": "trademark trademarks brand",
    "sidik jari": "fingerprint fingerprints",
    "perekaman": "recording",
    "kartu": "card cards",
    "fotokopi": "photocopy photocopies",
    "rembes": "seepage seeping",
    "pewarna": "dye dyes",
    "pembangunan": "construction",
    "lapangan": "field",
    "bakar": "burning burn burned burnt",
    "lingkungan": "environmental environment",
    "magang": "internship internships",
    "peneliti": "researcher researchers",
    "apresiasi": "kudos bravo appreciation",
    "wisatawan": "tourists tourist visitors",
    "ditolak": "rejected refused",
    "foto": "photo photos",
    "fitur": "feature features option",
    "rumah": "house houses home homes",
    "kampung": "neighbourhood neighborhood",
    "warga": "residents citizens",
    "kantor": "office offices",
    "petugas": "staff officers officer",
    "pemkot": "municipality",
    "wali kota": "mayor",
    "pemadam": "firefighters",
    "lahan": "land",
    "gedung": "hall",
    "banjir bandang": "flash",
    "tabung": "cylinder cylinders",
    "elpiji": "lpg",
    "pupuk": "fertiliser fertilizer",
    "sembako": "groceries staples",
    "rumah ibadah": "mosque",
}
ENGLISH: dict[str, str] = {
    word: indonesian for indonesian, words in _ENGLISH_GROUPS.items() for word in words.split()
}

# Before "kali", these words mean "times" (dua kali, beberapa kali), not "river" (Javanese).
_KALI_AS_TIMES_BEFORE = frozenset(
    "0 se satu dua tiga empat lima enam tujuh delapan sembilan sepuluh seratus beberapa berapa "
    "sering setiap tiap sekian kesekian banyak berkali terakhir pertama kedua ketiga lain "
    "pirang ping sak kaping".split()
)
_KALI_AS_TIMES_AFTER = frozenset("ini lipat ya".split())

_HTML_BLOCK = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[a-zA-Z!][^<>]{0,2000}>")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|id|net|org|go\.id|co\.id)\S*")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_REDUPLICATION = re.compile(r"\b([a-z]{2,})2\b")  # "jalan2" -> "jalan jalan"
_NUMBER = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^a-z0 ]+")
_REPEAT = re.compile(r"([a-z])\1{2,}")  # "bangettt" -> "banget"; keeps "maaf", "saat"
_SPACES = re.compile(r"\s+")
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
    if "@" in text or "." in text:
        text = _EMAIL.sub(" email ", text)
        text = _URL.sub(" url ", text)
    text = _REDUPLICATION.sub(r"\1 \1", text)
    text = _NUMBER.sub(" 0 ", text)
    text = _NON_WORD.sub(" ", text)
    text = _REPEAT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


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
