"""E-mail (issue 11): a real SMTP conversation with intake's mail bridge, which hands each mail
to intake; the same Message-ID twice is one feedback; auto-replies are ignored; image
attachments become photos; when intake cannot take a mail, the sender is told to retry."""

from __future__ import annotations

import io
import os
import smtplib
import subprocess
import sys
import uuid
from email.message import EmailMessage

import pytest
from PIL import Image

from tests.helpers import wait_for
from tests.support.client import API_KEY

SMTP_PORT = 12525
ADMIN = {"X-API-Key": API_KEY}


def smtp_up() -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


@pytest.fixture(scope="module")
def bridge(platform, tmp_path_factory):
    if platform.mode != "native":
        pytest.skip("the bridge runs beside the natively started intake")
    log = open(tmp_path_factory.mktemp("mail") / "mailbridge.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.intake.mailbridge"],
        env={
            **os.environ,
            "SUARA_INBOUND_SMTP_PORT": str(SMTP_PORT),
            "SUARA_INTAKE_URL": platform.urls["intake"],
            "SUARA_MAIL_API_KEY": API_KEY,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(smtp_up, timeout=20, message="the mail bridge to answer")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def mail(subject: str, body: str, message_id: str | None = None, **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Siti Aminah <siti.aminah@example.id>"
    msg["To"] = "lapor@suara.pekalongankota.go.id"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example.id>"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    return msg


def send(msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as smtp:
        smtp.send_message(msg)


def feedback_of(message_id: str) -> str:
    from services.intake.feedback import keyed_id

    return keyed_id("email", message_id.strip("<>"))


def test_a_mail_is_one_feedback_with_its_photo_however_often_it_is_forwarded(client, bridge):
    msg = mail("Banjir rob di Panjang Wetan", "Air masuk rumah warga setinggi lutut sejak pagi.")
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0110] = "Kamera Surel"
    Image.new("RGB", (300, 200), (10, 60, 200)).save(out, "JPEG", exif=exif.tobytes())
    msg.add_attachment(out.getvalue(), maintype="image", subtype="jpeg", filename="rob.jpg")
    send(msg)
    send(msg)  # the city's server forwards it again
    feedback_id = feedback_of(msg["Message-ID"])
    fb = client.wait_status(feedback_id)
    assert fb["channel"] == "email"
    staff = client.http.get(client.url("intake", f"/api/v1/feedback/{feedback_id}"), headers=ADMIN)
    (photo,) = staff.json()["photos"]
    kept = client.http.get(client.url("intake", photo), headers=ADMIN, timeout=10)
    assert kept.status_code == 200 and b"Kamera Surel" not in kept.content
    reply = client.http.get(
        client.url("intake", f"/api/v1/replies/{feedback_id}"), headers=ADMIN, timeout=10
    ).json()
    assert (reply["channel"], reply["email"]) == ("email", "siti.aminah@example.id")
    wait_for(lambda: client.summary()["by_channel"].get("email", 0) >= 1, timeout=20)


def test_only_the_bridge_hands_mail_to_intake(client):
    raw = mail("Jalan rusak", "Lubang besar").as_bytes()
    url = client.url("intake", "/webhooks/email")
    assert client.http.post(url, data=raw, timeout=10).status_code == 401
    wrong = client.http.post(url, data=raw, headers={"X-API-Key": "nope"}, timeout=10)
    assert wrong.status_code == 401


def test_auto_replies_are_not_reports_and_status_questions_are_answered(client, bridge):
    before = client.summary()["total"]
    away = mail(
        "Out of office", "Saya cuti sampai 5 Desember.", **{"Auto-Submitted": "auto-replied"}
    )
    send(away)
    asked = client.submit("Lampu PJU mati di gang Melati, gelap sekali").json()["id"]
    client.wait_status(asked)
    send(mail(f"STATUS {asked}", "Bagaimana perkembangannya?"))
    wait_for(
        lambda: any(d["kind"].startswith("status_answer") for d in client.deliveries(asked)),
        timeout=20,
        message="the answer to the status question",
    )
    assert client.summary()["total"] == before + 1  # the submitted one only


def test_a_mail_intake_cannot_take_is_left_with_the_sender_to_retry(client, bridge, tmp_path):
    # too large for intake: refused by SMTP itself, before the data
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("MAIL FROM:<siti@example.id> SIZE=30000000")
        assert code == 552
    # intake unreachable: 451, the sending server keeps the mail and tries again later
    env = {
        **os.environ,
        "SUARA_INBOUND_SMTP_PORT": str(SMTP_PORT + 1),
        "SUARA_INTAKE_URL": "http://127.0.0.1:9",  # nothing listens there
        "SUARA_MAIL_API_KEY": API_KEY,
    }
    with open(tmp_path / "dead-end.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.intake.mailbridge"], env=env, stdout=log, stderr=log
        )
        try:

            def answers():
                with smtplib.SMTP("127.0.0.1", SMTP_PORT + 1, timeout=2) as smtp:
                    return smtp.noop()[0] == 250

            wait_for(answers, timeout=20)
            with smtplib.SMTP("127.0.0.1", SMTP_PORT + 1, timeout=30) as smtp:
                with pytest.raises(smtplib.SMTPDataError) as refused:
                    smtp.send_message(mail("Jalan rusak", "Lubang besar di Jl. Hayam Wuruk"))
            assert refused.value.smtp_code == 451
        finally:
            proc.terminate()
            proc.wait(10)
