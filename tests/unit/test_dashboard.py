"""Reporting's dashboard (issue 13 item 6): staff sessions (services/reporting/sessions.py), the
overdue table's rules (overdue.py, and the use cases in dashboard_handlers.py over a fake
store), and the page's filters, headers, static files and escaping (dashboard.py)."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest

from services.reporting import dashboard, dashboard_handlers, overdue, sessions

SECRET = "s" * 40
OLD_SECRET = "o" * 40
API_KEYS = {"admin-key-123": "ops"}
DEPARTMENT_KEYS = {"pupr-key-456": "dinas-pupr", "bpbd-key-789": "bpbd"}
NOW = 1_800_000_000


# ---------------------------------------------------------------- sessions


def test_a_key_names_its_admin_or_department_and_nothing_else():
    assert sessions.who(API_KEYS, DEPARTMENT_KEYS, "admin-key-123") == sessions.Staff("ops")
    pupr = sessions.who(API_KEYS, DEPARTMENT_KEYS, "pupr-key-456")
    assert pupr == sessions.Staff("dinas-pupr", "dinas-pupr") and not pupr.admin
    assert sessions.who(API_KEYS, DEPARTMENT_KEYS, "admin-key-12") is None
    assert sessions.who(API_KEYS, DEPARTMENT_KEYS, "") is None


def test_a_session_names_its_caller_and_holds_no_key():
    staff = sessions.Staff("dinas-pupr", "dinas-pupr")
    token = sessions.issue((SECRET,), staff, "pupr-key-456", now=NOW)
    assert "pupr-key-456" not in token
    body = token.split(".")[0]
    payload = json.loads(__import__("base64").urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload["n"] == "dinas-pupr" and payload["exp"] == NOW + sessions.MAX_AGE_S
    assert "pupr-key-456" not in json.dumps(payload)
    assert sessions.verify((SECRET,), token, API_KEYS, DEPARTMENT_KEYS, now=NOW + 60) == staff


def test_a_session_expires():
    token = sessions.issue((SECRET,), sessions.Staff("ops"), "admin-key-123", now=NOW)
    end = NOW + sessions.MAX_AGE_S
    assert sessions.verify((SECRET,), token, API_KEYS, DEPARTMENT_KEYS, now=end - 1)
    assert sessions.verify((SECRET,), token, API_KEYS, DEPARTMENT_KEYS, now=end) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: "x" + t,  # the payload
        lambda t: t.replace(".", ""),
        lambda t: t + "." + t,
        lambda t: "",
        lambda t: "a" * 700 + "." + "b",
    ],
)
def test_a_tampered_session_is_no_session(tamper):
    token = sessions.issue((SECRET,), sessions.Staff("ops"), "admin-key-123", now=NOW)
    assert sessions.verify((SECRET,), tamper(token), API_KEYS, DEPARTMENT_KEYS, now=NOW) is None


def test_a_forged_payload_cannot_make_a_department_an_admin():
    token = sessions.issue(
        (SECRET,), sessions.Staff("dinas-pupr", "dinas-pupr"), "pupr-key-456", now=NOW
    )
    import base64

    body = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["d"] = ""
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    assert (
        sessions.verify(
            (SECRET,), forged + "." + token.split(".")[1], API_KEYS, DEPARTMENT_KEYS, now=NOW
        )
        is None
    )


def test_secrets_rotate_the_first_signs_all_verify():
    token = sessions.issue((OLD_SECRET,), sessions.Staff("ops"), "admin-key-123", now=NOW)
    assert sessions.verify((SECRET, OLD_SECRET), token, API_KEYS, DEPARTMENT_KEYS, now=NOW)
    assert sessions.verify((SECRET,), token, API_KEYS, DEPARTMENT_KEYS, now=NOW) is None


def test_a_removed_or_changed_key_ends_its_sessions():
    token = sessions.issue(
        (SECRET,), sessions.Staff("dinas-pupr", "dinas-pupr"), "pupr-key-456", now=NOW
    )
    assert sessions.verify((SECRET,), token, API_KEYS, {}, now=NOW) is None
    changed = {"pupr-new-key": "dinas-pupr"}
    assert sessions.verify((SECRET,), token, API_KEYS, changed, now=NOW) is None
    # an admin client of the same name does not inherit a department's session
    assert sessions.verify((SECRET,), token, {"pupr-key-456": "dinas-pupr"}, {}, now=NOW) is None


# ---------------------------------------------------------------- the overdue table


def overdue_event(fid="SU-0000000001", department="dindagkop-ukm", category="economy_umkm"):
    return {
        "feedback_id": fid,
        "department_id": department,
        "department": "Dinas",
        "category": category,
        "priority": "normal",
        "status": "categorized",
        "due_at": "2026-12-02T03:00:00Z",
        "overdue_at": "2026-12-02T03:00:05Z",
    }


class FakeStore:
    """services/reporting/store.py's overdue functions over dicts."""

    def __init__(self):
        self.feedback, self.overdue = {}, {}

    def projection_of(self, db, fid):
        return self.feedback.get(fid)

    def put_overdue(self, db, row):
        self.overdue[row["_id"]] = dict(row)

    def drop_overdue(self, db, fid):
        self.overdue.pop(fid, None)

    def overdue_rows(self, db, limit):
        return [(r, self.feedback.get(i)) for i, r in list(self.overdue.items())[:limit]]


