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
