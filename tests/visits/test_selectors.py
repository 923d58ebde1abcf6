from datetime import timedelta

from django.utils import timezone

from tests.factories import VisitFactory
from visits import selectors


def test_home_visits_are_the_upcoming_ones_soonest_first_then_the_most_recent(db):
    today = timezone.localdate()
    later = VisitFactory(date=today + timedelta(days=60))
    soon = VisitFactory(date=today + timedelta(days=10))
    long_ago = VisitFactory(date=today - timedelta(days=4000))
    recent = VisitFactory(date=today - timedelta(days=3))

    assert selectors.visits_for_home() == [soon, later, recent, long_ago]
    assert selectors.visits_for_home(limit=3) == [soon, later, recent]
    assert selectors.visits_for_home(limit=2) == [soon, later]


def test_visit_stops_are_in_time_order_whatever_order_they_were_added_in(db):
    """Counting questions groups the query, which drops the model's ordering:
    a stop added later between two others must still list in its place."""
    from tests.visits.factories import TourStopFactory, at

    visit = VisitFactory()
    first = TourStopFactory(visit=visit, starts_at=at(visit, 14, 15), ends_at=at(visit, 15, 30))
    last = TourStopFactory(visit=visit, starts_at=at(visit, 16), ends_at=at(visit, 17, 30))
    middle = TourStopFactory(visit=visit, starts_at=at(visit, 15, 30), ends_at=at(visit, 16))

    assert selectors.visit_stops(visit) == [first, middle, last]
