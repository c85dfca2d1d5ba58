"""The citizen's web pages in a real browser (issue 11): Debian's chromium driven by Selenium,
at 360 px wide. A report with a photo goes through the form, is followed by its tracking link,
moved by its department and rated; axe-core finds no serious or critical violation on any
page; a screenshot of each page is saved under var/screenshots/."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.helpers import wait_for
from tests.support.client import API_KEY

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
PUPR = {"X-API-Key": "pupr-secret"}
PHONE = {"width": 360, "height": 740}
WAIT_S = 20


def browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


class Browser:
    """Debian's chromium through Selenium and chromedriver, as a phone 360 px wide."""

    def __init__(self, base: str, address: str, language: str = "id-ID"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium, driver = browser_paths()
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--lang={language}"):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {**PHONE, "pixelRatio": 2}}
        )
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.driver.implicitly_wait(2)
        # each test is its own client address (the proxy's X-Real-IP): the form's limit counts
        # per address
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"X-Real-IP": address}}
        )
        self.base = base

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, css: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, WAIT_S).until(
                expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
            )
        except Exception:
            raise AssertionError(
                f"{css} did not appear on {self.driver.current_url}: "
                f"{self.driver.page_source[:3000]}"
            ) from None

    def label(self, for_id: str) -> str:
        return self.find(f'label[for="{for_id}"]').text

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def select_text(self, css: str, text: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_visible_text(text)

    def submit(self, css: str = 'form[method="post"] button[type="submit"]') -> None:
        """Click and wait for the next page (the old one's nodes are gone)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.find("html")
        self.find(css).click()

        def gone(driver) -> bool:
            try:
                old.is_enabled()
            except WebDriverException:  # stale, or "does not belong to the document"
                return driver.execute_script("return document.readyState") == "complete"
            return False

        WebDriverWait(self.driver, WAIT_S, ignored_exceptions=(WebDriverException,)).until(gone)

    def lang(self) -> str:
        return self.find("html").get_attribute("lang")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        image = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (SHOTS / f"{name}.png").write_bytes(base64.b64decode(image["data"]))

    def no_serious_violations(self) -> None:
        """axe-core on the page: no serious or critical violation (WCAG 2.1 AA rules)."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        results = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations),"
            "      e => done([{id: 'axe', impact: 'critical', help: String(e)}]));"
        )
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']}"
            for v in results
            if v.get("impact") in ("serious", "critical")
        ]
        assert not serious, serious

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="module")
def can_browse():
    if browser_paths() is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium/chromedriver: .ci/run installs Debian's packages")
        pytest.skip("no chromium and chromedriver here (apt-get install chromium-driver)")
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: make install runs npm ci in tests/browser")


@pytest.fixture
def page(can_browse, client, request):
    address = f"198.51.100.{abs(hash(request.node.name)) % 250 + 1}"
    browser = Browser(client.url("intake", ""), address)
    yield browser
    browser.close()


def photo_file(tmp_path: Path, size=(800, 600), name="jalan.jpg") -> Path:
    exif = Image.Exif()
    exif[0x0110] = "Kamera HP Murah"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 53.0, 0.0)
    path = tmp_path / name
    Image.new("RGB", size, (90, 90, 90)).save(path, "JPEG", exif=exif.tobytes())
    return path


def test_a_citizen_reports_with_a_photo_follows_it_and_rates_it(page, client, tmp_path):
    page.go("/")
    assert page.lang() == "id"
    assert page.label("text") == "Apa yang terjadi, dan di mana?"
    page.no_serious_violations()
    page.shot("01-form")
    assert page.driver.execute_script("return document.documentElement.scrollWidth") <= 360

    page.find("#text").send_keys(
        "Jalan berlubang besar di depan pasar Kauman, sudah dua motor jatuh <b>minggu ini</b>"
    )
    page.select("#category", "roads")
    page.select_text("#kelurahan", "Kauman")
    page.find("#address").send_keys("Depan Pasar Kauman")
    page.find("#photos").send_keys(str(photo_file(tmp_path)))
    page.find("#name").send_keys("Budi Santoso")
    page.find("#phone").send_keys("0812-1111-2222")
    page.submit()

    feedback_id = page.wait("#tracking-id").text
    assert re.fullmatch(r"SU-[0-9A-Z]{10}", feedback_id)
    link = page.find("#tracking-link")
    assert "token=" in link.get_attribute("href")
    page.no_serious_violations()
    page.shot("02-receipt")

    link.click()
    page.wait("#timeline")  # a link, not a form: its page has the timeline
    # the citizen's own words, escaped: the markup shows as text
    assert "<b>minggu ini</b>" in page.find("#report-text").text
    image = page.wait(".photos img")
    wait_for(
        lambda: (
            page.driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", image
            )
            == 800
        ),
        timeout=10,
        message="the photo to load",
    )

    def categorized():
        page.driver.refresh()
        return "Diteruskan ke dinas" in page.find("#status").text

    wait_for(categorized, timeout=30, message="the case to be categorized")
    page.no_serious_violations()
    page.shot("03-track")

    # the photo kept is re-encoded without the camera's EXIF (GPS included)
    src = page.find(".photos img").get_attribute("src")
    kept = requests.get(src, timeout=10)
    assert kept.status_code == 200 and kept.headers["Content-Type"] == "image/jpeg"
    assert b"Kamera HP Murah" not in kept.content
    assert not Image.open(io.BytesIO(kept.content)).getexif()
    assert requests.get(src.split("?")[0], timeout=10).status_code == 403

    # the department works it: the page follows
    for status in ("acknowledged", "in_progress"):
        assert client.move(feedback_id, PUPR, status=status).status_code == 200
    done = client.move(feedback_id, PUPR, status="resolved", note="Lubang sudah ditambal aspal")
    assert done.status_code == 200, done.text
    page.driver.refresh()
    assert "Selesai" in page.find("#status").text
    assert "Lubang sudah ditambal aspal" in page.find("#timeline").text
    page.shot("04-resolved")
    page.no_serious_violations()

    page.find('label[for="score-5"]').click()
    page.find("#comment").send_keys("Cepat sekali, terima kasih")
    page.submit('form[action*="/rating"] button')
    page.wait(".notice")
    assert "Ditutup" in page.find("#status").text
    assert client.feedback(feedback_id)["rating"] == {"score": 5}
    page.shot("05-rated")
    public = client.feedback(feedback_id)
    assert public["channel"] == "web" and public["category"] == "roads"


