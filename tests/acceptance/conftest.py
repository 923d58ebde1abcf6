"""Fixtures of the acceptance suite: the production stack, Chromium, visitors and staff.

The stack and the browser are package-scoped: they start once, for the first
test of tests/acceptance/, and stop after its last, so the rest of a `make
test` run neither waits for them nor shares the machine with them.
"""

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.acceptance.stack import CHROMIUM_ARGS, DEMO_PASSWORD, Stack
from tests.conftest import need

# The running stack, for the failure reports of pytest_runtest_makereport.
_running: list[Stack] = []


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    """The site on its production stack (tests/acceptance/stack.py says what it offers)."""
    stack = Stack()
    try:
        stack.start()
    except BaseException:
        print(stack.logs_tail())
        stack.stop()
        raise
    _running.append(stack)
    try:
        yield stack
    finally:
        _running.remove(stack)
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the end of every site process's log to a failure's report."""
    report = yield
    if report.failed and _running:
        report.sections.append(("site processes' logs", _running[0].logs_tail()))
    return report


@pytest.fixture(autouse=True)
def _each_test_on_a_whole_stack(request) -> Iterator[None]:
    """Each test on the stack starts with no rate-limit counts, and fails if the site answered 500.

    Every visitor of the suite comes from 127.0.0.1, where real people come from
    many addresses: the counts of one test's people must not refuse the next
    test's. Within a test the limits stand as production sets them
    (ENTRY_RATE_LIMIT 10/h, LOGIN_RATE_LIMIT 20/10m). A test that stops a
    service gets it back afterwards, whatever happened.
    """
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    stack.forget_rate_limits()
    mark = stack.mark()
    yield
    stack.mend()
    errors = stack.server_errors(mark)
    if errors:
        pytest.fail("The site answered 500:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(scope="package")
def acceptance_browser():
    """Debian's Chromium, headless, shared by the package's tests (never a download)."""
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or "/usr/bin/chromium"
    need(os.path.exists(path), "Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def browser(acceptance_browser):
    """The package's Chromium, under the name tests/browser.py gives its own."""
    return acceptance_browser


@pytest.fixture
def new_visitor(acceptance_browser, stack) -> Iterator[Callable]:
    """``new_visitor(locale="en-GB")``: a fresh browser context, closed at the test's end.

    Its own cookies; Accept-Language and navigator.language from ``locale``;
    relative URLs (``page.goto("/contests/cern-tweetup/")``) go to the stack.
    """
    contexts = []

    def open_context(locale: str = "en-GB"):
        context = acceptance_browser.new_context(
            locale=locale, viewport={"width": 1280, "height": 900}, base_url=stack.base_url
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def staff_page(new_visitor) -> Callable:
    """``staff_page(username, password="tweetup-demo", locale="en-GB")``: a page logged in.

    It logs in at /admin/login/ from a browser context of its own, whose
    ``locale`` is as ``new_visitor``'s: the admin and the staff pages speak its
    language.
    """

    def log_in(username: str, password: str = DEMO_PASSWORD, *, locale: str = "en-GB"):
        page = new_visitor(locale).new_page()
        page.goto("/admin/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        with page.expect_navigation():
            page.locator("input[type=submit]").click()
        if "/login/" in page.url:
            message = page.locator("#content, body").first.inner_text()
            pytest.fail(f"{username} could not log in: {message}")
        return page

    return log_in
