"""The contests back office at a laptop's width, in a real browser."""

import pytest
from django.urls import reverse

from tests.browser import SHOTS, log_in
from tests.builders import drawn_contest
from tests.contests.drawing import add_entries, closed_contest, organizer
from tests.factories import ContestFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_contest_list_shows_the_dashboard_link_on_a_1280_px_screen(
    live_server, browser_page, language
):
    ContestFactory(title="CERN TweetUp: a day behind the scenes", slug="first-cern-tweetup-2012")
    organizer()
    page = browser_page
    log_in(page, live_server, "orga")
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("admin:contests_contest_changelist"))
    link = page.locator("td.field-dashboard_link a")
    box = link.bounding_box()
    page.screenshot(path=f"{SHOTS}/admin_contest_list_{language}.png")
    assert box is not None
    assert box["x"] + box["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_the_entry_filters_keep_the_page_short(live_server, browser_page):
    contest = closed_contest()
    add_entries(contest, 8, languages=["en", "fr", "de"])
    organizer()
    page = browser_page
    log_in(page, live_server, "orga")
    page.goto(live_server.url + reverse("admin:contests_entry_changelist"))
    page.screenshot(path=f"{SHOTS}/admin_entry_list.png", full_page=True)
    assert page.locator("#changelist-filter a[href*='country=']").count() == 8
    assert page.locator("#changelist-filter a[href*='speaks=']").count() == 3
    assert page.evaluate("document.documentElement.scrollHeight") < 2000


def test_the_contest_admin_shows_each_text_in_english_and_french_side_by_side(
    live_server, browser_page
):
    organizer()
    page = browser_page
    log_in(page, live_server, "orga")
    page.goto(live_server.url + reverse("admin:contests_contest_add"))
    page.screenshot(path=f"{SHOTS}/admin_contest_add_languages.png", full_page=True)
    for field in ("title", "hashtag", "description", "rules"):
        english = page.locator(f"#id_{field}_en").bounding_box()
        french = page.locator(f"#id_{field}_fr").bounding_box()
        assert english is not None and french is not None, field
        assert french["x"] >= english["x"] + english["width"], field
        assert abs(french["y"] - english["y"]) < 30, field
        assert french["x"] + french["width"] <= 1280, field
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def _action_page_at_360(browser, live_server, changelist: str, action: str, selected: int):
    """The page an admin action asks its reason on, opened on a 360 px phone."""
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.set_default_timeout(15_000)
    log_in(page, live_server, "orga")
    page.goto(live_server.url + reverse(changelist))
    boxes = page.locator("input.action-select")
    for index in range(selected):
        boxes.nth(index).check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector("#id_reason")
    return page


def _fits_360(page, fields: list[str], name: str) -> None:
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for field in fields:
        box = page.locator(field).bounding_box()
        help_box = page.locator(f"{field}_helptext").bounding_box()
        assert box is not None and help_box is not None, field
        assert box["x"] + box["width"] <= 360, field
        # The help text is under its field, not beside it.
        assert help_box["y"] >= box["y"] + box["height"], field


def test_the_invalidate_action_asks_its_reason_within_a_phones_width(live_server, browser):
    contest = closed_contest()
    add_entries(contest, 2)
    organizer()
    page = _action_page_at_360(
        browser, live_server, "admin:contests_entry_changelist", "invalidate", 2
    )
    _fits_360(page, ["#id_reason"], "admin_invalidate_360")


def test_the_disqualify_action_asks_its_reason_within_a_phones_width(live_server, browser):
    drawn_contest(entries=8, winners=2, alternates=2)
    organizer()
    page = _action_page_at_360(
        browser, live_server, "admin:contests_selection_changelist", "disqualify", 1
    )
    _fits_360(page, ["#id_reason", "#id_message"], "admin_disqualify_360")
    # One place: the sentence speaks of one.
    assert "This selection will be disqualified" in page.inner_text("#disqualify-form")