def test_english_by_the_switch_and_by_the_browsers_language(can_browse, client):
    browser = Browser(client.url("intake", ""), "198.51.100.251", language="en-GB")
    try:
        browser.go("/")
        assert browser.lang() == "en"
        assert browser.find('button[type="submit"]').text == "Send report"
        browser.find("a.switch").click()
        browser.wait('html[lang="id"]')
        browser.go("/")  # the choice is remembered
        assert browser.find('button[type="submit"]').text == "Kirim laporan"
        browser.shot("06-form-id-after-switch")
        browser.go("/track?lang=en")
        assert browser.lang() == "en"
        browser.no_serious_violations()
        browser.shot("07-track-lookup-en")
    finally:
        browser.close()


def test_the_unsubscribe_page_asks_then_confirms(page, client):
    address = f"web-{uuid.uuid4().hex[:10]}@example.id"
    r = client.submit("Lampu jalan mati di Jl. Bandung", contact={"email": address})
    reply = client.http.get(
        client.url("intake", f"/api/v1/replies/{r.json()['id']}"),
        headers={"X-API-Key": API_KEY},
        timeout=10,
    ).json()
    page.driver.get(reply["unsubscribe_url"])
    assert page.find("#unsubscribe").text == "Berhenti berlangganan"
    page.no_serious_violations()
    page.shot("09-unsubscribe")
    page.submit("#unsubscribe")
    assert "tidak akan mengirim e-mail lagi" in page.wait("#unsubscribed").text
    page.no_serious_violations()
    page.shot("10-unsubscribed")


def test_big_files_non_images_and_scripts_are_refused_or_neutralised(page, tmp_path):
    page.go("/")
    big = tmp_path / "besar.jpg"
    big.write_bytes(b"\xff\xd8\xff" + os.urandom(6_000_000))
    page.find("#text").send_keys("<script>alert('x')</script> sampah")
    page.find("#photos").send_keys(str(big))
    page.submit()
    errors = page.wait("#errors")
    assert "lebih dari 5 MB" in errors.text
    # the text comes back escaped, as text: no script ran, none is in the page
    assert page.find("#text").get_attribute("value").startswith("<script>")
    assert (
        page.driver.execute_script("return document.querySelectorAll('script:not([src])').length")
        == 0
    )
    page.no_serious_violations()
    page.shot("08-form-errors")

    not_an_image = tmp_path / "foto.jpg"
    not_an_image.write_text("#!/bin/sh\necho bukan foto\n")
    page.find("#photos").send_keys(str(not_an_image))
    page.submit()
    assert "bukan foto" in page.wait("#errors").text


def test_forms_need_their_csrf_token_scripts_fill_the_honeypot_and_addresses_are_limited(client):
    url = client.url("intake", "/lapor")
    forged = {"text": "jalan rusak parah", "csrf": "x.1.p.y"}
    # from an address of its own: the loopback's form budget is shared with earlier tests
    no_cookie = requests.post(url, data=forged, headers={"X-Real-IP": "203.0.113.77"}, timeout=10)
    assert no_cookie.status_code == 403
    assert "kedaluwarsa" in no_cookie.text

    with requests.Session() as session:
        csrf_and_limits(client, session, url)


def csrf_and_limits(client, session, url):
    form = session.get(client.url("intake", "/"), timeout=10)
    assert form.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert form.headers["X-Frame-Options"] == "DENY"
    assert (
        "HttpOnly" in form.headers["Set-Cookie"] and "SameSite=Strict" in form.headers["Set-Cookie"]
    )
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    headers = {"X-Real-IP": "203.0.113.9"}
    trap = session.post(
        url, data={"text": "jalan rusak", "csrf": token, "website": "http://spam"}, headers=headers
    )
    assert trap.status_code == 400
    statuses = []
    for n in range(6):
        form = session.get(client.url("intake", "/"), timeout=10)
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        r = session.post(url, data={"text": f"lampu mati gang {n}", "csrf": token}, headers=headers)
        statuses.append(r.status_code)
    # the honeypot counted too: 5 per 10 minutes from one address
    assert statuses == [200, 200, 200, 200, 429, 429]
    again = session.post(
        url, data={"text": "lampu mati", "csrf": token}, headers={"X-Real-IP": "203.0.113.10"}
    )
    assert again.status_code == 200


def test_the_same_form_sent_twice_is_one_report(client):
    with requests.Session() as session:
        sent_twice(client, session)


def sent_twice(client, session):
    form = session.get(client.url("intake", "/"), timeout=10)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    body = {"text": "Sampah menumpuk di TPS Klego, bau sekali", "csrf": token}
    headers = {"X-Real-IP": "203.0.113.20"}
    first = session.post(client.url("intake", "/lapor"), data=body, headers=headers)
    second = session.post(client.url("intake", "/lapor"), data=body, headers=headers)
    ids = [
        re.search(r'id="tracking-id">(SU-[0-9A-Z]{10})<', r.text).group(1) for r in (first, second)
    ]
    assert ids[0] == ids[1]
