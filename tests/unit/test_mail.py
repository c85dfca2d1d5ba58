"""Forwarded mail read as a citizen's message (services/intake/mail.py)."""

import io
from email.message import EmailMessage

import pytest
from PIL import Image

from services.intake import mail


def message(**headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Siti Aminah <siti.aminah@example.id>")
    msg["To"] = "lapor@suara.pekalongankota.go.id"
    msg["Subject"] = headers.pop("Subject", "Sampah menumpuk di TPS Klego")
    msg["Message-ID"] = headers.pop("Message_ID", "<abc123@mail.example.id>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_a_plain_mail_is_a_report_from_its_sender():
    msg = message()
    msg.set_content("Sudah tiga hari tidak diangkut.\n\n> kutipan lama\nTolong segera.")
    read = mail.read(msg.as_bytes())
    assert read.message.channel == "email" and read.message.message_id == "abc123@mail.example.id"
    assert (read.message.sender, read.message.name) == ("siti.aminah@example.id", "Siti Aminah")
    assert read.message.text == (
        "Sampah menumpuk di TPS Klego\n\nSudah tiga hari tidak diangkut.\n\nTolong segera."
    )
    assert read.attachments == ()


def test_html_is_made_text_and_images_are_attachments():
    msg = message()
    msg.set_content("fallback")
    msg.add_alternative(
        "<html><head><style>p{}</style></head><body><p>Jalan <b>rusak</b></p>"
        "<script>alert(1)</script><div>di Kauman</div></body></html>",
        subtype="html",
    )
    out = io.BytesIO()
    Image.new("RGB", (20, 10)).save(out, "JPEG")
    msg.add_attachment(out.getvalue(), maintype="image", subtype="jpeg", filename="a.jpg")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="x.pdf")
    read = mail.read(msg.as_bytes())
    assert read.message.text.endswith("fallback")  # plain text preferred when both exist
    assert len(read.attachments) == 1
    assert (
        mail.html_to_text("<p>Jalan <b>rusak</b></p><script>alert(1)</script><div>di Kauman</div>")
        == "Jalan rusak\n\ndi Kauman"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"From": "MAILER-DAEMON@mail.example.id"},
        {"Return_Path": "<>"},
    ],
)
def test_auto_replies_and_bounces_are_not_reports(headers):
    msg = message(**headers)
    msg.set_content("Saya sedang cuti sampai tanggal 5.")
    with pytest.raises(mail.NotAReport):
        mail.read(msg.as_bytes())


def test_a_mail_without_a_message_id_is_keyed_by_its_content():
    msg = EmailMessage()
    msg["From"] = "warga@example.id"
    msg["Subject"] = "Lampu mati"
    msg.set_content("Gang Melati gelap")
    first, again = mail.read(msg.as_bytes()), mail.read(msg.as_bytes())
    assert first.message.message_id.startswith("sha256-")
    assert first.message.message_id == again.message.message_id
