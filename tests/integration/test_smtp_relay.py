"""Notification's SMTP door against a relay of the test's own (aiosmtpd) that, as a city's
relay does, demands STARTTLS and a login: a real SMTP conversation over TLS, the certificate
checked against the CA the config names."""

import socket
import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.notification import outbound
from services.notification.messages import Mail
from shared import config

USER, PASSWORD = "suara-relay", "rahasia-relay-2026"


class _Inbox:
    def __init__(self):
        self.mails, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.mails.append((session.authenticated, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _authenticator(inbox):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (USER, PASSWORD)
        inbox.logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    return check


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay(tmp_path):
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    ca_file = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = _Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator(inbox),
    )
    controller.start()
    try:
        yield controller.port, ca_file, inbox
    finally:
        controller.stop()


def _smtp(port, ca_file, **env):
    return config.smtp_settings(
        {
            "SUARA_SMTP_HOST": "127.0.0.1",
            "SUARA_SMTP_PORT": str(port),
            "SUARA_SMTP_USER": USER,
            "SUARA_SMTP_PASSWORD": PASSWORD,
            "SUARA_SMTP_STARTTLS": "true",
            "SUARA_SMTP_CA_FILE": str(ca_file),
            "SUARA_MAIL_FROM": "Suara <noreply@suara.pekalongankota.go.id>",
            **env,
        }
    )


MAIL = Mail(subject="Laporan Anda diterima", text="Nomor laporan: SU-0123", html="<p>SU-0123</p>")


def test_a_mail_goes_over_starttls_with_a_login_and_arrives(relay):
    port, ca_file, inbox = relay
    outbound.send_mail(_smtp(port, ca_file), "siti@example.id", MAIL, "SU-0123:received:citizen")
    assert [(ok, over_tls) for _, ok, over_tls in inbox.logins] == [(True, True)]
    ((authenticated, rcpt, content),) = inbox.mails
    assert authenticated and rcpt == ["siti@example.id"]
    assert b"Nomor laporan: SU-0123" in content


def test_a_relay_whose_certificate_is_not_trusted_gets_no_password_and_no_mail(relay, tmp_path):
    port, _, inbox = relay
    other_ca = tmp_path / "another-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(outbound.Unavailable, match="certificate"):
        outbound.send_mail(_smtp(port, other_ca), "siti@example.id", MAIL, "SU-0123:x:citizen")
    assert inbox.logins == [] and inbox.mails == []


def test_a_wrong_password_is_a_relay_failure_and_sends_nothing(relay):
    port, ca_file, inbox = relay
    smtp = _smtp(port, ca_file, SUARA_SMTP_PASSWORD="salah")
    with pytest.raises(outbound.Unavailable):
        outbound.send_mail(smtp, "siti@example.id", MAIL, "SU-0123:y:citizen")
    assert inbox.mails == [] and inbox.logins and not any(ok for _, ok, _ in inbox.logins)


def test_without_starttls_a_relay_that_demands_it_gets_nothing(relay):
    port, ca_file, inbox = relay
    smtp = _smtp(port, ca_file, SUARA_SMTP_STARTTLS="false", SUARA_SMTP_USER="")
    with pytest.raises(outbound.Unavailable):
        outbound.send_mail(smtp, "siti@example.id", MAIL, "SU-0123:z:citizen")
    assert inbox.mails == []


def test_a_login_to_a_remote_relay_without_starttls_is_refused_at_start():
    with pytest.raises(config.ConfigError, match="in clear"):
        config.smtp_settings(
            {"SUARA_SMTP_HOST": "smtp.pekalongankota.go.id", "SUARA_SMTP_USER": USER}
        )
