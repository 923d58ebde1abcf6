"""The public pages in Chromium as people meet them: on a 360 px phone, with the
keyboard, and after a form sent back with mistakes."""

import pytest
from django.urls import reverse

from contests import services
from contests.models import Entry, Selection
from tests.browser import SHOTS
from tests.contests.drawing import drawn_contest
from tests.factories import ContestFactory, VisitFactory
from tests.visits.factories import LocationFactory, TourStopFactory, at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
# The widest values the pages show: 15-character handles, a beacon value as
# external entropy, the longest place labels.
ENTROPY = "drand round 2012-07-11T09:00:00Z (not a real beacon value) 49a27597b0dc2308fefe9945"


def site() -> dict[str, str]:
    """A drawn contest leading to a visit with its stops, and an open contest; their URLs."""
    visit = VisitFactory(title="The first CERN TweetUp, behind the scenes of the LHC")
    TourStopFactory(
        visit=visit,
        title="Computing Centre: the Worldwide LHC Computing Grid's Tier-0",
        location=LocationFactory(name="Computing Centre, Building 513"),
        starts_at=at(visit, 9, 30),
        ends_at=at(visit, 10, 45),
    )
    contest, draw = drawn_contest(
        30,
        external_entropy=ENTROPY,
        title="CERN's first TweetUp, 25 July 2012",
        slug="first-cern-tweetup-2012",
        winners_count=5,
        alternates_count=5,
        visit=visit,
    )
    for number, selection in enumerate(Selection.objects.filter(draw=draw)):
        handle = f"HannahPetrov{number:03d}"
        Entry.objects.filter(pk=selection.entry_id).update(
            twitter_handle=handle, handle_normalized=handle.lower(), publish_handle=True
        )
    winners = Selection.objects.filter(draw=draw, kind=Selection.Kind.WINNER).order_by("position")
    services.selection_accept(selection=winners[0], can_attend=True)
    # A winner declines: the place is passed on and the first alternate promoted.
    services.selection_decline(selection=winners[2])
    open_contest = ContestFactory(visit=visit)
    return {
        "home": reverse("home"),
        "contest": open_contest.get_absolute_url(),
        "results": reverse("contests:results", kwargs={"slug": contest.slug}),
        "visit": visit.get_absolute_url(),
    }


WIDER_THAN_THE_PAGE = """() => {
  // Elements that reach past the viewport, and boxes that scroll sideways.
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const scrolls = !["visible", "hidden"].includes(getComputedStyle(el).overflowX);
    if (box.width && box.right > width + 0.5) wide.push(el.tagName + "." + el.className);
    if (scrolls && el.scrollWidth > el.clientWidth + 1) wide.push("scrolls: " + el.tagName);
  }
  return wide.slice(0, 10);
}"""


def test_no_public_page_is_wider_than_a_360_px_phone(live_server, browser):
    """Long hashes, seeds, handles and place labels wrap; nothing scrolls sideways."""
    page = browser.new_page(viewport=PHONE)
    for name, path in site().items():
        page.goto(live_server.url + path)
        page.screenshot(path=SHOTS / f"phone-{name}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width, page.evaluate(WIDER_THAN_THE_PAGE))
        assert page.evaluate(WIDER_THAN_THE_PAGE) == [], name
