"""Playwright fixtures shared by the browser tests (Debian's Chromium, no download)."""

from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

SHOTS = Path("/tmp/shots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser(chromium_path, monkeypatch):
    """A headless Chromium; screenshots of the tests go to /tmp/shots."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between pages are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get connections of
            # their own; close them, or the test database cannot be dropped.
            connections.close_all()


@pytest.fixture
def browser_page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    return page


def log_in(page, live_server, username: str, password: str = "pw") -> None:
    """Log in through the admin's login form and wait until it lets the user in."""
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
