"""The citizen's unsubscribe (issue 12), owned by intake: every reply address carries a signed
link naming the e-mail address by its hash; the page's GET only asks (mail scanners fetch
links), its POST (or a mail provider's RFC 8058 one-click POST) records the opt-out, and from
then on intake withholds the address from notification."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
import requests

from tests.e2e.test_mail_out import inbox, mails_to  # noqa: F401 - inbox is a fixture
from tests.helpers import wait_for
from tests.support.client import API_KEY

ADMIN = {"X-API-Key": API_KEY}
PUPR = {"X-API-Key": "pupr-secret"}


def reply_of(client, feedback_id: str) -> dict:
    r = client.http.get(
        client.url("intake", f"/api/v1/replies/{feedback_id}"), headers=ADMIN, timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


def submitted(client, text: str) -> tuple[str, str, dict]:
    """(the citizen's address, the case's id, its receipt): a report with an e-mail."""
    address = f"Warga-{uuid.uuid4().hex[:10]}@Example.id"
    r = client.submit(text, contact={"name": "Siti", "email": address, "language": "en"})
    assert r.status_code == 201, r.text
    return address, r.json()["id"], r.json()


@pytest.mark.usefixtures("inbox")
def test_the_citizen_unsubscribes_through_the_page_and_is_mailed_no_more(client):
    address, feedback_id, receipt = submitted(
        client, "Jalan berlubang besar di Jl. Hayam Wuruk dekat sekolah, bahaya motor"
    )
    wait_for(lambda: mails_to(address.lower()), timeout=30, message="the first mail")
    client.wait_status(feedback_id)
    wait_for(
        lambda: any(
            d["kind"] == "categorized.r1" and d["status"] == "sent"
            for d in client.deliveries(feedback_id)
        ),
        timeout=30,
        message="the mail saying where the case went",
    )
    mailed = wait_for(lambda: len(m := mails_to(address.lower())) >= 2 and len(m), timeout=30)

    reply = reply_of(client, feedback_id)
    hashed = hashlib.sha256(address.lower().encode()).hexdigest()
    base = client.url("intake", "")
    assert reply["unsubscribe_url"].startswith(f"{base}/unsubscribe/{hashed}?token=")
    assert "@" not in reply["unsubscribe_url"]  # the address's hash, never the address
    assert reply["last_inbound_at"] == receipt["submitted_at"]
    assert (reply["email"], reply["email_opted_out"]) == (address, False)

    # the GET (a mail scanner's prefetch, or the citizen) only asks
    for _ in range(2):
        page = requests.get(
            reply["unsubscribe_url"], headers={"Accept-Language": "en-GB"}, timeout=10
        )
        assert page.status_code == 200, page.text
    assert '<html lang="en">' in page.text and ">Unsubscribe</button>" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    assert reply_of(client, feedback_id)["email"] == address  # nothing changed yet

    done = requests.post(base + action, data={"token": token}, timeout=10)
    assert done.status_code == 200, done.text
    assert 'id="unsubscribed"' in done.text and "no more e-mails" in done.text
    after = reply_of(client, feedback_id)
    assert (after["email"], after["email_opted_out"]) == (None, True)
    assert after["track_url"] == reply["track_url"]  # the case itself is untouched
    again = requests.get(reply["unsubscribe_url"], timeout=10)
    assert again.status_code == 200 and 'id="unsubscribed"' in again.text  # no form again

    # honoured at once: the next move mails nobody
    assert client.move(feedback_id, PUPR, status="acknowledged").status_code == 200
    wait_for(
        lambda: any(
            d["kind"] == "status.1" and d["status"] in ("no_address", "unsubscribed")
            for d in client.deliveries(feedback_id)
        ),
        timeout=30,
        message="the move's delivery to be settled without a mail",
    )
    assert len(mails_to(address.lower())) == mailed == 2


def test_a_mail_providers_one_click_post_unsubscribes(client):
    address, feedback_id, _ = submitted(client, "Lampu PJU mati di gang Mawar, gelap sekali")
    url = reply_of(client, feedback_id)["unsubscribe_url"]
    # RFC 8058: the List-Unsubscribe URL, POSTed with this body and no cookie
    r = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert r.status_code == 200, r.text
    assert reply_of(client, feedback_id)["email_opted_out"] is True
    repeat = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert repeat.status_code == 200  # a provider retrying is fine


def test_a_wrong_token_is_403_and_a_malformed_hash_404(client):
    _, feedback_id, _ = submitted(client, "Sampah menumpuk di TPS Kraton, bau sekali")
    _, other_id, _ = submitted(client, "Saluran air tersumbat di Jl. Sultan Agung")
    url = reply_of(client, feedback_id)["unsubscribe_url"]
    other_token = reply_of(client, other_id)["unsubscribe_url"].split("token=")[1]
    path = url.split("?")[0]
    citizen_token = reply_of(client, feedback_id)["track_url"].split("token=")[1]
    for token in (other_token, citizen_token, "", "x" * 500):
        assert requests.get(path, params={"token": token}, timeout=10).status_code == 403
        refused = requests.post(path, params={"token": token}, data={"token": token}, timeout=10)
        assert refused.status_code == 403 and "<html" in refused.text
        one_click = requests.post(
            path, params={"token": token}, data={"List-Unsubscribe": "One-Click"}, timeout=10
        )
        assert one_click.status_code == 403
    assert reply_of(client, feedback_id)["email_opted_out"] is False
    token = url.split("token=")[1]
    base = client.url("intake", "/unsubscribe/")
    for malformed in ("warga@example.id", "ABCDEF" * 10 + "ABCD", "0" * 63):
        r = requests.get(base + malformed, params={"token": token}, timeout=10)
        assert r.status_code == 404, malformed
        assert requests.post(base + malformed, data={"token": token}, timeout=10).status_code == 404


def test_a_case_without_an_e_mail_has_no_unsubscribe_link(client):
    feedback_id = client.submit("Pohon tumbang di Jl. Imam Bonjol").json()["id"]
    reply = reply_of(client, feedback_id)
    assert reply["unsubscribe_url"] is None and reply["email_opted_out"] is False
    assert reply["email"] is None and reply["last_inbound_at"]
