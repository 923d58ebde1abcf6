"""The check-in list and the group page on a tour admin's 360 px phone."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.browser import SHOTS, log_in
from tests.factories import VisitFactory, staff_user
from tests.visits.factories import at, on_the_day, visitor
from tweetup.roles import TOUR_ADMINS
from visitors.models import VisitorProfile
from visitors.services.check_in import visitor_check_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def phone(browser, live_server, language: str):
    """A tour admin's 360 px phone, logged in, reading ``language``."""
    staff_user("touradmin", TOUR_ADMINS)
    page = browser.new_page(viewport={"width": 360, "height": 740})
    log_in(page, live_server, "touradmin")
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    return page


@pytest.mark.parametrize("day", ["upcoming", "today"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_check_in_list_fits_a_phone_in_both_languages(live_server, browser, language, day):
    """Found in the walk-through: the French list was 362 px wide on the day, 395 px before it."""
    visit = VisitFactory()
    # Handles as long as the demo's, which no line break can shorten.
    arrived = visitor(visit, twitter_handle="AoifeNowak285", publish_handle=True)
    waiting = visitor(visit, twitter_handle="MateoNowak20", publish_handle=True)
    page = phone(browser, live_server, language)
    if day == "today":
        visit = on_the_day(visit)
        touradmin = User.objects.get(username="touradmin")
        visitor_check_in(profile=arrived, actor=touradmin, now=at(visit, 9))
    page.goto(live_server.url + reverse("visitors:check_in", args=[visit.slug]))
    page.screenshot(path=SHOTS / f"phone-check-in-{day}-{language}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    title = page.locator("h1").inner_text()
    assert title == ("Check-in" if language == "en" else "Enregistrement des arrivées")
    if day == "today":
        assert page.locator(f"#visitor-{waiting.pk} button").is_visible()
        assert not page.locator("#check-in-closed").count()
        # The staff actions read whole on the phone, the reason included (second walk).
        actions = "document.querySelector('#staff-actions .table-responsive')"
        assert page.evaluate(f"{actions}.scrollWidth <= {actions}.clientWidth")
        assert page.locator("#staff-actions-table td").last.is_visible()
    else:
        # Before the day the service refuses arrivals: the page says when they open.
        notice = page.locator("#check-in-closed").inner_text()
        assert ("opens on the day" if language == "en" else "ouvre le jour") in notice
        assert not page.locator(f"#visitor-{waiting.pk} button").count()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_group_page_fits_a_phone_and_shows_the_emergency_contact(
    live_server, browser, language
):
    """Found in the walk-through: the private table was cut after half the email column."""
    visit = VisitFactory()
    profile = visitor(visit, twitter_handle="AoifeNowak285", publish_handle=True)
    VisitorProfile.objects.filter(pk=profile.pk).update(
        email="aoife.nowak.long.address285@example.org",
        emergency_contact_name="Siobhan Nowak",
        emergency_contact_phone="+41 22 767 61 11",
        photo_consent=True,
    )
    page = phone(browser, live_server, language)
    page.goto(live_server.url + reverse("visitors:group", args=[visit.slug]))
    page.screenshot(path=SHOTS / f"phone-group-{language}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    phone_link = page.locator("#group-visitor-cards a[href='tel:+41227676111']")
    assert phone_link.is_visible()
    box = phone_link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.locator("#group-visitor-cards").get_by_text("Siobhan Nowak").is_visible()
