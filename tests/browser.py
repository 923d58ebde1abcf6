"""Playwright fixtures shared by the browser tests (Debian's Chromium, no download)."""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from tests.conftest import need

SHOTS = Path("/tmp/shots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def _chromium():
    """One headless Chromium for a module's browser tests: starting it costs a second.

    Each ``browser.new_page()`` or ``new_context()`` of a test is a context of
    its own (cookies, storage), closed after the test.
    """
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or "/usr/bin/chromium"
    need(os.path.exists(path), "Debian's chromium is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests and their fixtures make between pages are still plain synchronous code.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()


@pytest.fixture
def browser(_chromium):
    """The module's headless Chromium; screenshots of the tests go to /tmp/shots."""
    try:
        yield _chromium
    finally:
        for context in _chromium.contexts:
            context.close()
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
