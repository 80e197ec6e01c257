"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real
`python app.py`: each role logs in, sees its pages without console errors, is refused the
others, and the browser never reaches outside 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import IN_CI, REPO

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ECG_TEST_CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORD = "demo-password-for-tests"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROLE_LOGINS = {"doctor": "dr.demo", "staff": "staff.demo", "admin": "admin.demo"}
ROLE_MENUS = {
    "doctor": {"Home", "My account"},
    "staff": {"Home", "My account"},
    "admin": {"Home", "My account", "Users", "Audit log"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    port = free_port()
    instance = tmp_path_factory.mktemp("browser") / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    env.update(ECG_INSTANCE_DIR=str(instance), ECG_PORT=str(port), ECG_DEMO_PASSWORD=DEMO_PASSWORD)
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(process.communicate()[0].decode()) from None
            time.sleep(0.3)
    yield url
    process.terminate()
    process.communicate(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser context that records console errors and any request leaving 127.0.0.1."""

    def __init__(self, browser, width=1280, height=800):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            self.outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    def login(self, server: str, role: str, login_name: str, password: str) -> None:
        self.page.goto(server + "/")
        assert "/login" in self.page.url
        self.page.click(f"label[for=role-{role}]")  # as a person does
        self.page.fill("#username", login_name)
        self.page.fill("#password", password)
        self.page.click("#login-submit")

    def screenshot(self, name: str) -> None:
        self.page.evaluate("document.fonts.ready")  # icons and glyphs drawn, not pending
        self.page.screenshot(path=str(SCREENSHOTS / name))

    def close(self):
        self.context.close()


@pytest.mark.parametrize("role", ["doctor", "staff", "admin"])
def test_each_role_sees_its_pages_and_is_refused_the_others(server, browser, role):
    visit = Visit(browser)
    page = visit.page
    visit.login(server, role, ROLE_LOGINS[role], DEMO_PASSWORD)
    page.wait_for_selector("#home-welcome", timeout=20_000)
    assert page.url == server + "/"
    menu = {text.strip() for text in page.locator("nav .nav-link").all_inner_texts()}
    assert menu == ROLE_MENUS[role]
    assert page.get_by_text("Bootstrap").count() == 0
    # The vendored Bootstrap CSS is applied (the navbar is blue, not unstyled):
    navbar_color = page.eval_on_selector("nav.navbar", "el => getComputedStyle(el).backgroundColor")
    assert navbar_color not in ("rgba(0, 0, 0, 0)", "transparent")
    if role == "doctor":
        page.wait_for_selector("#home-patients")
        assert "Zoë Ñúñez" in page.inner_text("#home-patients")
        visit.screenshot("home-doctor.png")
    if role == "admin":
        page.click("#nav-admin-users")
        page.wait_for_selector("#users-table td", timeout=20_000)
        assert "dr.demo" in page.inner_text("#users-table")
        page.click("#nav-admin-audit")
        page.wait_for_selector("#audit-table td", timeout=20_000)
        assert "login" in page.inner_text("#audit-table")
        visit.screenshot("audit-log.png")
    page.click("#nav-account")
    page.wait_for_selector("#account-save")
    assert visit.errors == [], visit.errors

    if role != "admin":
        # Typing the address of an admin page: the server refuses it.
        response = page.goto(server + "/admin/users")
        assert response.status == 403
        assert "Not allowed" in page.inner_text("body")
        # Navigating inside the app (no full load): the router refuses too.
        page.goto(server + "/")
        page.wait_for_selector("#home-welcome")
        page.evaluate(
            "window.history.pushState({}, '', '/admin/audit');"
            "window.dispatchEvent(new PopStateEvent('popstate'))"
        )
        page.wait_for_selector("#forbidden-notice", timeout=20_000)
    assert visit.outside == [], visit.outside
    visit.close()


def test_logout_returns_to_the_login_page(server, browser):
    visit = Visit(browser)
    visit.login(server, "staff", "staff.demo", DEMO_PASSWORD)
    visit.page.wait_for_selector("#home-welcome")
    visit.page.click("#logout-button")
    visit.page.wait_for_url("**/login")
    visit.page.goto(server + "/account")
    assert "/login" in visit.page.url
    visit.close()


def test_a_failed_login_shows_one_generic_message(server, browser):
    visit = Visit(browser)
    visit.login(server, "doctor", "dr.demo", "not-the-password")
    message = visit.page.inner_text("#login-error")
    assert "name or password is wrong" in message
    visit.screenshot("login-failed.png")
    assert visit.outside == []
    visit.close()


def test_login_page_screenshot(server, browser):
    visit = Visit(browser)
    visit.page.goto(server + "/login")
    visit.screenshot("login.png")
    assert visit.errors == [] and visit.outside == []
    visit.close()
