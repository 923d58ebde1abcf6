"""The check-in list on the day, on a tour admin's 360 px phone."""

import pytest
from django.urls import reverse

from tests.browser import SHOTS, log_in
from tests.factories import VisitFactory, staff_user
from tests.visits.factories import at, on_the_day, visitor
from tweetup.roles import TOUR_ADMINS
from visitors.services.check_in import visitor_check_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_check_in_list_fits_a_phone_in_both_languages(live_server, browser, language):
    """Found in the walk-through: the French statuses pushed the list past 360 px."""
    visit = VisitFactory()
    # Handles as long as the demo's, which no line break can shorten.
    arrived = visitor(visit, twitter_handle="AoifeNowak285", publish_handle=True)
    waiting = visitor(visit, twitter_handle="MateoNowak20", publish_handle=True)
    visit = on_the_day(visit)
    user = staff_user("touradmin", TOUR_ADMINS)
    visitor_check_in(profile=arrived, actor=user, now=at(visit, 9))
    page = browser.new_page(viewport={"width": 360, "height": 740})
    log_in(page, live_server, "touradmin")
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("visitors:check_in", args=[visit.slug]))
    page.screenshot(path=SHOTS / f"phone-check-in-{language}.png", full_page=True)
    assert page.locator(f"#visitor-{waiting.pk} button").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
