"""What a citizen is told (services/notification/messages.py): e-mails, short replies, the
WhatsApp template's parameters, and the template files themselves."""

import re

import pytest
import yaml
from jinja2 import Environment

from services.categorization import urgency
from services.notification import messages
from shared import events

TRACK = "https://suara.example/lacak/SU-0123456789?k=a&b=1"
UNSUBSCRIBE = "https://suara.example/berhenti/tok-123"


def citizen_values(**overrides) -> dict:
    """A citizen message's values, every optional one given."""
    values = {
        "id": "SU-0123456789",
        "status": "in_progress",
        "note": "Tim sudah di lokasi.",
        "track": TRACK,
        "unsubscribe": UNSUBSCRIBE,
        "category": "roads",
        "department": "dinas-pupr",
    }
    return {**values, **overrides}


DELIVERY_KINDS = ("received", "categorized.r2", "status.3", "transferred.t1", "status_answer.Q-9")
# each citizen template, reached the way deliveries reach it
TEMPLATE_CASES = [
    ("received", {}),
    ("categorized.r1", {}),
    ("status.2", {"status": "in_progress"}),
    ("status.3", {"status": "resolved"}),
    ("status.4", {"status": "reopened"}),
    ("transferred.t1", {}),
    ("status_answer.Q-1", {"status": "acknowledged"}),
]


def test_the_first_mail_carries_the_tracking_id_and_link_in_the_citizens_language():
    mail = messages.citizen_mail("received", "id", {"id": "SU-0123456789", "track": "https://x/t"})
    assert mail.subject == "Laporan SU-0123456789 diterima"
    assert "https://x/t" in mail.text and mail.html.startswith('<!doctype html><html lang="id">')
    english = messages.citizen_mail("received", "en", {"id": "SU-1", "track": "t"})
    assert english.subject == "Report SU-1 received"
    assert messages.citizen_mail("received", "jv", {"id": "SU-1", "track": "t"}).subject.startswith(
        "Laporan"
    )


def test_a_status_mail_names_the_state_in_words_and_escapes_the_note_in_html():
    values = {"id": "SU-1", "status": "in_progress", "note": "<script>x</script>", "track": "t"}
    mail = messages.citizen_mail("status", "id", values)
    assert mail.subject == "Laporan SU-1: sedang dikerjakan"
    assert "<script>x</script>" in mail.text and "<script>" not in mail.html
    without_note = messages.citizen_mail("status", "en", {**values, "note": None})
    assert "note" not in without_note.text


def test_which_deliveries_are_mailed_to_citizens():
    assert messages.kind_of("received") == "received"
    assert messages.kind_of("categorized.r2") == "categorized"
    assert messages.kind_of("status.3") == "status"
    assert messages.kind_of("transferred.t3") == "transferred"
    assert messages.kind_of("status_answer.Q-7f3a") == "status_answer"
    for department_only in ("assigned.r1", "assigned.t2", "urgent", "overdue", "rated", "digest"):
        assert messages.kind_of(department_only) is None, department_only


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize(("kind", "extra"), TEMPLATE_CASES)
def test_every_citizen_kind_renders_with_only_the_tracking_id(kind, extra, language):
    # optional values left out must not trip StrictUndefined, nor leave dangling words
    mail = messages.citizen_mail(kind, language, {"id": "SU-42", **extra})
    assert "SU-42" in mail.subject and "SU-42" in mail.text
    assert "None" not in mail.text and ": \n" not in mail.text
    assert mail.html.startswith(f'<!doctype html><html lang="{language}">')
    reply = messages.reply_text(kind, language, {"id": "SU-42", **extra})
    assert "SU-42" in reply and "None" not in reply


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize(("kind", "extra"), TEMPLATE_CASES)
def test_every_citizen_kind_renders_with_every_value(kind, extra, language):
    mail = messages.citizen_mail(kind, language, citizen_values(**extra))
    assert "SU-0123456789" in mail.subject
    assert TRACK in mail.text
    assert mail.text.endswith(UNSUBSCRIBE + "\n")


def test_categorized_names_the_department_and_the_category_in_the_citizens_words():
    values = citizen_values(category="roads", department="dinas-pupr")
    indonesian = messages.citizen_mail("categorized.r1", "id", values)
    assert indonesian.subject == "Laporan SU-0123456789 diteruskan ke Dinas PUPR"
    assert "Dinas PUPR, kategori Jalan & Jembatan." in indonesian.text
    assert "Jalan &amp; Jembatan" in indonesian.html
    english = messages.citizen_mail("categorized.r1", "en", {**values, "department": "Dinas PUPR"})
    assert "went to Dinas PUPR, category Roads & bridges." in english.text
    unknown = messages.citizen_mail("categorized.r1", "en", {"id": "SU-1", "category": "kites"})
    assert "the department in charge, category kites." in unknown.text


