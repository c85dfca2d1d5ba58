"""Emergency rules: high precision on the corpus, negation, the anchor shortcut."""

import pytest

from services.categorization import corpus, urgency
from services.categorization.normalize import normalize


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Air rob sudah masuk ke rumah warga di Panjang Wetan", "water_in_homes"),
        ("Rob mlebu omah nang Degayu, tulung!", "water_in_homes"),
        ("banjir masuk rumah setinggi lutut", "water_in_homes"),
        ("Flood water is entering houses in Kradenan", "water_in_homes"),
        ("Tanggul Kali Loji jebol, warga panik", "embankment_breach"),
        ("The embankment gave way near Krapyak", "embankment_breach"),
        ("Pohon besar tumbang menutup jalan Sultan Agung", "fallen_tree"),
        ("Kebakaran di pasar Banjarsari, api membesar", "fire"),
        ("Kabel listrik putus menjuntai ke jalan", "electrical_hazard"),
        ("Tiang listrik roboh di depan SD", "electrical_hazard"),
        ("Jembatan di Klego ambrol", "bridge_collapse"),
        ("Bau gas elpiji bocor di gang kami", "gas_leak"),
        ("Tabrakan motor, korban luka parah, tolong kirim ambulans", "injury"),
        ("Tawuran pelajar sekarang di Jl. Dr. Sutomo, bawa celurit!!", "violence"),
    ],
)
def test_emergencies_are_urgent_with_a_reason(text, reason):
    result = urgency.assess(text)
    assert result.priority == "urgent"
    assert reason in result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Jalan di depan rumah berlubang, mohon diperbaiki",
        "Alhamdulillah tidak ada korban, tapi atap sekolah bocor",
        "Air hampir masuk rumah, tolong saluran dikeruk",
        "Saluran ditutup tetangga, air tidak bisa masuk rumah",
        "Bantuan untuk korban kebakaran minggu lalu belum cair",
        "Setiap malam minggu ada tawuran di alun-alun, mohon patroli",
        "Jalan ini rawan kecelakaan karena gelap",
        "Pemadam kebakaran lambat datang bulan lalu",
        "Terima kasih BPBD atas evakuasi semalam",
        "Ambulans puskesmas sering dipakai untuk keperluan pribadi",
    ],
)
def test_ordinary_complaints_and_negations_are_normal(text):
    result = urgency.assess(text)
    assert result.priority == "normal"
    assert result.reasons == []


def _scores(records):
    tp = fp = fn = 0
    for record in records:
        urgent = urgency.assess(record.text).urgent
        tp += urgent and record.urgent
        fp += urgent and not record.urgent
        fn += record.urgent and not urgent
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def test_precision_first_on_the_corpus_urgent_flags():
    precision, recall = _scores(corpus.load())
    assert precision >= 0.95
    assert recall >= 0.75


def test_precision_on_the_heldout_split_the_rules_were_not_written_from():
    precision, recall = _scores(corpus.heldout_records())
    assert precision >= 0.95
    assert recall >= 0.5


def test_anchor_shortcut_changes_no_answer():
    for record in corpus.load():
        normalized = normalize(record.text)
        fast = urgency._assess(normalized, record.text)
        full = urgency._assess(normalized, record.text, use_anchors=False)
        assert fast == full, record.text


def test_every_rule_match_comes_with_one_of_its_anchors_as_a_word():
    for record in corpus.load():
        normalized = normalize(record.text)
        tokens = set(normalized.split())
        for rule in urgency.HAZARD_RULES + urgency.INCIDENT_RULES:
            for match in rule.pattern.finditer(normalized):
                assert not rule.anchors.isdisjoint(tokens), (rule.reason, match)


def test_two_exclamation_marks_count_as_asking_for_help_now():
    assert urgency.assess("Ada yang berkelahi di depan terminal!!").urgent
    assert not urgency.assess("Ada yang berkelahi di depan terminal").urgent
