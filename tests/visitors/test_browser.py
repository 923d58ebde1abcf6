"""A visitor in a real browser: the profile through the signed link, and the calendar."""

import pytest
import vobject

from tests.browser import SHOTS
from tests.factories import VisitFactory
from tests.visits.factories import (
    TourStopFactory,
    at,
    visitor,
)
from visitors.models import VisitorProfile
from visitors.services.links import visitor_profile_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_completes_the_profile_and_downloads_the_calendar(live_server, browser):
    visit = VisitFactory(title="CERN TweetUp", time_zone="Europe/Zurich")
    TourStopFactory(visit=visit, title="Computing Centre", starts_at=at(visit, 10))
    TourStopFactory(visit=visit, title="CERN Control Centre", starts_at=at(visit, 11, 30))
    profile = visitor(visit, name="Lucy McKenna")
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page.goto(visitor_profile_url(profile, base_url=live_server.url))
    page.fill("#id_display_name", "Lucy")
    page.fill("#id_bio", "Physics teacher <b>and</b> blogger.")
    page.select_option("#id_language_0", "en")
    page.select_option("#id_level_0", "native")
    page.select_option("#id_language_1", "fr")
    page.select_option("#id_level_1", "conversational")
    page.fill("#id_dietary_needs", "Vegetarian")
    page.fill("#id_emergency_contact_name", "Sam")
    page.fill("#id_emergency_contact_phone", "+44 20 0000 0000")
    page.check("#id_public_consent")
    page.check("#id_photo_consent")
    page.check("#id_confirm_attendance")
    page.click("#profile-form [type=submit]")
    page.wait_for_selector("#attendance-confirmed")
    page.screenshot(path=f"{SHOTS}/visit_profile.png", full_page=True)
    profile = VisitorProfile.objects.get(pk=profile.pk)
    assert profile.is_confirmed and profile.dietary_needs == "Vegetarian"
    assert profile.languages[1] == {"code": "fr", "level": "conversational"}

    with page.expect_download() as download_info:
        page.click("#profile-calendar")
    path = download_info.value.path()
    with open(path, encoding="utf-8") as handle:
        # Forget the time zones vobject cached from calendars read before.
        vobject.icalendar.__dict__["__tzidMap"].clear()
        calendar = vobject.readOne(handle.read())
    titles = sorted(event.summary.value for event in calendar.vevent_list)
    assert titles == ["CERN Control Centre", "Computing Centre"]
    starts = sorted(event.dtstart.value for event in calendar.vevent_list)
    assert starts == [at(visit, 10), at(visit, 11, 30)]
    assert [start.utcoffset() for start in starts] == [at(visit, 10).utcoffset()] * 2

    page.goto(live_server.url + visit.get_absolute_url())
    assert "Physics teacher <b>and</b> blogger." in page.inner_text("#visitors")
    assert "Vegetarian" not in page.content()
    page.screenshot(path=f"{SHOTS}/visit_itinerary.png", full_page=True)
