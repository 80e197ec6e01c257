"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real
`python app.py`: each role logs in, sees its pages without console errors, is refused the
others, and the browser never reaches outside 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DEMO_PASSWORD, Visit

pytestmark = pytest.mark.browser

ROLE_LOGINS = {"doctor": "dr.demo", "staff": "staff.demo", "admin": "admin.demo"}
ROLE_MENUS = {
    "doctor": {"Home", "Patients", "Analyse ECG", "Reports", "Monitor wall", "My account"},
    "staff": {"Home", "Patients", "Reports", "Monitor wall", "My account"},
    "admin": {"Home", "Patients", "Monitor wall", "My account", "Users", "Monitoring", "Audit log"},
}


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
