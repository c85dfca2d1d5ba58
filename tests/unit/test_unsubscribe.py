"""The citizen's e-mail opt-out, its pure parts: the signed unsubscribe token, what the reply
address says of an opted-out address, and the page."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from services.intake import feedback, pages, tokens

OLD, NEW = "o" * 32, "n" * 32
ADDRESS = "Siti.Aminah@Example.id"
HASHED = hashlib.sha256(b"siti.aminah@example.id").hexdigest()
AT = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def test_an_address_is_named_by_the_sha256_of_its_lowercased_form():
    assert tokens.address_hash(ADDRESS) == HASHED
    assert tokens.address_hash(" siti.aminah@example.id ") == HASHED
    assert tokens.is_address_hash(HASHED)
    for malformed in ("", HASHED[:-1], HASHED.upper(), HASHED + "0", "../" + HASHED[3:]):
        assert not tokens.is_address_hash(malformed), malformed


def test_an_unsubscribe_token_verifies_for_its_address_only():
    token = tokens.unsubscribe_token((NEW,), HASHED)
    assert len(token) == 32 and tokens.verify_unsubscribe((NEW,), HASHED, token)
    other = tokens.address_hash("budi@example.id")
    assert not tokens.verify_unsubscribe((NEW,), other, token)
    assert not tokens.verify_unsubscribe((NEW,), HASHED, token[:-1] + "A")
    assert not tokens.verify_unsubscribe((NEW,), HASHED, "")
    assert not tokens.verify_unsubscribe((OLD,), HASHED, token)  # another city's secret


def test_key_rotation_the_first_key_signs_all_verify():
    token = tokens.unsubscribe_token((OLD,), HASHED)  # a link mailed before the rotation
    assert tokens.verify_unsubscribe((NEW, OLD), HASHED, token)
    assert tokens.unsubscribe_token((NEW, OLD), HASHED) == tokens.unsubscribe_token((NEW,), HASHED)
    assert tokens.unsubscribe_token((NEW, OLD), HASHED) != token
    assert not tokens.verify_unsubscribe((NEW,), HASHED, token)  # the old key retired


def test_a_token_of_another_purpose_is_refused():
    # a citizen token over the same text is not an unsubscribe token, nor the other way round
    citizen = tokens.citizen_token((NEW,), HASHED)
    assert tokens.verify((NEW,), HASHED, citizen)
    assert not tokens.verify_unsubscribe((NEW,), HASHED, citizen)
    unsubscribe = tokens.unsubscribe_token((NEW,), "SU-0123456789")
    assert not tokens.verify((NEW,), "SU-0123456789", unsubscribe)


def case(**fields) -> dict:
    return {
        "_id": "SU-0123456789",
        "channel": "web",
        "contact": {"email": ADDRESS, "name": "Siti", "language": "en"},
        "created_at": AT.replace(tzinfo=None),  # as the database hands it back
        **fields,
    }


def test_a_case_reply_says_when_the_citizen_wrote_and_links_the_opt_out():
    reply = feedback.case_reply(case(), "https://x/track/SU-0123456789?token=t")
    assert reply["last_inbound_at"] == "2026-03-04T05:06:07.890Z"
    assert feedback.reply_email(reply) == ADDRESS
    shown = feedback.with_optout(reply, "https://x/unsubscribe/h?token=u", False)
    assert shown == {
        **reply,
        "unsubscribe_url": "https://x/unsubscribe/h?token=u",
        "email_opted_out": False,
    }
    assert shown["email"] == ADDRESS


def test_an_opted_out_address_is_withheld_on_every_field_that_holds_it():
    web = feedback.with_optout(feedback.case_reply(case(), "t"), "u", True)
    assert web["email"] is None and web["email_opted_out"] is True
    assert web["name"] == "Siti" and web["track_url"] == "t"
    mailed = case(channel="email", reply_to={"channel": "email", "address": ADDRESS})
    by_mail = feedback.with_optout(feedback.case_reply(mailed, "t"), "u", True)
    assert by_mail["email"] is None and by_mail["address"] is None


def test_without_an_e_mail_there_is_no_link():
    phone = case(
        channel="whatsapp",
        contact={"phone": "6281211112222"},
        reply_to={"channel": "whatsapp", "address": "6281211112222"},
    )
    reply = feedback.case_reply(phone, "t")
    assert feedback.reply_email(reply) is None
    shown = feedback.with_optout(reply, None, False)
    assert shown["unsubscribe_url"] is None and shown["address"] == "6281211112222"


def test_a_status_questions_sender_wrote_when_they_asked():
    question = {
        "_id": "Q-0123456789",
        "reply_to": {"channel": "email", "address": ADDRESS},
        "created_at": AT,
    }
    reply = feedback.question_reply(question)
    assert reply == {
        "channel": "email",
        "address": ADDRESS,
        "last_inbound_at": "2026-03-04T05:06:07.890Z",
    }
    assert feedback.reply_email(reply) == ADDRESS
    assert feedback.with_optout(reply, "u", True)["address"] is None


def test_the_page_asks_before_it_unsubscribes_and_escapes_the_token():
    html = pages.render(
        "unsubscribe.html", "en", csrf="c", address_hash=HASHED, token='"><b>x', done=False
    )
    assert f'action="/unsubscribe/{HASHED}?lang=en"' in html and "Unsubscribe" in html
    assert '"><b>x' not in html and "&#34;&gt;&lt;b&gt;x" in html
    assert "token=%22%3E%3Cb%3Ex" in html  # the language switch keeps the link's token
    done = pages.render(
        "unsubscribe.html", "id", csrf="c", address_hash=HASHED, token="t", done=True
    )
    assert "<form" not in done.split("<main")[1] and "Kami tidak akan mengirim" in done
