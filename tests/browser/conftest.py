"""Browser-test fixtures: a real `python app.py` on a free port with demo data (plus a second
doctor), and Debian's headless Chromium driven by Playwright (never a downloaded browser)."""

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    """The app's URL; demo accounts dr.demo, staff.demo, admin.demo and dr.other share DEMO_PASSWORD."""
    port = free_port()
    instance = tmp_path_factory.mktemp("browser") / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    env.update(ECG_INSTANCE_DIR=str(instance), ECG_PORT=str(port), ECG_DEMO_PASSWORD=DEMO_PASSWORD)
    # A second doctor, with no patients of their own (before the first start seeds the demo).
    subprocess.run(
        [sys.executable, "-m", "dashboard", "seed-demo"], cwd=REPO, env=env, check=True, capture_output=True
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "create-user",
            "--role",
            "doctor",
            "--login",
            "dr.other",
            "--name",
            "Dr. Other",
        ],
        cwd=REPO,
        env={**env, "ECG_NEW_PASSWORD": DEMO_PASSWORD},
        check=True,
        capture_output=True,
    )
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
