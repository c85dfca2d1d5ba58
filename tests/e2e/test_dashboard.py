"""Reporting's dashboard (issue 13 item 6) in a real browser: Debian's chromium driven by
Selenium, as tests/e2e/test_web.py does. After a few cases (one overdue, one with a script in
its text), every number the page shows equals the API's for the page's own query; the console
has no error; axe-core finds no serious or critical violation; staff sign in with their key
and see the overdue table, the text escaped; a department sees its own rows only. Screenshots
under var/screenshots/dashboard-*.png."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
import requests

from tests.e2e.test_web import AXE, SHOTS, browser_paths
from tests.helpers import wait_for
from tests.support.client import API_KEY, SuaraClient

ADMIN = {"X-API-Key": API_KEY}
KECAMATAN = "Pekalongan Barat"
PLACES = ("Podosugih", "Medono")  # no other e2e test reports from here
SCRIPT = "<script>alert('x')</script>"
OVERDUE_TEXT = "Izin usaha UMKM batik saya belum keluar, NIB ditolak terus di OSS " + SCRIPT
TILE_HOST = "tile.openstreetmap.org"  # the default tile server, unreachable from here
WAIT_S = 30


@pytest.fixture(scope="module")
def seeded(platform):
    """Cases in the test's kelurahan: roads and waste, one resolved and rated, and a small
    business case (due 3.6 s after it comes: tests/e2e/conftest.py) that goes overdue."""
    client = SuaraClient(platform)
    ids = []
    texts = [
        "Jalan berlubang besar di Jl. Dr. Sutomo dekat sekolah, bahaya motor",
        "Sampah menumpuk di TPS dekat pasar sudah tiga hari, bau sekali",
        "Lampu penerangan jalan mati di gang masjid, gelap sekali malam hari",
    ]
    for n, text in enumerate(texts):
        where = {"kecamatan": KECAMATAN, "kelurahan": PLACES[n % 2]}
        r = client.submit(text, location=where)
        assert r.status_code == 201, r.text
        ids.append((r.json()["id"], r.json()["citizen_token"]))
    r = client.submit(OVERDUE_TEXT, location={"kecamatan": KECAMATAN, "kelurahan": PLACES[0]})
    assert r.status_code == 201, r.text
    late = r.json()["id"]
    for fid, _ in ids:
        client.wait_status(fid, timeout=60)
    fid, token = ids[0]
    assert client.move(fid, ADMIN, status="acknowledged").status_code == 200
    assert client.move(fid, ADMIN, status="resolved", note="Sudah ditambal").status_code == 200
    assert client.rate(fid, citizen_token=token, score=4).status_code == 200
    case = client.wait_status(late, timeout=60)
    wait_for(lambda: client.feedback(late)["overdue"], timeout=30, message="the case overdue")
    yield {"client": client, "late": late, "late_category": case["category"], "ids": ids}
    client.http.close()


class Dashboard:
    """Chromium, 1280 px wide, its console kept."""

    def __init__(self, base: str, language: str = "id-ID"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium, driver = browser_paths()
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--lang={language}",
            "--window-size=1280,1000",
        ):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.base = base

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def loaded(self) -> None:
        """The page's script has read the API and filled the page."""
        wait_for(
            lambda: self.find("#main").get_attribute("data-loaded"),
            timeout=WAIT_S,
            message="the dashboard to load: " + self.find("#status").text,
        )

    def value(self, css: str) -> str:
        return self.find(css).get_attribute("data-value")

    def errors(self) -> list[str]:
        """The console's errors, but the tile server's (unreachable from here)."""
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and TILE_HOST not in e["message"]
        ]

    def no_serious_violations(self) -> None:
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        results = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations),"
            "      e => done([{id: 'axe', impact: 'critical', help: String(e)}]));"
        )
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']}: {[n['html'][:120] for n in v['nodes'][:3]]}"
            for v in results
            if v.get("impact") in ("serious", "critical")
        ]
        assert not serious, serious

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        image = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (SHOTS / f"{name}.png").write_bytes(base64.b64decode(image["data"]))

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(can_browse, platform):
    board = Dashboard(platform.urls["reporting"])
    yield board
    board.close()


