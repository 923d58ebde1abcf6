"""A visitor whose place was taken back is told so by their badge and profile pages."""

import pytest
from django.urls import reverse

from contests.services.selections import selection_disqualify
from tests.contests.drawing import organizer
from tests.visits.factories import visitor
from visitors.services.links import visitor_profile_token

pytestmark = pytest.mark.django_db

SHOW_CODE = "Show this code at the meeting point to check in."
GONE = "This place is no longer yours: it was taken back"


def pages(profile) -> dict[str, str]:
    token = visitor_profile_token(profile)
    return {
        name: reverse(name, kwargs={"token": token})
        for name in ("visitors:badge", "visitors:profile")
    }


def test_a_visitor_holding_the_place_gets_the_code_and_the_form(client, visit):
    profile = visitor(visit)
    badge = client.get(pages(profile)["visitors:badge"]).content.decode()
    assert SHOW_CODE in badge and "<svg" in badge and GONE not in badge
    profile_page = client.get(pages(profile)["visitors:profile"]).content.decode()
    assert GONE not in profile_page and 'name="display_name"' in profile_page


def test_a_disqualified_visitor_is_told_the_place_is_gone_and_gets_no_code(client, visit):
    profile = visitor(visit)
    selection_disqualify(selection=profile.selection, actor=organizer(), reason="Not eligible")
    badge = client.get(pages(profile)["visitors:badge"])
    assert badge.status_code == 200
    content = badge.content.decode()
    assert GONE in content
    assert SHOW_CODE not in content and "<svg" not in content
    # Found in the second walk: the badge gave no contact and kept its buttons.
    assert f'href="{reverse("imprint")}"' in content
    itinerary = reverse(
        "visitors:visitor_itinerary", kwargs={"token": visitor_profile_token(profile)}
    )
    assert "data-print" not in content and itinerary not in content
    profile_page = client.get(pages(profile)["visitors:profile"]).content.decode()
    assert GONE in profile_page
    assert 'name="display_name"' not in profile_page
    assert reverse("visitors:badge", kwargs={"token": visitor_profile_token(profile)}) not in (
        profile_page
    )


def test_a_disqualified_visitor_gets_no_private_itinerary_print_or_calendar(client, visit):
    """Found in the walk-through: the itinerary kept the meeting point, calendar and visitors."""
    profile = visitor(visit)
    other = visitor(visit, publish_handle=True, twitter_handle="OtherVisitor1")
    token = visitor_profile_token(profile)
    selection_disqualify(selection=profile.selection, actor=organizer(), reason="Not eligible")
    for name in ("visitors:visitor_itinerary", "visitors:visitor_itinerary_print"):
        page = client.get(reverse(name, kwargs={"token": token})).content.decode()
        assert GONE in page, name
        assert visit.meeting_point not in page, name
        assert reverse("visitors:visitor_calendar", kwargs={"token": token}) not in page, name
        assert other.handle not in page, name
    calendar = client.get(reverse("visitors:visitor_calendar", kwargs={"token": token}))
    assert calendar.status_code == 302 and "BEGIN:VCALENDAR" not in calendar.content.decode()
    # The visitor still holding the place keeps the whole itinerary.
    kept = client.get(
        reverse("visitors:visitor_itinerary", kwargs={"token": visitor_profile_token(other)})
    ).content.decode()
    assert GONE not in kept and visit.meeting_point in kept
