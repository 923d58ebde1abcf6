"""A small public site for the page-wide tests: a drawn contest leading to a visit
with its stops, questions, visitors and live updates, and an open contest."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from contests.models import Entry, Selection
from contests.services.selections import selection_decline
from tests.builders import drawn_contest
from tests.factories import ContestFactory, VisitFactory
from tests.visits.factories import (
    LiveUpdateFactory,
    LocationFactory,
    QuestionFactory,
    TourStopFactory,
    at,
)
from visitors.services.places import place_accept

# The widest values the pages show: 15-character handles, a beacon value as
# external entropy, the longest place labels.
ENTROPY = "drand round 2012-07-11T09:00:00Z (not a real beacon value) 49a27597b0dc2308fefe9945"


def public_site() -> dict[str, str]:
    """Builds the site; the URLs of its public pages, by name."""
    visit = VisitFactory(title="The first CERN TweetUp, behind the scenes of the LHC")
    stop = TourStopFactory(
        visit=visit,
        title="Computing Centre: the Worldwide LHC Computing Grid's Tier-0",
        location=LocationFactory(name="Computing Centre, Building 513"),
        starts_at=at(visit, 9, 30),
        ends_at=at(visit, 10, 45),
    )
    QuestionFactory(stop=stop, text="How many disks does the Tier-0 hold?")
    # Times as the database keeps them, to the microsecond.
    LiveUpdateFactory(visit=visit, stop=stop, posted_at=timezone.now().replace(microsecond=123456))
    contest, draw = drawn_contest(
        entries=30,
        winners=5,
        alternates=5,
        external_entropy=ENTROPY,
        title="CERN's first TweetUp, 25 July 2012",
        slug="first-cern-tweetup-2012",
        visit=visit,
    )
    for number, selection in enumerate(Selection.objects.filter(draw=draw)):
        handle = f"HannahPetrov{number:03d}"
        Entry.objects.filter(pk=selection.entry_id).update(
            twitter_handle=handle, handle_normalized=handle.lower(), publish_handle=True
        )
    winners = Selection.objects.filter(draw=draw, kind=Selection.Kind.WINNER).order_by("position")
    place_accept(selection=winners[0], can_attend=True)
    # A winner declines: the place is passed on and the first alternate promoted.
    selection_decline(selection=winners[2])
    now = timezone.now()
    open_contest = ContestFactory(
        visit=visit, closes_at=(now + timedelta(days=7)).replace(microsecond=123456)
    )
    ContestFactory(opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=9))
    return {
        "home": reverse("home"),
        "contests": reverse("contests:list"),
        "contest": open_contest.get_absolute_url(),
        "entry_sent": reverse("contests:entry_sent", kwargs={"slug": open_contest.slug}),
        "confirm_again": reverse("contests:confirm_again", kwargs={"slug": open_contest.slug}),
        "results": reverse("contests:results", kwargs={"slug": contest.slug}),
        "live_draw": reverse("contests:live_draw", kwargs={"slug": contest.slug}),
        "visit": visit.get_absolute_url(),
        "stop": stop.get_absolute_url(),
        "visit_live": reverse("visits:live", kwargs={"slug": visit.slug}),
    }
