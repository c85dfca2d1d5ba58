"""Surge alerts (issue 13): a burst of rob reports in one kelurahan publishes one
``alert.spike_detected`` on ``reporting.events`` within a minute, a steady trickle elsewhere
publishes none, and the department on call (BPBD) is told once, by mail and on its on-call
WhatsApp number. Neither kelurahan is used by the other e2e tests, whose databases this run
shares (an empty history: five in an hour make a surge there)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import ONCALL_NUMBER
from tests.e2e.test_mail_out import INBOX, body, inbox  # noqa: F401 - inbox is a fixture
from tests.helpers import wait_for

pytestmark = pytest.mark.usefixtures("native", "inbox")

BPBD = "bpbd@dinas.e2e.test"
BURST = "Degayu"  # Pekalongan Utara, by the sea
TRICKLE = "Kramatsari"  # Pekalongan Barat
# rob, but nobody in danger: no urgent case, so BPBD's on-call hears only of the surge
BURST_TEXTS = (
    "Genangan rob di jalan kampung Degayu belum surut sejak pagi",
    "Rob naik lagi di Degayu, jalan gang tergenang air laut",
    "Banjir rob menggenangi jalan utama Degayu, motor susah lewat",
    "Air rob di Degayu makin tinggi sore ini, got meluap ke jalan",
    "Pompa banjir di Degayu tidak menyala, genangan rob tidak surut",
    "Rob menggenang di depan musholla Degayu sejak subuh",
)
TRICKLE_TEXTS = (
    "Genangan banjir di Kramatsari belum surut, saluran mampet",
    "Got di Kramatsari meluap kalau hujan, jalan tergenang",
    "Saluran air di Kramatsari tersumbat, genangan di jalan",
)


def test_a_burst_of_rob_reports_alerts_once_and_a_trickle_elsewhere_not_at_all(client, graph):
    alerts = client.subscribe("reporting.events", "alert.spike_detected")
    try:
        trickle = [submit(client, text, TRICKLE) for text in TRICKLE_TEXTS]
        for feedback_id in trickle:
            assert client.wait_status(feedback_id)["category"] == "flooding"
        burst, answered = [], []
        for text in BURST_TEXTS:
            burst.append(submit(client, text, BURST))
            answered.append(time.monotonic())
        (alert,) = wait_for(
            lambda: alerts.of_type("alert.spike_detected"),
            timeout=60,
            interval=0.02,
            message="the surge alert",
        )
        after_fifth = time.monotonic() - answered[4]
        data = alert["data"]
        assert (data["kelurahan"], data["kecamatan"], data["category"]) == (
            BURST,
            "Pekalongan Utara",
            "flooding",
        )
        assert data["department_id"] == "bpbd"
        assert data["count"] >= 5 and data["threshold"] == 5 and data["window_minutes"] == 60
        assert alert["type"] == "id.go.pekalongankota.suara.alert.spike_detected"
        assert alert["subject"] == data["alert_id"] and alert["source"] == "/suara/reporting"
        assert not any(f in str(alert) for f in burst + trickle)  # no case, no text
        for feedback_id in burst:
            assert client.wait_status(feedback_id)["category"] == "flooding"

        # the department on call is told, once, by mail and on its on-call number
        (mail,) = wait_for(
            lambda: mails_about(data["alert_id"]), timeout=30, message="BPBD's surge mail"
        )
        told_after = time.monotonic() - answered[4]
        assert mail["Subject"].startswith(f"LONJAKAN: {data['count']} laporan Banjir & Rob di ")
        text = body(mail["ID"])["Text"]
        assert "Kelurahan Degayu, Kecamatan Pekalongan Utara" in text
        assert not any(f in text for f in burst)
        (oncall,) = wait_for(
            lambda: [m for m in graph.sent_to(ONCALL_NUMBER) if data["alert_id"] in str(m.body)],
            timeout=30,
            message="the on-call WhatsApp",
        )
        assert oncall.body["type"] == "template"

        # one alert for the burst, none for the trickle, however the later cases came
        assert len(alerts.of_type("alert.spike_detected")) == 1
        assert len(mails_about(data["alert_id"])) == 1
        print(
            f"\nsurge alert {after_fifth:.2f}s after the fifth report was accepted; "
            f"BPBD mailed and on call after {told_after:.2f}s"
        )
    finally:
        alerts.close()


def mails_about(alert_id: str) -> list[dict]:
    found = requests.get(
        f"{INBOX}/api/v1/search", params={"query": f"to:{BPBD} subject:{alert_id}"}, timeout=5
    )
    found.raise_for_status()
    return [m for m in found.json()["messages"] if alert_id in m["Subject"]]


def submit(client, text: str, kelurahan: str) -> str:
    r = client.submit(text, location={"kelurahan": kelurahan})
    assert r.status_code == 201, r.text
    return r.json()["id"]
