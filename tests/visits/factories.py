"""Factories and builders for the visits tests."""

from datetime import datetime, time, timedelta

import factory
from django.utils import timezone

from contests.models import Selection
from contests.services.selections import selection_accept
from tests.builders import drawn_contest, winner
from tests.factories import VisitFactory
from visitors.models import VisitorProfile
from visitors.services.places import place_accept
from visits.models import LiveUpdate, Location, Question, TourStop, Visit


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Building {n}")
    address = "Meyrin, Switzerland"


def at(visit: Visit, hour: int, minute: int = 0) -> datetime:
    """An aware time on the visit's day, in its time zone."""
    return datetime.combine(visit.date, time(hour, minute), tzinfo=visit.tzinfo)


class TourStopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TourStop

    visit = factory.SubFactory(VisitFactory)
    location = factory.SubFactory(LocationFactory)
    title = factory.Sequence(lambda n: f"Stop {n}")
    starts_at = factory.LazyAttribute(lambda o: at(o.visit, 10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    guide = "Dr. Guide"
    language = "en"


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    stop = factory.SubFactory(TourStopFactory)
    text = factory.Sequence(lambda n: f"How does part {n} work?")
    author_name = "curious"
    status = Question.Status.APPROVED


class LiveUpdateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LiveUpdate

    visit = factory.SubFactory(VisitFactory)
    text = factory.Sequence(lambda n: f"Update {n}: beams are back")


def winner_for(visit: Visit | None, **entry_fields) -> Selection:
    """A pending winner, who typed ``entry_fields``, of a drawn contest leading to ``visit``.

    Each comes from a contest of their own (``tests.builders.drawn_contest``),
    so a test adds as many as it needs.
    """
    _contest, draw = drawn_contest(winners=[entry_fields], alternates=0, entries=1, visit=visit)
    return winner(draw)


def accepted_selection(visit: Visit | None, **entry_fields) -> Selection:
    """A winner whose place is accepted by the contests app alone, without a visitor profile."""
    return selection_accept(selection=winner_for(visit, **entry_fields), can_attend=True)


def visitor(visit: Visit | None, *, confirmed: bool = False, **entry_fields) -> VisitorProfile:
    """A winner who accepted the place (``place_accept``) and so became a visitor."""
    profile = place_accept(selection=winner_for(visit, **entry_fields), can_attend=True)
    if confirmed:
        profile.attendance_confirmed_at = timezone.now() - timedelta(hours=1)
        profile.save(update_fields=["attendance_confirmed_at"])
    return VisitorProfile.objects.select_related(
        "selection__entry", "selection__draw__contest__visit"
    ).get(pk=profile.pk)


def on_the_day(visit: Visit) -> Visit:
    """Move the visit to today, in its time zone (once its visitors have accepted)."""
    Visit.objects.filter(pk=visit.pk).update(date=timezone.localtime(timezone=visit.tzinfo).date())
    visit.refresh_from_db()
    return visit