@pytest.fixture
def fake(monkeypatch):
    store = FakeStore()
    for name in ("projection_of", "put_overdue", "drop_overdue", "overdue_rows"):
        monkeypatch.setattr(dashboard_handlers.store, name, getattr(store, name))
    return store


def test_an_overdue_case_is_listed_once_and_a_close_takes_it_out(fake):
    fake.feedback["SU-0000000001"] = {"status": "categorized", "kelurahan": "Kauman", "text": "t"}
    for _ in range(2):  # a redelivery changes nothing
        assert dashboard_handlers.on_overdue(None, overdue_event())
    assert list(fake.overdue) == ["SU-0000000001"]
    assert fake.overdue["SU-0000000001"]["kelurahan"] == "Kauman"
    moved = {"feedback_id": "SU-0000000001", "to": "in_progress"}
    assert not dashboard_handlers.on_status_changed(None, moved)
    assert list(fake.overdue) == ["SU-0000000001"]
    for to in ("resolved", "closed", "rejected", "duplicate"):
        fake.put_overdue(None, overdue.row(overdue_event()))
        assert dashboard_handlers.on_status_changed(
            None, {"feedback_id": "SU-0000000001", "to": to}
        )
        assert fake.overdue == {}
        # a repeat of the close: still nothing there
        dashboard_handlers.on_status_changed(None, {"feedback_id": "SU-0000000001", "to": to})


def test_a_close_that_came_first_wins(fake):
    fake.feedback["SU-0000000001"] = {
        "status": "categorized",
        "status_seq": 3,
        "case_status": "resolved",
    }
    assert not dashboard_handlers.on_overdue(None, overdue_event())
    assert fake.overdue == {}
    # a row written before the projection knew of the close is not shown
    fake.put_overdue(None, overdue.row(overdue_event()))
    assert dashboard_handlers.overdue_table(None, None) == []


def test_admins_see_every_row_a_department_its_own_with_the_redacted_text(fake):
    fake.feedback["SU-0000000001"] = {"status": "categorized", "text": "Izin " + "<script>"}
    fake.feedback["SU-0000000002"] = {"status": "categorized", "text": "Jalan rusak"}
    fake.feedback["SU-0000000003"] = {
        "status": "categorized",
        "text": "Banjir",
        "assigned_department_id": "dinas-pupr",  # transferred after it went overdue
    }
    dashboard_handlers.on_overdue(None, overdue_event("SU-0000000001"))
    dashboard_handlers.on_overdue(None, overdue_event("SU-0000000002", "dinas-pupr", "roads"))
    dashboard_handlers.on_overdue(None, overdue_event("SU-0000000003", "bpbd", "flooding"))
    everything = dashboard_handlers.overdue_table(None, None)
    assert [r["id"] for r in everything] == ["SU-0000000001", "SU-0000000002", "SU-0000000003"]
    assert everything[0]["text"] == "Izin <script>"  # as data: the page puts it in as text
    pupr = dashboard_handlers.overdue_table(None, "dinas-pupr")
    assert [r["id"] for r in pupr] == ["SU-0000000002", "SU-0000000003"]
    assert dashboard_handlers.overdue_table(None, "bpbd") == []


def test_the_oldest_due_first():
    rows = [
        ({"_id": "b", "due_at": "2026-12-02T05:00:00Z"}, {"status": "categorized"}),
        ({"_id": "a", "due_at": "2026-12-01T05:00:00Z"}, None),
    ]
    assert [r["id"] for r in overdue.table(rows, None)] == ["a", "b"]


# ---------------------------------------------------------------- the page


