"""Notification tells departments and answers citizens where they wrote (issue 12): a new case is
mailed to its department's address (SUARA_DEPARTMENT_EMAILS), an urgent one also goes to the
on-call number (SUARA_DEPARTMENT_ONCALL) on WhatsApp, an overdue one is mailed again; a citizen
who wrote on WhatsApp or SMS is answered there, through the providers' APIs (the stand-in in
tests/support/providers.py records what they were sent)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import ONCALL_NUMBER
from tests.e2e.test_channels import post_sms, post_whatsapp, text_message, whatsapp_body
from tests.e2e.test_mail_out import body, inbox, mails_to  # noqa: F401 - inbox is a fixture
from tests.helpers import wait_for
from tests.support.providers import SMS_FROM

PUPR = "dinas-pupr@dinas.e2e.test"
BPBD = "bpbd@dinas.e2e.test"

pytestmark = pytest.mark.usefixtures("native", "inbox")


def mails_about(address: str, feedback_id: str) -> list[dict]:
    return [m for m in mails_to(address) if feedback_id in m["Subject"]]


def test_a_new_case_is_mailed_to_its_department_without_the_citizens_data(client):
    secret = uuid.uuid4().hex[:8]
    r = client.submit(
        f"Jalan berlubang besar di Jl. Gajah Mada dekat pasar, bahaya motor {secret}",
        contact={"name": "Rahmat Hidayat", "email": f"rahmat-{secret}@example.id"},
    )
    feedback_id = r.json()["id"]
    (mail,) = wait_for(
        lambda: mails_about(PUPR, feedback_id), timeout=30, message="the department's mail"
    )
    assert mail["Subject"] == f"Kasus baru {feedback_id}: Jalan & Jembatan"
    text = body(mail["ID"])["Text"]
    assert "Prioritas: biasa" in text or "Prioritas:" in text
    for personal in (secret, "Rahmat", "example.id", "Gajah Mada"):
        assert personal not in text  # staff read the case in Suara, not in their mailbox
    delivery = next(d for d in client.deliveries(feedback_id) if d["kind"] == "assigned.r1")
    assert (delivery["status"], delivery["via"]) == ("sent", "email")
    assert "@" not in str(delivery)


def test_an_urgent_case_reaches_the_on_call_number_at_once(client, graph):
    r = client.submit("Banjir setinggi dada di Panjang Wetan, warga terjebak, tolong segera")
    feedback_id = r.json()["id"]
    urgent = wait_for(
        lambda: [m for m in mails_about(BPBD, feedback_id) if m["Subject"].startswith("MENDESAK:")],
        timeout=30,
        message="the urgent mail to BPBD",
    )
    assert urgent[0]["Subject"].startswith(f"MENDESAK: kasus {feedback_id} (Banjir & Rob)")
    # and the new case itself, marked urgent
    wait_for(
        lambda: [
            m for m in mails_about(BPBD, feedback_id) if m["Subject"].startswith("[MENDESAK]")
        ],
        timeout=30,
    )
    (sent,) = wait_for(
        lambda: [m for m in graph.sent_to(ONCALL_NUMBER) if feedback_id in str(m.body)],
        timeout=30,
        message="the on-call WhatsApp",
    )
    # nobody on call wrote to us in the last 24 hours: the approved template, never free text
    assert sent.body["type"] == "template"
    params = sent.body["template"]["components"][0]["parameters"]
    assert params[0]["text"] == feedback_id
    kinds = {d["kind"]: d for d in client.deliveries(feedback_id)}
    assert kinds["urgent.oncall"]["via"] == "whatsapp" and kinds["urgent"]["via"] == "email"


def test_an_overdue_case_is_mailed_to_its_department(client):
    # small business cases are due 3.6 s after they come on the e2e platform
    r = client.submit("Izin usaha UMKM batik saya belum diproses, mohon dibantu Dinas Koperasi")
    feedback_id = r.json()["id"]
    case = client.wait_status(feedback_id)
    if case.get("category") != "economy_umkm":
        pytest.skip(f"categorized as {case.get('category')}, not economy_umkm")
    (mail,) = wait_for(
        lambda: [
            m
            for m in mails_to("dindagkop-ukm@dinas.e2e.test")
            if "lewat" in m["Subject"] and feedback_id in m["Subject"]
        ],
        timeout=60,
        message="the overdue mail",
    )
    assert mail["Subject"] == f"Kasus {feedback_id} lewat tenggat"


def test_a_whatsapp_citizen_is_answered_on_whatsapp(client, graph):
    sender = "62812" + uuid.uuid4().int.__str__()[:8]
    message = text_message("Sampah menumpuk di TPS Kuripan, bau sekali sudah seminggu", sender)
    r = post_whatsapp(client, whatsapp_body(message))
    assert r.status_code == 200, r.text
    ((result),) = r.json()["results"]
    feedback_id = result["id"]
    sent = wait_for(
        lambda: len(m := graph.sent_to(sender)) >= 2 and m,
        timeout=30,
        message="the receipt and the categorized reply on WhatsApp",
    )
    # inside the 24-hour window the citizen just opened: free text, in their language
    texts = [m.body["text"]["body"] for m in sent if m.body["type"] == "text"]
    assert any(f"diterima dengan nomor {feedback_id}" in t for t in texts)
    assert all(len(t) <= 300 for t in texts)
    assert any(f"/track/{feedback_id}?token=" in t for t in texts)
    assert not mails_to(sender)  # nothing by e-mail

    asked = post_whatsapp(client, whatsapp_body(text_message(f"STATUS {feedback_id}", sender)))
    assert asked.status_code == 200
    answer = wait_for(
        lambda: [m for m in graph.sent_to(sender) if f"Laporan {feedback_id}:" in str(m.body)],
        timeout=30,
        message="the answer to the status question",
    )
    assert answer
    wait_for(
        lambda: any(
            d["kind"].startswith("status_answer") and d["status"] == "sent"
            for d in client.deliveries(feedback_id)
        ),
        timeout=20,
    )
    counts = {}
    for m in graph.sent_to(sender):
        counts[str(m.body)] = counts.get(str(m.body), 0) + 1
    assert max(counts.values()) == 1  # each message once


def test_an_sms_citizen_is_answered_by_sms(client, graph):
    sender = "+62813" + uuid.uuid4().int.__str__()[:8]
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": SMS_FROM,
        "Body": "Lampu PJU mati di gang Kenanga, gelap dan rawan",
        "NumMedia": "0",
    }
    assert post_sms(client, params).status_code == 200
    # the receipt (intake's reply) and the routing notice (notification's, on
    # feedback.categorized) come from two independent events: either may be sent first

    def receipt():
        sent = graph.sent_to(sender)
        return next((m for m in sent if "diterima" in m.body.get("Body", "")), None)

    first = wait_for(receipt, timeout=30, message="the SMS receipt")
    assert first.channel == "sms" and first.body["From"] == SMS_FROM
    assert "diterima dengan nomor SU-" in first.body["Body"]
