"""Emergency rules: high precision on the corpus, negation, the anchor shortcut."""

import pytest

from services.categorization import corpus, lexicon, urgency
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


# The rules alone: precision first. Since issue 15 the corpus holds hundreds of urgent lines in
# plain words that no rule names (the urgency model's work, below and in triage.py) and hard
# negatives with alarm words, so the rules' recall is low by design (0.89 on the first corpus).
def test_precision_first_on_the_corpus_urgent_flags():
    precision, recall = _scores(corpus.load())
    assert precision >= 0.95
    assert recall >= 0.4


def test_precision_on_the_heldout_split_the_rules_were_not_written_from():
    precision, recall = _scores(corpus.heldout_records())
    assert precision >= 0.9
    assert recall >= 0.4


def test_rules_and_the_urgency_model_on_the_heldout_split():
    """The flag triage raises (rules, then the model's head above its threshold) with the
    shipped model, which never saw the held-out split."""
    from services.categorization import triage
    from services.categorization.cli import load_model

    records = corpus.heldout_records()
    decisions = triage.decide_many([r.text for r in records], load_model(None))
    flagged = [d.priority == "urgent" for d in decisions]
    hits = sum(f and r.urgent for f, r in zip(flagged, records, strict=True))
    assert hits / sum(flagged) >= 0.93
    assert hits / sum(r.urgent for r in records) >= 0.8


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


@pytest.mark.parametrize(
    "text",
    [
        "Tahun lalu ada kebakaran di pasar, apakah sekarang sudah ada hidran?",
        "Dulu pernah banjir masuk rumah sampai lutut, semoga tidak terulang",
        "Last year the sea wall at Panjang Wetan was leaking in several places",
    ],
)
def test_a_hazard_told_of_the_past_is_not_urgent(text):
    assert not urgency.assess(text).urgent


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("Kebakaran gudang di Setono tadi malam, syukur semua selamat", False),
        ("Air sudah surut sejak subuh, tinggal lumpur di dalam rumah", False),
        ("Tidak ada korban dalam kecelakaan tadi pagi, hanya motor yang rusak", False),
        ("The fire was put out and everyone is safe", False),
        ("Tidak ada korban, tapi air masih naik masuk rumah warga", True),
        ("Nobody was hurt yet but the house is still on fire", True),
    ],
)
def test_a_danger_said_to_be_over_is_not_urgent_unless_it_goes_on(text, urgent):
    assert urgency.assess(text).urgent is urgent


def test_present_danger_in_plain_words():
    for text in (
        "Airnya sudah sampai dada di gang kami, ada nenek lumpuh di dalam rumah",
        "A snapped power cable is lying in a puddle by the school gate",
        "Sparks are still coming from the transformer near the market",
        "Sudah empat hari banyak anak di RT 03 demam tinggi dan muntah",
        "Warga belum makan dua hari sejak banjir",
    ):
        assert urgency.assess(text).urgent, text


def test_illnesses_of_one_group_count_as_one_kind_of_incident():
    # "diare" (medical) and "banyak anak ... diare" (outbreak) are one kind: no "now", no flag
    assert not urgency.assess("Banyak anak kena diare di Kauman minggu ini, mohon diperiksa").urgent


def test_the_rules_file_is_checked(tmp_path):
    broken = tmp_path / "urgency.yaml"
    broken.write_text("hazards: [{reason: x, match: ['(unclosed'], anchors: x}]\n")
    data = urgency.load_rules(tmp_path)
    with pytest.raises(urgency.RulesError, match=r"hazards\[0\] \(x\)"):
        urgency._rules(data, "hazards", "(?:a)")
    with pytest.raises(urgency.RulesError, match="needs reason, match and anchors"):
        urgency._rules({"hazards": [{"reason": "x"}]}, "hazards", "(?:a)")
    with pytest.raises(urgency.RulesError, match="person: a non-empty list"):
        urgency._words({"person": []}, "person")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "urgency.yaml").write_text("hazards: [\n")
    with pytest.raises(lexicon.LexiconError, match="not YAML"):
        urgency.load_rules(bad)
    with pytest.raises(lexicon.LexiconError, match="no such lexicon (file|folder)"):
        urgency.load_rules(tmp_path / "nothing")