def test_filters_keep_known_values_only():
    chosen = dashboard.filters(
        {"period": "7", "kecamatan": "Pekalongan Barat", "category": "roads", "department": "x"},
        date(2026, 12, 2),
    )
    assert chosen["from"] == "2026-11-26" and chosen["to"] == "2026-12-02"
    assert chosen["kecamatan"] == "Pekalongan Barat" and chosen["category"] == "roads"
    assert chosen["department"] == ""
    query = dashboard.api_query(chosen)
    assert query == "from=2026-11-26&to=2026-12-02&kecamatan=Pekalongan+Barat&category=roads"
    assert dashboard.filters({"period": "13"}, date(2026, 12, 2))["period"] == 30
    assert dashboard.interval(7) == "day" and dashboard.interval(90) == "week"
    assert dashboard.interval(365) == "month"


def test_the_tile_server_is_configurable_and_in_the_csp():
    assert dashboard.tile_url({}) == dashboard.DEFAULT_TILE_URL
    assert dashboard.tile_url({"SUARA_TILE_URL": "none"}) == ""
    custom = "https://{s}.tiles.pekalongankota.go.id/{z}/{x}/{y}.png"
    assert dashboard.tile_url({"SUARA_TILE_URL": custom}) == custom
    csp = dashboard.security_headers(custom)["Content-Security-Policy"]
    assert "img-src 'self' https://*.tiles.pekalongankota.go.id;" in csp
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert "img-src 'self';" in dashboard.security_headers("")["Content-Security-Policy"]
    for bad in ("ftp://x/{z}/{x}/{y}", "https://x/tiles.png", "https://x/{z}/{x}/{y}'; a"):
        with pytest.raises(dashboard.TileUrlError):
            dashboard.tile_url({"SUARA_TILE_URL": bad})


def test_only_the_allowed_static_files():
    assert dashboard.static_file("dashboard.js")[1].startswith("text/javascript")
    assert dashboard.static_file("leaflet.css")[1].startswith("text/css")
    for name in ("../dashboard.py", "package.json", "chart.js", ""):
        assert dashboard.static_file(name) is None


def test_the_words_are_in_both_languages_and_the_page_is_escaped():
    assert dashboard.language(None, None, "en-GB,en;q=0.9") == "en"
    assert dashboard.language("id", "en", "en") == "id"
    assert dashboard.language(None, None, "fr") == "id"
    chosen = dashboard.filters({}, date(2026, 12, 2))
    for lang in dashboard.LANGUAGES:
        html = dashboard.render(
            "dashboard.html",
            lang,
            csrf="tok",
            problem="<script>alert(1)</script>",
            **dashboard.page_context(lang, chosen, None, dashboard.DEFAULT_TILE_URL),
        )
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert f'<html lang="{lang}">' in html
        assert 'id="signin"' in html and 'id="overdue-table"' not in html
        data = re.search(r'<script type="application/json" id="labels">(.*?)</script>', html)
        labels = json.loads(data.group(1))
        assert labels["categories"]["roads"] and labels["words"]["updated"]
        # no inline script: every other script has a src
        assert len(re.findall(r"<script(?! type=\"application/json\")(?! src=)", html)) == 0
    staff = dashboard.render(
        "dashboard.html",
        "en",
        csrf="tok",
        problem=None,
        **dashboard.page_context("en", chosen, sessions.Staff("ops"), ""),
    )
    assert 'id="overdue-table"' in staff and "Signed in as ops" in staff


# ---------------------------------------------------------------- over HTTP (the adapter)

CONFIG = {
    "SECRET_KEYS": (SECRET,),
    "API_KEYS": API_KEYS,
    "DEPARTMENT_KEYS": DEPARTMENT_KEYS,
    "TRUSTED_PROXIES": frozenset({"127.0.0.1"}),
}


def http(method, path, *, cookies=None, form=None, headers=None, https=False, remote="10.0.0.5"):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    cookie = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    builder = EnvironBuilder(
        path=path,
        method=method,
        data=form,
        headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})},
        base_url="https://dasbor.example" if https else "http://dasbor.example",
        environ_base={"REMOTE_ADDR": remote},
    )
    return Request(builder.get_environ())


def set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


@pytest.fixture
def board(monkeypatch, fake):
    from services.intake import ratelimit
    from services.reporting import dashboard_web

    monkeypatch.setattr(dashboard_web, "_sign_ins", ratelimit.RateLimit(3, 600))
    return dashboard_web.Board(None, CONFIG)


def signed_in_form(board, key, **request):
    page = board.page(http("GET", "/dashboard", **request))
    nonce = set_cookies(page)["suara_dashboard_csrf"].split(";")[0].split("=", 1)[1]
    token = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return {"suara_dashboard_csrf": nonce}, {"csrf": token, "key": key}


