"""What a citizen is told by e-mail (services/notification/messages.py)."""

from services.notification import messages


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


def test_which_deliveries_are_mailed():
    assert messages.kind_of("received") == "received"
    assert messages.kind_of("status.3") == "status"
    assert messages.kind_of("categorized.r1") is None
