"""Text normalisation: HTML, case, URLs, numbers, emoji, repeated letters, slang, truncation."""

from services.categorization.normalize import (
    ENGLISH,
    MAX_CHARS,
    SLANG,
    clean,
    has_letters,
    normalize,
    strip_html,
    translate_english,
)


def test_html_tags_scripts_and_entities_are_removed():
    text = "<p>Jalan&nbsp;<b>rusak</b> &amp; berlubang</p><script>alert('x')</script><!-- c -->"
    assert normalize(text) == "jalan rusak berlubang"
    assert "alert" not in strip_html(text)


def test_a_lone_angle_bracket_is_not_taken_for_a_tag():
    assert normalize("air < 1 meter tapi > 5 cm") == "air 0 meter tapi 0 cm"


def test_lowercase_accents_numbers_urls_and_emails():
    text = "CEK https://pemkot.go.id/lapor?id=12 atau Email ke Admin@Kota.id, Café RT 03/RW 05"
    assert normalize(text) == "cek url atau email ke email cafe rt 0 rw 0"


def test_emoji_and_punctuation_become_spaces():
    assert normalize("Sampah!!!😡😡numpuk...") == "sampah numpuk"
    assert normalize("🙏🙏🙏 !!! ???") == ""


def test_repeated_letters_are_squashed_but_double_letters_kept():
    assert normalize("tolonggg bangettt, maaf") == "tolong banget maaf"


def test_reduplication_with_a_2():
    assert normalize("anak2 main di jalan2") == "anak anak main di jalan jalan"


def test_other_scripts_are_dropped_latin_words_kept():
    assert normalize("jalan rusak 道路损坏 дорога مرحبا") == "jalan rusak"


def test_slang_abbreviations_and_javanese():
    assert normalize("yg gk ga ora ndak") == "yang tidak tidak tidak tidak"
    assert normalize("jln jl tlg") == "jalan jalan tolong"
    assert normalize("uwuh banyu omah mlebu dalan lampune") == "sampah air rumah masuk jalan lampu"
    assert normalize("Banyune mlebu omah wis sedengkul") == "air masuk rumah sudah selutut"


def test_slang_dictionary_is_data_with_over_100_entries():
    assert len(SLANG) >= 100
    assert all(key == key.lower() and key.isascii() and " " not in key for key in SLANG)


def test_kali_is_a_river_unless_it_counts_times():
    assert normalize("sampah di kali loji") == "sampah di sungai loji"
    assert normalize("sudah 3 kali lapor") == "sudah 0 kali lapor"
    assert normalize("sudah beberapa kali lapor, kali ini tolong") == (
        "sudah beberapa kali lapor kali ini tolong"
    )


def test_long_text_is_truncated_on_a_word_boundary():
    result = normalize("jalan rusak " * 20_000)
    assert len(result) <= MAX_CHARS
    assert result.endswith("rusak") or result.endswith("jalan")


def test_has_letters():
    assert has_letters("jalan rusak")
    assert not has_letters("0 0")
    assert not has_letters("")


def test_clean_keeps_javanese_for_language_detection():
    assert clean("Banyune MLEBU omah!!") == "banyune mlebu omah"


def test_english_domain_words_get_their_indonesian_equivalent():
    assert translate_english("the garbage truck did not come") == ("the sampah truk did not datang")
    assert translate_english("road", keep=True) == "road jalan"
    assert not set(ENGLISH) & set(SLANG)
