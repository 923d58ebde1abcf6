"""People enter the open contest on the production stack, in Chromium, and get their ticket.

The contest page is visited first by someone else in each language, so that
its cached entry form is warm, as it is for nearly every real visitor: a form
cached with its first visitor's CSRF token refused everyone after them while
every in-process test passed.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.acceptance.stack import (
    CHROMIUM_ARGS,
    HttpVisitor,
    Person,
    fill_entry_form,
    fill_entry_form_async,
    links,
)
from tests.html_forms import BrowserForm

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(600)]

CONTEST = "/contests/cern-tweetup/"
SUBJECT = {"en": "Confirm your entry", "fr": "Confirmez votre participation"}


@pytest.fixture
def warm_contest(new_visitor):
    """Someone has looked at the contest page in English and in French before."""
    for locale, language in (("en-GB", "en"), ("fr-CH", "fr")):
        page = new_visitor(locale).new_page()
        for _ in range(3):
            page.goto(CONTEST)
        assert page.locator("html").get_attribute("lang") == language
        page.context.close()


def confirmation_link(stack, message) -> str:
    [link] = [url for url in links(message) if "/contests/confirm/" in url]
    assert link.startswith(stack.base_url + "/"), link
    return link


def entry_row(stack, person: Person) -> tuple:
    [row] = stack.query(
        "SELECT ticket, confirmed_at, language FROM contests_entry WHERE email_normalized = %s",
        (person.email.lower(),),
    )
    return row


def submit_entry(page, stack, person: Person) -> None:
    """Fill in the form on the contest page, press the button, land on the thanks page."""
    fill_entry_form(page, person)
    with page.expect_navigation():
        page.locator("#entry-form [type=submit]").click()
    thanks = f"{stack.base_url}{CONTEST}thanks/"
    assert page.url.split("#")[0] == thanks, page.locator("main").inner_text()


def confirm_and_see_the_ticket(page, stack, person: Person) -> str:
    message = stack.mail.wait_for(person.email, SUBJECT[person.language])
    page.goto(confirmation_link(stack, message))
    # Opening the link only asks to confirm (mail scanners open links too).
    assert entry_row(stack, person)[1] is None
    with page.expect_navigation():
        page.locator("#confirm-form [type=submit]").click()
    ticket = page.locator("#ticket").inner_text().strip()
    stored_ticket, confirmed_at, language = entry_row(stack, person)
    assert (ticket, language) == (stored_ticket, person.language)
    assert confirmed_at is not None
    return ticket


def test_an_entrant_enters_in_english_confirms_and_sees_the_ticket(
    stack, warm_contest, new_visitor
):
    page = new_visitor("en-GB").new_page()
    page.goto(CONTEST)
    assert page.locator("h1").inner_text().startswith("CERN TweetUp")
    person = Person.unique("Ada Lovelace")
    submit_entry(page, stack, person)
    assert page.locator("h1").inner_text() == "Check your mailbox"

    confirm_and_see_the_ticket(page, stack, person)
    assert page.locator("h1").inner_text() == "Your entry is confirmed"
    assert page.get_by_role("link", name="Mastodon").is_visible()
    assert stack.mail.count(to=person.email) == 1


def test_an_entrant_switches_to_french_enters_and_sees_the_ticket(stack, warm_contest, new_visitor):
    page = new_visitor("en-GB").new_page()
    page.goto(CONTEST)
    assert page.locator("#entry-form [type=submit]").input_value() == "Enter the contest"
    with page.expect_navigation():
        page.locator("#language-select").select_option("fr")
    assert page.url == stack.base_url + CONTEST
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#entry-form [type=submit]").input_value() == "Participer au concours"
    # The form offers mail in the language of the page.
    assert page.locator("#entry-form [name=language]").input_value() == "fr"

    person = Person.unique("Marie Curie", language="fr")
    submit_entry(page, stack, person)
    assert page.locator("html").get_attribute("lang") == "fr"

    confirm_and_see_the_ticket(page, stack, person)
    assert page.locator("h1").inner_text() == "Votre participation est confirmée"
    assert stack.mail.count(to=person.email) == 1


def test_five_people_one_after_another_each_enter_once(stack, warm_contest, new_visitor):
    people = [
        Person.unique(name)
        for name in (
            "Rosalind Franklin",
            "Lise Meitner",
            "Emmy Noether",
            "Vera Rubin",
            "Chien-Shiung Wu",
        )
    ]
    pages = []
    for person in people:
        page = new_visitor("en-GB").new_page()
        page.goto(CONTEST)
        submit_entry(page, stack, person)
        pages.append(page)
    tickets = {
        confirm_and_see_the_ticket(p, stack, person)
        for p, person in zip(pages, people, strict=True)
    }
    assert len(tickets) == 5
    assert [stack.mail.count(to=person.email) for person in people] == [1] * 5


async def _enter_together(base_url: str, people: list[Person]) -> list[str]:
    """Each person in a browser context of their own; all press the button at once."""
    from playwright.async_api import async_playwright

    ready = asyncio.Barrier(len(people))

    async def enter(browser, person: Person) -> str:
        context = await browser.new_context(locale="en-GB", base_url=base_url)
        context.set_default_timeout(30_000)
        page = await context.new_page()
        await page.goto(CONTEST)
        await fill_entry_form_async(page, person)
        await ready.wait()
        async with page.expect_navigation():
            await page.locator("#entry-form [type=submit]").click()
        url = page.url
        await context.close()
        return url

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            return await asyncio.gather(*(enter(browser, person) for person in people))
        finally:
            await browser.close()


def test_five_people_at_the_same_time_each_enter_once(stack, warm_contest, new_visitor):
    people = [
        Person.unique(name)
        for name in (
            "Grace Hopper",
            "Katherine Johnson",
            "Dorothy Vaughan",
            "Mary Jackson",
            "Margaret Hamilton",
        )
    ]
    # Playwright's sync API (the package's browser) lives in this thread; the
    # async API runs in a thread of its own, with a Chromium of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        urls = pool.submit(asyncio.run, _enter_together(stack.base_url, people)).result()
    assert [url.split("#")[0] for url in urls] == [f"{stack.base_url}{CONTEST}thanks/"] * 5

    page = new_visitor("en-GB").new_page()
    for person in people:
        confirm_and_see_the_ticket(page, stack, person)
    assert [stack.mail.count(to=person.email) for person in people] == [1] * 5


def test_entries_from_one_address_beyond_the_rate_limit_are_refused_with_a_message(stack):
    """ENTRY_RATE_LIMIT counts in the shared cache, whichever gunicorn worker answers."""
    count, period = stack.setting("ENTRY_RATE_LIMIT").split("/")
    assert period.endswith("h"), "this test sends the limit's entries within a minute or two"
    script = HttpVisitor(stack.base_url)
    form = BrowserForm.parse(script.get(CONTEST).text, "entry-form")
    for number in range(int(count)):
        person = Person.unique(f"Neighbour {number}")
        answer = script.post(CONTEST, form.data(person.form_fields(), submitter="submit"))
        assert (answer.status, answer.location) == (302, f"{CONTEST}thanks/"), answer.text[:500]
    person = Person.unique("One Too Many")
    answer = script.post(CONTEST, form.data(person.form_fields(), submitter="submit"))
    assert answer.status == 400
    assert "Too many entries from your network" in answer.text
    assert not stack.query("SELECT 1 FROM contests_entry WHERE email = %s", (person.email,))
