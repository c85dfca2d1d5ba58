"""Categorization's view of the taxonomy: the categories of ``shared/data/taxonomy.yaml`` (their
labels and default departments), the words typical of each, and department overrides.

Category ids are part of the public contract (events, API, stored decisions): never rename one.
Departments are configuration: ``SUARA_DEPARTMENTS`` points a category at another department
(by its id or name in the taxonomy, or by the name of one outside it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.taxonomy import TAXONOMY, department_id


@dataclass(frozen=True)
class Category:
    id: str
    label_id: str
    label_en: str
    department: str  # the default department's name

    @property
    def labels(self) -> dict[str, str]:
        return {"id": self.label_id, "en": self.label_en}


# from the one taxonomy every service reads (shared/data/taxonomy.yaml)
CATEGORIES: tuple[Category, ...] = tuple(
    Category(c.id, c.label_id, c.label_en, TAXONOMY.department(c.department).name)
    for c in TAXONOMY.categories
)

CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)
BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}
FALLBACK_CATEGORY = "other"

# Short column headers for the confusion matrix in evaluation reports.
SHORT_LABELS: dict[str, str] = {
    "roads": "road",
    "flooding": "flood",
    "waste": "waste",
    "water": "water",
    "streetlights": "light",
    "traffic": "traf",
    "social_assistance": "social",
    "health": "health",
    "education": "edu",
    "digital_services": "digit",
    "public_order": "order",
    "economy_umkm": "umkm",
    "population_admin": "admin",
    "environment": "env",
    "other": "other",
}


# Words typical of each category (normalised Indonesian, after the slang and English
# dictionaries of `normalize`), from the city's complaint practice. A word matches at the start
# of a token, with or without a common Indonesian prefix ("parkir" -> "diparkir", "parkiran").
# The classifier sees how many of each category's words a text has: this helps with words
# that are rare in the training corpus.
KEYWORDS: dict[str, str] = {
    "roads": """
        jalan rusak|lubang|berlubang|aspal|jembatan|trotoar|paving|cor|pengecoran|ambles|
        amblas|retak|bergelombang|kerikil|makadam|polisi tidur|gang sempit|pupr|tambal|
        talud jalan|jalan tembus|pelebaran|betonisasi|pothole|bahu jalan|licin|berdebu|
        gorong gorong rusak|box culvert|saluran tepi jalan|pengaspalan|jalan lingkungan
    """,
    "flooding": """
        banjir|rob|genangan|tergenang|saluran|got|selokan|drainase|gorong|tanggul|pompa|
        polder|meluap|surut|pasang|air laut|bpbd|evakuasi|pengungsi|mengungsi|posko|
        perahu|karung pasir|kolam retensi|normalisasi|pengerukan|dikeruk|sedimentasi|
        eceng gondok|luapan|hujan deras|limpas|tenggelam|banjir bandang|peil banjir|
        sungai meluap|air naik|kebanjiran
    """,
    "waste": """
        sampah|tps|tpa|tong sampah|bak sampah|kontainer|truk sampah|angkut|pengangkutan|
        numpuk|menumpuk|berserakan|pemulung|daur ulang|bank sampah|plastik|kresek|
        penyapu|kebersihan|dlh|iuran sampah|retribusi sampah|bau busuk|lalat|belatung|
        bangkai|organik|kompos|pembuangan sampah|buang sampah|pilah|residu|sampah liar
    """,
    "water": """
        pdam|perumda air|air bersih|air minum|pipa|kran|keran|meteran|tagihan air|
        sambungan|pelanggan|debit|mengalir|mili|keruh|kaporit|jamban|wc|mck|septic|
        septik|tinja|sedot|ipal|sanitasi|sumur|air tanah|tangki air|hidran|booster|
        tekanan air|air mati|bocor pipa|kebocoran|toilet umum|air berbau
    """,
    "streetlights": """
        lampu jalan|pju|penerangan|lampu mati|gelap|redup|kedip|berkedip|tiang lampu|
        lampu taman|bohlam|led|lampu sorot|panel|meteran pju|menyala siang|lampu nyala|
        kabel lampu|jalan gelap|lampu padam|solar cell|tenaga surya|menyala|terang
    """,
    "traffic": """
        lalu lintas|macet|kemacetan|parkir|jukir|juru parkir|karcis|rambu|marka|
        lampu merah|bangjo|traffic light|simpang|perempatan|pertigaan|bundaran|putar balik|
        zebra cross|penyeberangan|jembatan penyeberangan|halte|angkot|angkutan|bus|
        terminal|ojek|ojol|becak|bentor|delman|truk besar|kendaraan|pengendara|
        ngetem|satu arah|one way|dishub|perlintasan|kereta|palang pintu|tilang|helm|
        ngebut|kebut|knalpot|lawan arah|jalur sepeda|uji kir|trayek|transportasi|
        sepeda motor|arus lalu|pengalihan arus|penutupan jalan|kecelakaan|tabrakan
    """,
    "social_assistance": """
        bansos|bantuan sosial|pkh|bpnt|blt|dtks|dinsos|sembako|penerima|miskin|
        kurang mampu|tidak mampu|fakir|lansia terlantar|terlantar|yatim|piatu|panti|
        disabilitas|difabel|rtlh|bedah rumah|rumah tidak layak|kks|kartu sejahtera|
        pendamping|tepat sasaran|pencairan|cair|gelandangan|anak jalanan|jompo|janda|
        santunan|rehabilitasi sosial|odgj terlantar|makan|kelaparan|bantuan pangan|
        beras bantuan|kip kuliah|jaminan sosial
    """,
    "health": """
        puskesmas|rumah sakit|rsud|igd|dokter|perawat|bidan|obat|pasien|bpjs|kis|
        posyandu|imunisasi|vaksin|demam|demam berdarah|nyamuk|jentik|fogging|abate|
        stunting|gizi|balita|ibu hamil|melahirkan|persalinan|diare|tbc|rabies|
        hipertensi|diabetes|kesehatan|dinkes|ambulans|rawat inap|rawat jalan|klinik|
        sakit|penyakit|wabah|keracunan|periksa|medis|kader|apotek|antrean pasien|
        rokok|merokok|jiwa|psikolog|batuk|sesak|gatal
    """,
    "education": """
        sekolah|sd|smp|sma|smk|paud|tk|madrasah|guru|murid|siswa|pelajar|kelas|
        ppdb|zonasi|beasiswa|pip|kip|seragam|buku|lks|rapor|ujian|disdik|
        dinas pendidikan|kepala sekolah|komite|pungutan|iuran sekolah|spp|study tour|
        perpustakaan sekolah|honorer|belajar|pendidikan|ekstrakurikuler|putus sekolah|
        literasi|kurikulum|wali murid|les|bimbel|pr
    """,
    "digital_services": """
        aplikasi|website|situs|web|portal|online|daring|login|akun|password|otp|
        error|server|down|bug|wifi|wi fi|hotspot|internet|sinyal|jaringan|
        dinkominfo|kominfo|diskominfo|sistem|upload|unggah|qr|qris|e ktp digital|
        email|whatsapp|chatbot|call center|media sosial|medsos|instagram|hoaks|
        data terbuka|satu data|ppid|cctv|tanda tangan elektronik|digital|update|
        notifikasi|fitur|versi|install|play store|loading|lemot
    """,
    "public_order": """
        satpol|satpol pp|pkl|pedagang kaki lima|lapak|penertiban|ditertibkan|razia|
        miras|mabuk|judi|togel|tawuran|preman|pungli|pengamen|pengemis|gepeng|punk|
        balap liar|berisik|karaoke|sound system|petasan|kembang api|reklame|
        spanduk|baliho|poster liar|bangunan liar|bangli|kos|asusila|prostitusi|
        vandalisme|corat coret|mural liar|ronda|keamanan|mengamuk|perkelahian|
        ketertiban|tertib|perda|lahan parkir liar|gangguan|meresahkan|senjata tajam|
        sajam|odgj|orang gila|hewan liar|anjing liar|berkelahi|kelahi|asongan|gerobak|
        musik|kafe|bising|kebisingan|knalpot|emper toko|gelandangan|ngamen|parang|celurit
    """,
    "economy_umkm": """
        umkm|ukm|usaha|pedagang|pasar|kios|los pasar|retribusi pasar|harga|mahal|
        langka|sembako mahal|minyak goreng|cabai|beras|gula|gas elpiji|koperasi|
        modal|pinjaman|kredit|kur|bunga|nib|izin usaha|pirt|halal|sertifikasi|
        pelatihan|pameran|bazar|produk|pemasaran|promosi|batik|pengrajin|ekspor|
        toko|minimarket|warung|pembeli|sepi|omzet|dagangan|jualan|tenant|
        dinas perdagangan|disperindag|timbangan|tera|merek|haki|rentenir
    """,
    "population_admin": """
        ktp|e ktp|kk|kartu keluarga|akta|akte|kelahiran|kematian|nikah|perceraian|
        disdukcapil|dukcapil|capil|nik|domisili|pindah|pindah datang|surat pindah|
        skpwni|kia|kartu identitas anak|perekaman|rekam|blanko|cetak|biodata|
        sidik jari|loket|antre|antrian|nomor antrean|calo|legalisir|fotokopi|
        ganti nama|salah nama|penduduk|kependudukan|adminduk|surat keterangan|
        kelurahan|kecamatan|rt rw|pengantar|skts|dokumen
    """,
    "environment": """
        limbah|pencemaran|tercemar|polusi|asap|pabrik|cerobong|debu|bau limbah|
        kimia|pewarna|batik limbah|sungai hitam|air sungai|ikan mati|pohon|penebangan|
        ditebang|tumbang|peneduh|rth|ruang terbuka hijau|taman kota|hutan kota|
        mangrove|abrasi|pesisir|pantai|burung|satwa|emisi|uji emisi|kebisingan|
        bakar sampah|pembakaran|iklim|panas|penghijauan|reboisasi|sumur bor|
        tanah turun|penurunan tanah|amdal|lingkungan hidup|dlh|bising|kualitas udara
    """,
    "other": """
        terima kasih|apresiasi|salut|mantap|bagus|keren|hebat|semoga|sukses|selamat|
        usul|usulan|saran|ide|halo|hai|tes|test|
        wisata|pariwisata|festival|acara|event|kegiatan|lomba|budaya|museum|
        perpustakaan|magang|penelitian|riset|mahasiswa|dokumenter|kunjungan|
        pengajian|car free day|cfd|kuliner|olahraga|sejarah
    """,
}


def is_category(category_id: str) -> bool:
    return category_id in BY_ID


def departments(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Category id -> department, the defaults with `overrides` (from config) applied.

    Unknown category ids or empty department names in the overrides are a configuration error.
    """
    result = {c.id: c.department for c in CATEGORIES}
    for category_id, department in (overrides or {}).items():
        if category_id not in result:
            raise ValueError(f"unknown category in department overrides: {category_id!r}")
        if not isinstance(department, str) or not department.strip():
            raise ValueError(f"empty department for category {category_id!r}")
        result[category_id] = TAXONOMY.department_named(department).name
    return result


def as_dicts(overrides: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The `GET /api/v1/categories` answer, in the fixed category order."""
    depts = departments(overrides)
    return [
        {
            "id": c.id,
            "label_id": c.label_id,
            "label_en": c.label_en,
            "department": depts[c.id],
            "department_id": department_id(depts[c.id]),
        }
        for c in CATEGORIES
    ]
