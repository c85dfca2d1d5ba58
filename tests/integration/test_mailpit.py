"""Mailpit, the local SMTP server deploy/local-servers.sh starts (issue 12's embedded
default): a mail sent over SMTP is in its inbox, read through its API, as the e2e tests of
notification will read what Suara sent."""

import smtplib
import uuid
from email.message import EmailMessage

import requests

from tests.helpers import wait_for

SMTP = ("127.0.0.1", 1025)
INBOX = "http://127.0.0.1:8025"


def test_a_mail_sent_over_smtp_arrives_in_mailpits_inbox():
    subject = f"Laporan Anda diterima {uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"] = "Suara <noreply@suara.pekalongankota.go.id>"
    msg["To"] = "siti@example.id"
    msg["Subject"] = subject
    msg.set_content("Nomor laporan: SU-0123456789")
    with smtplib.SMTP(*SMTP, timeout=10) as smtp:
        smtp.send_message(msg)

    def arrived():
        found = requests.get(f"{INBOX}/api/v1/search", params={"query": subject}, timeout=5)
        return found.ok and found.json()["messages"]

    (message,) = wait_for(arrived, timeout=10, message="the mail in Mailpit")
    full = requests.get(f"{INBOX}/api/v1/message/{message['ID']}", timeout=5).json()
    assert full["Subject"] == subject and "SU-0123456789" in full["Text"]
    assert [to["Address"] for to in full["To"]] == ["siti@example.id"]
