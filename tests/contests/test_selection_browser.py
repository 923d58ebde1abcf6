"""In Chromium: a winner accepts from the mail, another declines, the alternate's mail arrives."""

import pytest
from django.core import mail
from django.urls import reverse

from contests.models import Selection
from contests.services.selection_mail import draw_offers_send
from tests.browser import SHOTS
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import links_in, mails_to, organizer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def offer_links(entry) -> dict[str, str]:
    [offer] = [m for m in mails_to(entry) if links_in(m)]
    return links_in(offer)


def test_winner_accepts_from_the_mail_and_a_decline_mails_the_alternate(live_server, browser_page):
    page = browser_page
    mail.outbox.clear()
    contest, draw = drawn_contest(winners=2, alternates=1)
    draw_offers_send(draw=draw, base_url=live_server.url)
    first, second = winner(draw, 1), winner(draw, 2)

    # The first winner accepts, confirming the date of the visit.
    page.goto(offer_links(first.entry)["accept"])
    assert page.locator("#deadline").inner_text().endswith("(Europe/Zurich)")
    page.screenshot(path=str(SHOTS / "selection_accept.png"), full_page=True)
    page.get_by_role("button", name="Accept my place").click()
    assert page.locator("#accept-form .invalid-feedback, #accept-form :invalid").count() >= 1
    assert winner(draw, 1).status == Selection.Status.PENDING
    page.get_by_label("I can come on").check()
    page.get_by_role("button", name="Accept my place").click()
    page.locator("#selection-status").get_by_text("You accepted your place").wait_for()
    page.screenshot(path=str(SHOTS / "selection_accepted.png"), full_page=True)
    assert winner(draw, 1).status == Selection.Status.ACCEPTED
    # Accepting made the visitor profile in the same transaction; its page opens.
    profile_url = page.locator("#visitor-profile-link").get_attribute("href")
    assert profile_url.startswith(f"{live_server.url}/visits/")
    assert page.goto(profile_url).ok
    page.screenshot(path=str(SHOTS / "selection_visitor_profile.png"), full_page=True)

    # The second declines; the alternate's offer arrives with its own links.
    page.goto(offer_links(second.entry)["decline"])
    page.get_by_role("button", name="Yes, decline my place").click()
    page.locator("#selection-status").get_by_text("You declined your place").wait_for()
    assert winner(draw, 2).status == Selection.Status.DECLINED
    promoted = alternate(draw)
    assert promoted.status == Selection.Status.PENDING
    links = offer_links(promoted.entry)
    assert links["accept"].startswith(live_server.url)
    page.goto(links["accept"])
    page.get_by_text("a place has become free").wait_for()

    # The organizer sees it all on the dashboard.
    organizer()
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "orga")
    page.fill("#id_password", "pw")
    page.locator("input[type=submit]").click()
    page.goto(f"{live_server.url}{reverse('contests:dashboard', kwargs={'slug': contest.slug})}")
    page.locator("#selections").wait_for()
    promoted_row = page.locator(f"#selection-{promoted.pk}")
    assert promoted_row.get_by_text("promoted", exact=True).is_visible()
    assert page.locator(f"#selection-{first.pk}").get_attribute("data-status") == "accepted"
    page.screenshot(path=str(SHOTS / "organizer_dashboard.png"), full_page=True)
