"""The organizer's dashboard on a 360 px phone, in a real browser."""

import pytest
from django.urls import reverse

from contests.services.selection_mail import draw_offers_send
from tests.browser import SHOTS, log_in
from tests.builders import drawn_contest
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


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_places_and_the_outbox_read_on_a_phone(
    live_server, browser, language, django_capture_on_commit_callbacks
):
    """Found in the walk-through: status, deadline and the actions were off-screen at 360 px."""
    contest, draw = drawn_contest(entries=12, winners=2, alternates=2)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    organizer()
    page = browser.new_page(viewport={"width": 360, "height": 740})
    log_in(page, live_server, "orga")
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("contests:dashboard", args=[contest.slug]))
    page.screenshot(path=SHOTS / f"phone-dashboard-places-{language}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    rows = page.locator("#selections tbody tr")
    assert rows.count() == 4
    for index in range(4):
        row = rows.nth(index)
        for part in (".badge", "code", "details summary"):
            box = row.locator(part).first.bounding_box()
            assert box is not None, part
            assert 0 <= box["x"] and box["x"] + box["width"] <= 360, part
    statuses = page.locator("#outbox-table tbody tr td:nth-child(5)")
    assert statuses.count() > 0
    box = statuses.first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    assert page.locator("#outbox-table thead").is_hidden()


def test_the_places_keep_their_columns_on_a_laptop(live_server, browser):
    contest, _draw = drawn_contest(entries=12, winners=2, alternates=2)
    organizer()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server, "orga")
    page.goto(live_server.url + reverse("contests:dashboard", args=[contest.slug]))
    assert page.locator("#selections thead").is_visible()
    first = page.locator("#selections tbody tr").first
    ticket, status = (
        first.locator("td").nth(1).bounding_box(),
        first.locator("td").nth(3).bounding_box(),
    )
    assert ticket is not None and status is not None
    # Side by side, on one line.
    assert abs(ticket["y"] - status["y"]) < 2 and status["x"] > ticket["x"]
