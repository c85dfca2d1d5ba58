"""What a department is told (services/notification/messages.department_mail): new, urgent and
transferred cases, due times, ratings, reopened cases and the daily digest; never personal data."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from services.notification import messages

CASE_URL = "https://suara.example/staf/kasus/SU-0123456789"
PERSONAL = (
    "Pak Budi, 0812-3456-7890, budi.santoso@example.com, Jl. Merdeka 5: "
    "<b>tolong segera</b>, WA saya +62 812 3456 7890"
)


def department_values(**overrides) -> dict:
    """Every value a department mail may get, plus what it must never show."""
    values = {
        "id": "SU-0123456789",
        "category": "flooding",
        "priority": "normal",
        "reasons": ["water_in_homes", "people_trapped"],
        "from_department_id": "dinas-pupr",
        "due_at": "2026-12-02T07:00:00Z",
        "score": 4,
        "case_status": "reopened",
        "case_url": CASE_URL,
        # what a delivery or a careless caller may carry; none of it may appear
        "note": PERSONAL,
        "text": PERSONAL,
        "name": "Budi Santoso",
        "email": "budi.santoso@example.com",
        "phone": "+6281234567890",
    }
    return {**values, **overrides}


DELIVERY_KINDS = [
    "assigned.r1",
    "urgent",
    "assigned.t2",
    "sla_warning",
    "overdue",
    "rated",
    "status.4",
]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+?\d[\d\s-]{7,}\d")


def test_which_deliveries_go_to_departments():
    kind = messages.department_kind
    assert kind("assigned.r1") == kind("assigned.r3") == "assigned"
    assert kind("assigned.t2") == "transferred_in"
    assert kind("status.7") == "status"
    for same in ("urgent", "overdue", "rated", "sla_warning", "digest"):
        assert kind(same) == same
    for citizen_only in ("received", "categorized.r1", "transferred.t1", "status_answer.Q-1"):
        assert kind(citizen_only) is None, citizen_only


@pytest.mark.parametrize("language", [*messages.LANGUAGES, None])
@pytest.mark.parametrize("kind", DELIVERY_KINDS)
def test_no_department_mail_shows_a_note_or_anything_about_the_citizen(kind, language):
    mail = messages.department_mail(kind, language, department_values())
    for part in (mail.subject, mail.text, mail.html):
        assert "SU-0123456789" in part
        assert not EMAIL.search(part), part
        assert not PHONE.search(part.replace("SU-0123456789", "")), part
        assert "Budi" not in part and "Merdeka" not in part and "tolong" not in part


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize("kind", DELIVERY_KINDS)
def test_every_department_kind_renders_with_only_what_it_needs(kind, language):
    needs = {
        "id": "SU-1",
        "due_at": "2026-12-02T07:00:00+00:00",
        "score": 5,
        "case_status": "closed",
    }
    mail = messages.department_mail(kind, language, needs)
    assert "SU-1" in mail.subject and "SU-1" in mail.text
    assert "None" not in mail.text and mail.html.startswith(
        f'<!doctype html><html lang="{language}"'
    )


def test_a_new_case_names_its_category_priority_and_the_staff_link():
    mail = messages.department_mail("assigned.r1", "id", department_values(category="roads"))
    assert mail.subject == "Kasus baru SU-0123456789: Jalan & Jembatan"
    assert "Kategori: Jalan & Jembatan\nPrioritas: biasa\n" in mail.text
    assert f"Buka kasus: {CASE_URL}" in mail.text
    assert f'<a href="{CASE_URL}">' in mail.html and "Jalan &amp; Jembatan" in mail.html
    urgent = messages.department_mail("assigned.r1", "en", department_values(priority="urgent"))
    assert urgent.subject.startswith("[URGENT] New case SU-0123456789")
    assert "Priority: URGENT" in urgent.text


def test_an_urgent_case_lists_its_reasons_in_words():
    mail = messages.department_mail("urgent", "id", department_values())
    assert mail.subject == "MENDESAK: kasus SU-0123456789 (Banjir & Rob) perlu ditangani segera"
    assert "Alasan:\n- air masuk ke rumah warga\n- ada orang terjebak\n" in mail.text
    unnamed = messages.department_mail("urgent", "en", department_values(reasons=["new_rule"]))
    assert "Why:\n- new rule\n" in unnamed.text
    none = messages.department_mail("urgent", "en", department_values(reasons=[]))
    assert "Why:\n- (not given)\n" in none.text


def test_a_transfer_in_says_where_the_case_comes_from():
    mail = messages.department_mail("assigned.t2", "en", department_values())
    assert mail.subject == "Case SU-0123456789 transferred to your department"
    assert "from Dinas PUPR" in mail.text
    unknown = messages.department_mail(
        "assigned.t2", "id", department_values(from_department_id=None)
    )
    assert "dari" not in unknown.text


def test_due_times_are_shown_in_jakarta_time():
    mail = messages.department_mail("sla_warning", "id", department_values())
    assert mail.subject == "Tenggat kasus SU-0123456789: Rabu, 2 Des 2026 14:00 WIB"
    english = messages.department_mail("sla_warning", "en", department_values())
    assert "before Wednesday, 2 Dec 2026 14:00 WIB." in english.text
    late_evening = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 January in Jakarta
    overdue = messages.department_mail("overdue", "id", department_values(due_at=late_evening))
    assert "(Jumat, 1 Jan 2027 00:30 WIB)" in overdue.text
    assert messages.local_time("2026-12-02T07:00:00", "en") == "Wednesday, 2 Dec 2026 14:00 WIB"
    assert messages.local_time(None, "id") == ""


def test_a_rating_and_a_reopened_case():
    rated = messages.department_mail("rated", "en", department_values(score=2))
    assert rated.subject == "The citizen rated case SU-0123456789: 2/5"
    reopened = messages.department_mail("status.4", "id", department_values())
    assert reopened.subject == "Kasus SU-0123456789 dibuka kembali oleh warga"
    other = messages.department_mail("status.4", "en", department_values(case_status="closed"))
    assert other.subject == "Case SU-0123456789: closed"


def test_a_mail_missing_what_it_needs_is_refused():
    with pytest.raises(ValueError, match="needs due_at"):
        messages.department_mail("overdue", "id", {"id": "SU-1"})
    with pytest.raises(ValueError, match="needs score"):
        messages.department_mail("rated", "id", {"id": "SU-1"})
    with pytest.raises(ValueError, match="needs case_status"):
        messages.department_mail("status.2", "id", {"id": "SU-1"})
    with pytest.raises(ValueError, match="no department message"):
        messages.department_mail("received", "id", {"id": "SU-1"})


# ---------------------------------------------------------------- the daily digest


def digest_case(i: int, *, overdue: bool = False, **extra) -> dict:
    due = datetime(2026, 12, 3, 3, 0, tzinfo=UTC) + timedelta(hours=i)
    return {
        "id": f"SU-{i:010d}",
        "status": "in_progress",
        "due_at": due.isoformat(),
        "overdue": overdue,
        "category": "roads",
        **extra,
    }


def test_the_digest_lists_the_overdue_first_then_the_soonest_due():
    cases = [digest_case(3), digest_case(1), digest_case(2, overdue=True)]
    mail = messages.department_mail(
        "digest", "id", {"department": "dinas-pupr", "date": date(2026, 12, 2), "cases": cases}
    )
    assert (
        mail.subject == "Ringkasan harian Dinas PUPR (Rabu, 2 Des 2026): 3 terbuka, 1 lewat tenggat"
    )
    rows = [line for line in mail.text.splitlines() if line.startswith("- ")]
    assert rows == [
        "- SU-0000000002 | Jalan & Jembatan | dikerjakan | tenggat Kamis, 3 Des 2026 12:00 WIB"
        " | LEWAT TENGGAT",
        "- SU-0000000001 | Jalan & Jembatan | dikerjakan | tenggat Kamis, 3 Des 2026 11:00 WIB",
        "- SU-0000000003 | Jalan & Jembatan | dikerjakan | tenggat Kamis, 3 Des 2026 13:00 WIB",
    ]
    assert "lainnya" not in mail.text


def test_the_digest_lists_at_most_fifty_and_says_how_many_more():
    cases = [digest_case(i, overdue=i % 10 == 0) for i in range(73)]
    values = {
        "department": "Dinas PUPR",
        "date": "2026-12-02",
        "open": 80,
        "cases": cases,
        "cases_url": "https://suara.example/staf/kasus",
    }
    mail = messages.department_mail("digest", "en", values)
    rows = [line for line in mail.text.splitlines() if line.startswith("- ")]
    assert len(rows) == messages.DIGEST_LIMIT
    assert sum("OVERDUE" in row for row in rows) == 8  # every overdue case made the list
    assert "... and 23 more." in mail.text
    assert "Open: 80. Overdue: 8." in mail.text  # open as given, overdue counted
    assert "All cases: https://suara.example/staf/kasus" in mail.text
    assert mail.html.count("<p>- SU-") == messages.DIGEST_LIMIT


def test_an_empty_digest_and_one_that_carries_more_than_its_fields():
    empty = messages.department_mail(
        "digest", "en", {"department": "bpbd", "date": "2026-12-02", "cases": []}
    )
    assert "Open: 0. Overdue: 0.\nNo open cases." in empty.text
    leaky = [digest_case(1, note=PERSONAL, email="budi.santoso@example.com")]
    mail = messages.department_mail(
        "digest", "id", {"department": "bpbd", "date": "2026-12-02", "cases": leaky}
    )
    assert not EMAIL.search(mail.text) and "Budi" not in mail.text
