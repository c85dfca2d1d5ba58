"""The web pages' pure parts: language, the report form, CSRF tokens, the rate limit."""

from datetime import UTC, datetime

import pytest

from services.intake import csrf, pages, ratelimit

KEYS = ("k" * 32,)


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "chosen"),
    [
        (None, None, None, "id"),
        (None, None, "en-GB,en;q=0.9", "en"),
        (None, "id", "en-GB", "id"),
        ("en", "id", "id-ID", "en"),
        ("fr", None, "fr-FR, en;q=0.5", "en"),
        (None, None, "jv-ID,fr", "id"),
    ],
)
def test_the_language_is_the_switch_then_the_cookie_then_the_browsers(
    query, cookie, accept, chosen
):
    assert pages.language(query, cookie, accept) == chosen


def test_every_word_exists_in_both_languages():
    for key, words in pages.messages().items():
        assert words["id"].strip() and words["en"].strip(), key


def test_a_report_becomes_a_submission_with_the_kelurahans_kecamatan():
    report = pages.read_report(
        {
            "text": "Rob masuk rumah",
            "kelurahan": "Panjang Wetan",
            "lat": "-6.866",
            "lon": "109.683",
            "name": "Siti",
            "email": "siti@example.id",
        },
        "id",
        1,
    )
    assert report.errors == {}
    assert report.submission == {
        "text": "Rob masuk rumah",
        "location": {
            "kecamatan": "Pekalongan Utara",
            "kelurahan": "Panjang Wetan",
            "address": None,
            "lat": -6.866,
            "lon": 109.683,
        },
        "contact": {"name": "Siti", "email": "siti@example.id", "language": "id"},
        "category": None,
    }


def test_an_anonymous_report_drops_the_contact():
    report = pages.read_report(
        {"text": "Lampu mati", "name": "Siti", "phone": "08121111", "anonymous": "1"}, "id", 0
    )
    assert report.submission["contact"] is None and report.submission["location"] is None


def test_what_is_wrong_is_said_in_the_pages_language():
    report = pages.read_report(
        {"text": "ab", "kelurahan": "Atlantis", "email": "x@", "category": "dragons"}, "en", 4
    )
    assert report.submission is None
    assert report.errors == {
        "text": "write at least 3 characters",
        "kelurahan": "not valid",
        "email": "not an e-mail address",
        "category": "not valid",
        "photos": "at most 3 photos",
    }


def test_pages_escape_what_citizens_wrote():
    report = pages.read_report({"text": '<img src=x onerror="alert(1)">'}, "id", 9)
    html = pages.render("form.html", "id", csrf="t", **pages.form_context("id", report, 5))
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_times_read_as_pekalongan_reads_them():
    at = datetime(2026, 12, 2, 7, 5, tzinfo=UTC)
    assert pages.city_time(at, "id") == "2 Des 2026 14.05 WIB"
    assert pages.city_time("2026-12-02T07:05:00.000Z", "en") == "2 Dec 2026 14:05 WIB"


def test_a_csrf_token_holds_for_its_cookie_for_two_hours():
    nonce, token = csrf.issue(KEYS, now=1000)
    assert csrf.valid(KEYS, nonce, token, now=1000 + 3600)
    assert not csrf.valid(KEYS, nonce, token, now=1000 + csrf.MAX_AGE_S + 1)
    assert not csrf.valid(KEYS, "another-cookie-nonce00", token, now=1001)
    assert not csrf.valid(("o" * 32,), nonce, token, now=1001)
    forged = token.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    assert not csrf.valid(KEYS, nonce, forged, now=1001)
    assert not csrf.valid(KEYS, None, token) and not csrf.valid(KEYS, nonce, "garbage")
    again = csrf.issue(KEYS, nonce, now=1000)
    assert again[0] == nonce and again[1] != token  # the cookie's nonce kept; a new page
    rotated = ("n" * 32, *KEYS)
    assert csrf.valid(rotated, nonce, token, now=1001)


def test_the_rate_limit_counts_per_address_within_its_window():
    now = [0.0]
    limit = ratelimit.RateLimit(2, 60, clock=lambda: now[0])
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a"), limit.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    now[0] = 61
    assert limit.allow("a")
