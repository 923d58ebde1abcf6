"""The organizer's dashboard on a 360 px phone, in a real browser."""

import pytest
from django.urls import reverse

from tests.browser import SHOTS, log_in
from tests.contests.drawing import add_entries, closed_contest, organizer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_breakdowns_show_every_column_on_a_phone_in_french(live_server, browser):
    """Found in the walk-through: "Confirmées" was scrolled out of its card."""
    contest = closed_contest()
    add_entries(contest, 15)
    organizer()
    page = browser.new_page(viewport={"width": 360, "height": 740})
    log_in(page, live_server, "orga")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto(live_server.url + reverse("contests:dashboard", args=[contest.slug]))
    page.screenshot(path=SHOTS / "phone-dashboard-fr.png", full_page=True)
    assert "Confirmées" in page.locator("#by-background").inner_text()
    hidden = page.evaluate(
        """() => [...document.querySelectorAll('.breakdown-scroll')]
             .filter(box => box.scrollWidth > box.clientWidth + 1)
             .map(box => box.querySelector('table').id)"""
    )
    assert hidden == []