def test_the_page_sends_its_headers_and_a_csrf_cookie(board):
    page = board.page(http("GET", "/dashboard?lang=en"))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    csrf_cookie = set_cookies(page)["suara_dashboard_csrf"]
    assert "HttpOnly" in csrf_cookie and "SameSite=Strict" in csrf_cookie
    assert "Path=/dashboard" in csrf_cookie and "Secure" not in csrf_cookie
    assert 'id="signin"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("request_", "secure"),
    [
        ({"https": True}, True),
        ({"headers": {"X-Forwarded-Proto": "https"}, "remote": "127.0.0.1"}, True),
        ({"headers": {"X-Forwarded-Proto": "https"}, "remote": "10.0.0.9"}, False),  # untrusted
        ({}, False),
    ],
)
def test_a_sign_in_sets_a_strict_httponly_session_cookie(board, request_, secure):
    cookies, form = signed_in_form(board, "pupr-key-456", **request_)
    done = board.sign_in(http("POST", "/dashboard/signin", cookies=cookies, form=form, **request_))
    assert done.status_code == 303 and done.headers["Location"].startswith("/dashboard?lang=")
    session = set_cookies(done)["suara_dashboard"]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/dashboard" in session
    assert f"Max-Age={sessions.MAX_AGE_S}" in session
    assert ("Secure" in session) is secure
    assert "pupr-key-456" not in session
    token = session.split(";")[0].split("=", 1)[1]
    staff = sessions.verify((SECRET,), token, API_KEYS, DEPARTMENT_KEYS)
    assert staff == sessions.Staff("dinas-pupr", "dinas-pupr")


def test_a_sign_in_needs_its_csrf_token_and_a_known_key(board):
    cookies, form = signed_in_form(board, "no-such-key")
    wrong = board.sign_in(http("POST", "/dashboard/signin", cookies=cookies, form=form))
    assert wrong.status_code == 401 and "suara_dashboard" not in set_cookies(wrong)
    forged = board.sign_in(
        http("POST", "/dashboard/signin", form={"csrf": form["csrf"], "key": "admin-key-123"})
    )
    assert forged.status_code == 403 and "suara_dashboard" not in set_cookies(forged)


def test_sign_ins_from_one_address_are_limited(board):
    statuses = []
    for _ in range(4):
        cookies, form = signed_in_form(board, "guess")
        statuses.append(board.sign_in(http("POST", "/d", cookies=cookies, form=form)).status_code)
    assert statuses == [401, 401, 401, 429]


def test_the_overdue_table_is_for_a_session_and_a_department_sees_its_own(board, fake):
    fake.feedback["SU-0000000001"] = {"status": "categorized", "text": "a"}
    fake.feedback["SU-0000000002"] = {"status": "categorized", "text": "b"}
    dashboard_handlers.on_overdue(None, overdue_event("SU-0000000001"))
    dashboard_handlers.on_overdue(None, overdue_event("SU-0000000002", "dinas-pupr", "roads"))
    assert board.overdue(http("GET", "/dashboard/overdue.json")).status_code == 401
    for key, expected in (("pupr-key-456", ["SU-0000000002"]), ("admin-key-123", None)):
        token = sessions.issue((SECRET,), sessions.who(API_KEYS, DEPARTMENT_KEYS, key), key)
        answer = board.overdue(http("GET", "/d", cookies={"suara_dashboard": token}))
        rows = json.loads(answer.get_data())["overdue"]
        assert answer.headers["Cache-Control"] == "no-store"
        assert [r["id"] for r in rows] == (expected or ["SU-0000000001", "SU-0000000002"])
    # a signed-in page shows the table; an expired cookie is dropped
    token = sessions.issue((SECRET,), sessions.Staff("ops"), "admin-key-123")
    page = board.page(http("GET", "/dashboard", cookies={"suara_dashboard": token}))
    assert 'id="overdue-table"' in page.get_data(as_text=True)
    long_ago = time.time() - sessions.MAX_AGE_S - 1
    old = sessions.issue((SECRET,), sessions.Staff("ops"), "admin-key-123", now=long_ago)
    page = board.page(http("GET", "/dashboard", cookies={"suara_dashboard": old}))
    assert 'id="signin"' in page.get_data(as_text=True)
    assert "Max-Age=0" in set_cookies(page)["suara_dashboard"]


def test_a_static_file_has_its_type_and_cache_headers(board):
    js = board.static(http("GET", "/dashboard/static/leaflet.js"), "leaflet.js")
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert js.headers["Cache-Control"] == "public, max-age=86400"
    assert board.static(http("GET", "/x"), "package-lock.json").status_code == 404