@pytest.fixture(scope="module")
def can_browse():
    if browser_paths() is None:
        pytest.skip("no chromium and chromedriver here (apt-get install chromium-driver)")
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: make install runs npm ci in tests/browser")


def api(client: SuaraClient, name: str, query: str) -> dict:
    r = client.http.get(client.url("reporting", f"/api/v1/reports/{name}?{query}"), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def sign_in(browser: Dashboard, key: str) -> None:
    browser.find("#key").send_keys(key)
    browser.find("#signin-button").click()
    wait_for(lambda: browser.all("#overdue-table"), timeout=WAIT_S, message="the staff view")


def test_the_public_view_shows_the_apis_numbers(seeded, browser):
    client = seeded["client"]
    browser.go(f"/dashboard?kecamatan={KECAMATAN.replace(' ', '+')}")
    assert browser.find("html").get_attribute("lang") == "id"
    browser.loaded()
    query = browser.find("#main").get_attribute("data-query")
    assert "kecamatan=Pekalongan+Barat" in query
    summary, sla = api(client, "summary", query), api(client, "sla", query)
    satisfaction = api(client, "satisfaction", query)
    assert summary["total"] >= 4
    assert browser.value("#total") == str(summary["total"])
    assert re.sub(r"\D", "", browser.find("#total").text) == str(summary["total"])
    for category, n in summary["by_category"].items():
        assert browser.value(f'[data-testid="category-{category}"]') == str(n)
    assert browser.value('[data-testid="channel-http"]') == str(summary["by_channel"]["http"])
    assert browser.value("#overdue-now") == str(sla["overdue_now"])
    assert satisfaction["mean_score"] is not None
    assert float(browser.value("#mean-score")) == satisfaction["mean_score"]
    shown = browser.find("#mean-score").text.replace(",", ".")
    assert float(shown) == satisfaction["mean_score"]
    spots = {s["kelurahan"]: s["total"] for s in api(client, "hotspots", query)["hotspots"]}
    for place in PLACES:
        assert browser.value(f'[data-testid="hotspot-{place}"]') == str(spots[place])
    # the map shows its points whether or not tiles arrive
    assert len(browser.all("#map path.leaflet-interactive")) >= len(PLACES)
    # aggregates only: no overdue table, no text
    assert not browser.all("#overdue-table")
    assert "UMKM batik" not in browser.find("body").text
    assert browser.errors() == []
    browser.no_serious_violations()
    browser.shot("dashboard-public")


def test_staff_sign_in_and_see_the_overdue_table_escaped(seeded, browser):
    late = seeded["late"]
    browser.go("/dashboard?lang=en")
    browser.loaded()
    sign_in(browser, API_KEY)
    browser.loaded()
    assert "Signed in as e2e" in browser.find("#signed-in").text

    def row():
        for tr in browser.all('[data-testid="overdue-row"]'):
            if tr.text.startswith(late):
                return tr
        browser.driver.refresh()
        browser.loaded()
        return None

    found = wait_for(row, timeout=WAIT_S, message="the overdue case in the table")
    assert SCRIPT in found.find_element("css selector", ".case-text").text
    injected = (
        "return document.querySelectorAll('script:not([src]):not([type=\"application/json\"])')"
    )
    assert browser.driver.execute_script(injected + ".length") == 0
    assert browser.errors() == []
    browser.no_serious_violations()
    browser.shot("dashboard-staff")

    browser.find("#signout").click()
    wait_for(lambda: browser.all("#signin"), timeout=WAIT_S, message="signed out")


def test_the_page_refreshes_itself_in_the_browsers_language(seeded, can_browse, platform):
    client = seeded["client"]
    board = Dashboard(platform.urls["reporting"], language="en-GB")
    try:
        board.go(f"/dashboard?kecamatan={KECAMATAN.replace(' ', '+')}")
        assert board.find("html").get_attribute("lang") == "en"
        assert board.find("#headline-title").text.startswith("At a glance")
        board.loaded()
        assert board.find("#main").get_attribute("data-refresh") == "60"
        before = int(board.value("#total"))
        board.driver.execute_script("window.notReloaded = true;")
        where = {"kecamatan": KECAMATAN, "kelurahan": PLACES[1]}
        r = client.submit("Saluran air tersumbat di depan balai kelurahan Medono", location=where)
        assert r.status_code == 201, r.text
        wait_for(
            lambda: int(board.value("#total")) == before + 1,
            timeout=sessions_refresh_wait(),
            message="the page to count the new case by itself",
        )
        assert board.driver.execute_script("return window.notReloaded === true")
        assert board.errors() == []
    finally:
        board.close()


def sessions_refresh_wait() -> float:
    return 60 + WAIT_S  # the page reads the API again every 60 s


def test_a_department_sees_its_own_overdue_rows_only(seeded, platform):
    base = platform.urls["reporting"]
    with requests.Session() as session:
        signed_in(session, base, "pupr-secret")
        rows = session.get(f"{base}/dashboard/overdue.json", timeout=10).json()
        assert rows["department_id"] == "dinas-pupr"
        assert all(r["department_id"] == "dinas-pupr" for r in rows["overdue"])
        assert seeded["late"] not in {r["id"] for r in rows["overdue"]}
    with requests.Session() as session:
        signed_in(session, base, API_KEY)
        ids = {r["id"] for r in session.get(f"{base}/dashboard/overdue.json").json()["overdue"]}
        assert seeded["late"] in ids


def signed_in(session: requests.Session, base: str, key: str) -> requests.Response:
    page = session.get(f"{base}/dashboard", timeout=10)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = session.post(
        f"{base}/dashboard/signin", data={"csrf": token, "key": key}, allow_redirects=False
    )
    assert done.status_code == 303, done.text
    return done


def test_the_sign_in_is_guarded_and_the_cookie_holds_no_key(platform):
    base = platform.urls["reporting"]
    assert requests.get(f"{base}/dashboard/overdue.json", timeout=10).status_code == 401
    forged = requests.post(f"{base}/dashboard/signin", data={"key": API_KEY, "csrf": "a.1.b.c"})
    assert forged.status_code == 403 and "suara_dashboard=" not in forged.headers.get(
        "Set-Cookie", ""
    )
    with requests.Session() as session:
        page = session.get(f"{base}/dashboard", timeout=10)
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp and TILE_HOST in csp
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        wrong = session.post(f"{base}/dashboard/signin", data={"csrf": token, "key": "nope"})
        assert wrong.status_code == 401
        done = signed_in(session, base, API_KEY)
        cookie = done.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
        assert API_KEY not in cookie
        assert session.get(f"{base}/dashboard/overdue.json").status_code == 200
        # a tampered session is no session
        value = session.cookies.get("suara_dashboard")
        assert requests.get(
            f"{base}/dashboard/overdue.json", cookies={"suara_dashboard": value}, timeout=10
        ).ok
        tampered = {"suara_dashboard": value[:-2] + ("xx" if not value.endswith("xx") else "yy")}
        r = requests.get(f"{base}/dashboard/overdue.json", cookies=tampered, timeout=10)
        assert r.status_code == 401


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("dashboard.js", 200, "text/javascript"),
        ("chart.umd.min.js", 200, "text/javascript"),
        ("leaflet.css", 200, "text/css"),
        ("package.json", 404, "text/plain"),
        ("..%2Fdashboard.py", 404, None),
        (f"x{uuid.uuid4().hex[:6]}.js", 404, "text/plain"),
    ],
)
def test_only_the_allowed_static_files_are_served(platform, name, status, kind):
    r = requests.get(f"{platform.urls['reporting']}/dashboard/static/{name}", timeout=10)
    assert r.status_code == status
    if kind:
        assert r.headers["Content-Type"].startswith(kind)
    if status == 200:
        assert r.headers["Cache-Control"].startswith("public, max-age=")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
