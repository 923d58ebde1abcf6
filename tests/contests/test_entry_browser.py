"""An entrant enters the demo contest in Chromium, in English and in French,
opens the confirmation link from the mail and sees the ticket."""

import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from contests.models import Contest, Entry
from notifications.models import OutboxMessage
from tests.browser import SHOTS
from tweetup.roles import groups_ensure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "/contests/cern-tweetup/"


@pytest.fixture
def demo(transactional_db):
    # A transactional test empties the tables, the staff groups made by a data
    # migration included; the demo's staff accounts need them.
    groups_ensure()
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())


def fill_entry(page, *, name: str, email: str, handle: str, mail_language: str) -> None:
    form = page.locator("#entry-form")
    form.locator('[name="name"]').fill(name)
    form.locator('[name="email"]').fill(email)
    form.locator('[name="twitter_handle"]').fill(handle)
    form.locator('[name="country"]').select_option("CH")
    form.locator('input[name="languages"][value="en"]').check()
    form.locator('input[name="languages"][value="fr"]').check()
    form.locator('select[name="languages"]').select_option("br")
    form.locator('[name="background"]').select_option("science")
    form.locator('[name="motivation"]').fill("I run the physics club of my school in Geneva.")
    form.locator('[name="language"]').select_option(mail_language)
    form.locator('[name="accept_rules"]').check()
    # The honeypot is in the form but out of sight, left of the page.
    honeypot = form.locator('[name="website"]').bounding_box()
    assert honeypot is not None and honeypot["x"] + honeypot["width"] <= 0


def confirmation_link(message, live_server_url: str) -> str:
    match = re.search(r"(http://\S+/contests/confirm/\S+/)", message.body)
    assert match, message.body
    link = match.group(1)
    assert link.startswith(live_server_url), link
    return link


def test_entrant_enters_in_english_and_sees_the_ticket(live_server, demo, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(live_server.url + DEMO)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("CERN TweetUp")
    assert len(page.locator("#commitment").inner_text().strip()) == 64
    page.screenshot(path=SHOTS / "entry-en-contest.png", full_page=True)

    fill_entry(
        page, name="Ada Lovelace", email="Ada@Example.org", handle="@ada_l", mail_language="en"
    )
    page.locator("#entry-form [type=submit]").click()
    # The form is sent to its own fragment (#entry-form), which the redirect keeps.
    page.wait_for_url(f"**{DEMO}thanks/#entry-form")
    page.screenshot(path=SHOTS / "entry-en-sent.png", full_page=True)

    [message] = mail.outbox
    assert message.to == ["Ada@Example.org"]
    assert message.subject.startswith("Confirm your entry")
    page.goto(confirmation_link(message, live_server.url))
    # Opening the link asks to confirm; the button confirms.
    assert Entry.objects.get(email_normalized="ada@example.org").confirmed_at is None
    page.locator("#confirm-form [type=submit]").click()
    page.locator("#ticket").wait_for()
    entry = Entry.objects.get(email_normalized="ada@example.org")
    assert page.locator("#ticket").inner_text().strip() == entry.ticket
    assert page.get_by_role("link", name="Mastodon").is_visible()
    page.screenshot(path=SHOTS / "entry-en-ticket.png", full_page=True)
    entry.refresh_from_db()
    assert entry.confirmed_at is not None
    context.close()


def test_entrant_switches_to_french_enters_and_sees_the_ticket(live_server, demo, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    page.goto(live_server.url + DEMO)
    assert page.locator("html").get_attribute("lang") == "en"
    english_submit = page.locator("#entry-form [type=submit]").input_value()

    # The switcher sits in the collapsed navbar on a phone: open the menu first.
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
    with page.expect_navigation():
        page.locator("#language-select").select_option("fr")
    assert page.url.endswith(DEMO)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#language-select").input_value() == "fr"
    assert english_submit == "Enter the contest"
    assert page.locator("#entry-form [type=submit]").input_value() == "Participer au concours"
    page.screenshot(path=SHOTS / "entry-fr-contest.png", full_page=True)

    fill_entry(
        page, name="Marie Curie", email="marie@example.fr", handle="MarieC", mail_language="fr"
    )
    page.locator("#entry-form [type=submit]").click()
    page.wait_for_url(f"**{DEMO}thanks/#entry-form")
    assert page.locator("html").get_attribute("lang") == "fr"

    [message] = mail.outbox
    assert OutboxMessage.objects.get(to_email="marie@example.fr").language == "fr"
    assert message.subject.startswith("Confirmez votre participation")
    page.goto(confirmation_link(message, live_server.url))
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("button", name="Confirmer ma participation").click()
    page.locator("#ticket").wait_for()
    assert page.locator("h1").inner_text() == "Votre participation est confirmée"
    entry = Entry.objects.get(email_normalized="marie@example.fr")
    assert entry.language == "fr" and entry.handle_normalized == "mariec"
    assert page.locator("#ticket").inner_text().strip() == entry.ticket
    page.screenshot(path=SHOTS / "entry-fr-ticket.png", full_page=True)
    context.close()


def test_countdown_follows_the_server_not_a_visitors_wrong_clock(live_server, demo, browser):
    """A visitor whose clock runs two days fast still sees the time left, without reloads."""
    contest = Contest.objects.get(slug="cern-tweetup")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.clock.install(time=timezone.now() + timedelta(days=2))
    loads = []
    page.on("load", lambda _page: loads.append(True))
    page.goto(live_server.url + DEMO)
    countdown = page.locator(".countdown")
    # Without JavaScript the element shows the closing time; the script replaces it.
    expect(countdown).to_have_text(re.compile(r"\d\d:\d\d:\d\d$"))
    days_left = (contest.closes_at - timezone.now()).days
    assert re.fullmatch(rf"{days_left} d \d\d:\d\d:\d\d", countdown.inner_text().strip())
    page.clock.run_for(5000)
    assert len(loads) == 1
    context.close()