def test_a_resolved_case_asks_for_a_rating_on_the_tracking_page():
    values = citizen_values(status="resolved", note="Lubang sudah ditambal.")
    english = messages.citizen_mail("status.5", "en", values)
    assert english.subject == "Report SU-0123456789 resolved: rate the resolution"
    assert f"rate the resolution there: {TRACK}" in english.text
    assert "Lubang sudah ditambal." in english.text and "reopen" in english.text
    indonesian = messages.citizen_mail("status.5", "id", values)
    assert f"beri penilaian di sana: {TRACK}" in indonesian.text
    plain_status = messages.citizen_mail("status.5", "en", {**values, "status": "in_progress"})
    assert "rate" not in plain_status.text


def test_a_reopened_or_transferred_case_says_so():
    reopened = messages.citizen_mail("status.6", "en", citizen_values(status="reopened"))
    assert reopened.subject == "Report SU-0123456789 reopened"
    transferred = messages.citizen_mail("transferred.t2", "en", citizen_values(department="dlh"))
    assert transferred.subject == "Report SU-0123456789 handed to Dinas Lingkungan Hidup"
    assert "handed to Dinas Lingkungan Hidup" in transferred.text
    indonesian = messages.citizen_mail("transferred.t2", "id", citizen_values(department="dlh"))
    assert "dialihkan ke Dinas Lingkungan Hidup" in indonesian.text


def test_a_status_answer_tells_the_state_or_that_no_such_report_exists():
    found = messages.citizen_mail("status_answer.Q-1", "id", citizen_values(status="acknowledged"))
    assert found.subject == "Status laporan SU-0123456789: diterima dinas"
    missing = messages.citizen_mail("status_answer.Q-1", "en", {"id": "SU-9", "status": None})
    assert missing.subject == "Report SU-9 not found"
    assert "check the number" in missing.text
    assert messages.reply_text("status_answer.Q-1", "id", {"id": "SU-9"}) == (
        "Laporan SU-9 tidak ditemukan. Periksa nomornya."
    )


def test_html_escapes_the_departments_note():
    mail = messages.citizen_mail("status.2", "en", citizen_values(note="Fixed <b>today</b> & done"))
    assert "Fixed <b>today</b> & done" in mail.text
    assert "Fixed &lt;b&gt;today&lt;/b&gt; &amp; done" in mail.html
    assert "<b>" not in mail.html


def test_only_our_own_links_are_clickable_in_html():
    note = 'Lihat https://evil.example/x" onclick="y'
    mail = messages.citizen_mail("status.2", "id", citizen_values(note=note))
    track = TRACK.replace("&", "&amp;")
    assert f'<a href="{track}">{track}</a>' in mail.html
    assert f'<a href="{UNSUBSCRIBE}">' in mail.html
    assert mail.html.count("<a ") == 2
    assert 'onclick="' not in mail.html  # the note's quote is escaped, not an attribute


def test_the_unsubscribe_footer_appears_only_when_a_link_is_given():
    with_link = messages.citizen_mail("status.2", "id", citizen_values())
    assert f"Berhenti menerima e-mail dari Suara: {UNSUBSCRIBE}" in with_link.text
    assert "\n-- \n" in with_link.text and "<hr>" in with_link.html
    for absent in ({"unsubscribe": ""}, {"unsubscribe": None}):
        mail = messages.citizen_mail("status.2", "id", citizen_values(**absent))
        assert "Berhenti" not in mail.text and "-- " not in mail.text
        assert "<hr>" not in mail.html
    left_out = {k: v for k, v in citizen_values().items() if k != "unsubscribe"}
    assert "Stop e-mails" not in messages.citizen_mail("received", "en", left_out).text


def test_a_message_without_a_tracking_id_or_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="needs id"):
        messages.citizen_mail("received", "id", {"track": TRACK})
    with pytest.raises(ValueError, match="no citizen message"):
        messages.citizen_mail("assigned.r1", "id", citizen_values())
    with pytest.raises(ValueError, match="no citizen message"):
        messages.reply_text("digest", "id", citizen_values())


def test_the_language_falls_back_to_indonesian_and_reads_regional_tags():
    assert messages.citizen_mail("received", "en-GB", citizen_values()).subject.startswith("Report")
    assert messages.citizen_mail("received", "EN", citizen_values()).subject.startswith("Report")
    assert messages.citizen_mail("received", None, citizen_values()).subject.startswith("Laporan")


