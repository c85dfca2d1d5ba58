"""What notification does with a surge alert (``alert.spike_detected``, from reporting): the
department's mail and its on-call number, once per alert, about a place and never a person
(services/notification/deliveries.py, messages.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notification import deliveries, messages
from shared import events

NOW = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
ALERT = "spike-0123456789abcdef"


def spike(**overrides) -> events.Event:
    data = {
        "alert_id": ALERT,
        "kelurahan": "Degayu",
        "kecamatan": "Pekalongan Utara",
        "category": "flooding",
        "department_id": "bpbd",
        "count": 6,
        "window_minutes": 60,
        "baseline_per_hour": 0.0625,
        "threshold": 5,
        "started_at": "2026-12-02T02:40:00.000Z",
        "detected_at": "2026-12-02T03:30:00.000Z",
        **overrides,
    }
    built = events.build(
        "reporting", "alert.spike_detected", data, subject=ALERT, correlation_id=ALERT
    )
    return events.decode(
        events.encode(built), expected=events.spec("reporting", "alert.spike_detected")
    )


def test_a_surge_is_mailed_to_its_department_and_sent_to_its_on_call_number_once():
    mail, oncall = deliveries.plan(spike(), now=NOW)
    assert mail["_id"] == f"{ALERT}:spike:department"
    assert oncall["_id"] == f"{ALERT}:spike.oncall:department"
    assert oncall["oncall"] is True and "oncall" not in mail
    for delivery in (mail, oncall):
        assert (delivery["audience"], delivery["recipient"]) == ("department", "bpbd")
        assert delivery["feedback_id"] is None  # about a place, not a case
        assert (delivery["kelurahan"], delivery["count"]) == ("Degayu", 6)
        assert messages.department_kind(delivery["kind"]) == "spike"
    assert [d["_id"] for d in deliveries.plan(spike())] == [mail["_id"], oncall["_id"]]


def test_a_surge_without_a_department_goes_to_triage():
    mail, _ = deliveries.plan(spike(department_id=None), now=NOW)
    assert mail["recipient"] == "dinkominfo-triage"


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_the_surge_mail_says_where_how_many_in_how_long_and_what_is_usual(language):
    (delivery, _) = deliveries.plan(spike(), now=NOW)
    values = {**{k: delivery[k] for k in deliveries.SPIKE_VALUES}, "id": ALERT}
    mail = messages.department_mail(delivery["kind"], language, values)
    if language == "id":
        assert (
            mail.subject == f"LONJAKAN: 6 laporan Banjir & Rob di Degayu dalam 60 menit ({ALERT})"
        )
        assert "sejak Rabu, 2 Des 2026 09:40 WIB" in mail.text
        assert "Biasanya: 0,06 laporan per 60 menit (0,06 per jam" in mail.text
    else:
        assert mail.subject.startswith("SURGE: 6 Flooding & tidal flooding reports in Degayu")
        assert "since Wednesday, 2 Dec 2026 09:40 WIB" in mail.text
    assert "Pekalongan Utara" in mail.text and ALERT in mail.text
    assert "None" not in mail.text and "SU-" not in mail.text


def test_a_surge_mail_missing_its_place_or_count_is_refused():
    with pytest.raises(ValueError, match="kelurahan"):
        messages.department_mail("spike", "id", {"id": ALERT, "count": 5, "window_minutes": 60})
