"""Factories and builders for the visits tests."""

from datetime import datetime, time, timedelta

import factory
from django.utils import timezone

from contests.models import Draw, Selection
from tests.factories import ContestFactory, EntryFactory, VisitFactory
from visitors.models import VisitorProfile
from visitors.services.profiles import visitor_profile_create
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


def drawn_for(visit: Visit | None) -> Draw:
    """A drawn contest leading to this visit, with no selection yet."""
    now = timezone.now()
    contest = ContestFactory(
        opens_at=now - timedelta(days=20),
        closes_at=now - timedelta(days=10),
        frozen_at=now - timedelta(days=9),
        visit=visit,
    )
    return Draw.objects.create(
        contest=contest,
        winners_count=contest.winners_count,
        alternates_count=contest.alternates_count,
        drawn_at=now - timedelta(days=9),
    )


def accepted_selection(draw: Draw, **entry_fields) -> Selection:
    entry = EntryFactory(contest=draw.contest, in_draw=True, **entry_fields)
    position = draw.selections.count() + 1
    return Selection.objects.create(
        draw=draw,
        entry=entry,
        kind=Selection.Kind.WINNER,
        position=position,
        status=Selection.Status.ACCEPTED,
        deadline=timezone.now() + timedelta(days=1),
        answered_at=timezone.now(),
    )


def visitor(draw: Draw, *, confirmed: bool = False, **entry_fields) -> VisitorProfile:
    """An accepted winner's profile, made the way the accept flow makes it."""
    profile = visitor_profile_create(selection=accepted_selection(draw, **entry_fields))
    if confirmed:
        profile.attendance_confirmed_at = timezone.now() - timedelta(hours=1)
        profile.save(update_fields=["attendance_confirmed_at"])
    return VisitorProfile.objects.select_related(
        "selection__entry", "selection__draw__contest__visit"
    ).get(pk=profile.pk)