# ---------------------------------------------------------------- short replies


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize(("kind", "extra"), TEMPLATE_CASES)
def test_a_reply_is_one_short_line_with_no_link_but_the_tracking_page(kind, extra, language):
    note = "Lihat <b>foto</b> di https://drive.example/abc dan www.example.com/x. " * 3
    reply = messages.reply_text(kind, language, citizen_values(note=note, **extra))
    assert len(reply) <= messages.REPLY_LIMIT
    assert "\n" not in reply and "<" not in reply and ">" not in reply
    assert re.findall(r"https?://\S+|www\.\S+", reply) in ([TRACK], [])
    assert "SU-0123456789" in reply


def test_a_long_note_is_shortened_so_the_tracking_link_survives():
    reply = messages.reply_text("status.2", "en", citizen_values(note="word " * 200))
    assert len(reply) <= messages.REPLY_LIMIT
    assert reply.endswith(TRACK)
    assert "word…" in reply


def test_a_reply_says_what_the_mail_says_in_a_line():
    assert messages.reply_text("status.3", "en", citizen_values(note="Patched <i>today</i>")) == (
        f"Report SU-0123456789: in progress. Note: Patched today. {TRACK}"
    )
    assert messages.reply_text("categorized.r1", "id", citizen_values()) == (
        f"Laporan SU-0123456789 diteruskan ke Dinas PUPR (Jalan & Jembatan). {TRACK}"
    )
    resolved = messages.reply_text("status.3", "en", citizen_values(status="resolved", note=None))
    assert resolved == f"Report SU-0123456789 resolved. Rate the resolution at {TRACK}"


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize(("kind", "extra"), TEMPLATE_CASES)
def test_the_whatsapp_template_gets_the_id_and_a_few_words(kind, extra, language):
    params = messages.reply_template_params(kind, language, citizen_values(**extra))
    assert isinstance(params, tuple) and len(params) == 2
    assert params[0] == "SU-0123456789"
    assert params[1] and all("\n" not in p and len(p) <= messages.PARAM_LIMIT for p in params)
    assert "http" not in params[1]


def test_the_whatsapp_words_name_the_state_or_the_department():
    params = messages.reply_template_params
    assert params("status.2", "id", citizen_values()) == ("SU-0123456789", "sedang dikerjakan")
    assert params("status.2", "en", citizen_values()) == ("SU-0123456789", "in progress")
    assert params("transferred.t1", "en", citizen_values(department="bpbd"))[1] == "handed to BPBD"
    assert params("status_answer.Q", "en", {"id": "SU-9"}) == ("SU-9", "not found")


# ---------------------------------------------------------------- the template files


def _templates(name: str) -> dict:
    return yaml.safe_load((messages.TEMPLATE_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "sections", "kinds"),
    [
        ("citizen.yaml", ("subject", "body", "reply", "words"), messages.CITIZEN_KINDS),
        ("department.yaml", ("subject", "body"), messages.DEPARTMENT_KINDS),
    ],
)
def test_each_template_file_has_both_languages_of_every_kind_and_parses(name, sections, kinds):
    doc = _templates(name)
    env = Environment()
    for section in sections:
        assert set(doc[section]) == set(kinds), f"{name}: {section}"
        for kind, by_language in doc[section].items():
            assert set(by_language) == set(messages.LANGUAGES), f"{name}: {section}.{kind}"
            for language, source in by_language.items():
                assert isinstance(source, str) and source.strip(), f"{section}.{kind}.{language}"
                env.parse(source)  # a syntax error fails here, naming the template


def test_the_tables_cover_every_state_and_urgency_reason_in_both_languages():
    citizen, department = _templates("citizen.yaml"), _templates("department.yaml")
    for table in (citizen["states"], department["states"]):
        assert set(table) == set(events.STATUSES)
    reasons = {rule.reason for rule in urgency.HAZARD_RULES + urgency.INCIDENT_RULES}
    assert reasons <= set(department["reasons"])
    assert set(department["priorities"]) == {"normal", "urgent"}
    for table in ("states", "reasons", "priorities"):
        for code, words in department[table].items():
            assert set(words) == set(messages.LANGUAGES), f"{table}.{code}"
    for code, words in citizen["states"].items():
        assert set(words) == set(messages.LANGUAGES), code
    assert set(citizen["footer"]) == set(department["calendar"]) == set(messages.LANGUAGES)
    for names in department["calendar"].values():
        assert len(names["days"]) == 7 and len(names["months"]) == 12
