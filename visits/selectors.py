"""Read queries shared by several views, apps and the demo; each is a bounded number of queries."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.fields import BooleanField
from django.utils import timezone

from .models import LiveUpdate, Question, QuestionVote, TourStop, Visit


def visit_stops(visit: Visit) -> list[TourStop]:
    """The stops of a visit in order, with their place and their public questions counted."""
    # The count groups the query, and Django then leaves out Meta.ordering.
    return list(
        visit.stops.select_related("location")
        .annotate(
            public_questions=Count("questions", filter=Question.public_filter(prefix="questions__"))
        )
        .order_by("starts_at", "pk")
    )


def visit_public_context(visit: Visit) -> dict:
    """What the itinerary's pages show of the day.

    The contests leading to it and its visitors come from their own apps'
    template tags (``contests_tags``, ``visitors_tags``).
    """
    now = timezone.now()
    return {"visit": visit, "stops": visit_stops(visit), "now": now, "over": now >= visit.day_end}


def stop_public_questions(stop: TourStop, *, voter_key: str = "") -> QuerySet[Question]:
    """Approved (asked, answered) questions of a stop, most voted first, with this voter's vote."""
    voted = (
        Exists(QuestionVote.objects.filter(question=OuterRef("pk"), voter_key=voter_key))
        if voter_key
        else Value(False, output_field=BooleanField())
    )
    return (
        Question.objects.filter(stop=stop, status__in=Question.PUBLIC_STATUSES)
        .annotate(votes_count=Count("votes"), voted=voted)
        .order_by("-votes_count", "created_at", "pk")
    )


def live_updates(visit: Visit) -> QuerySet[LiveUpdate]:
    """The visit's live updates, newest first."""
    return LiveUpdate.objects.filter(visit=visit).select_related("stop", "visit")


def visits_for_home(*, limit: int = 6) -> list[Visit]:
    """Visits to show on the home page: the upcoming ones soonest first, then the most recent."""
    today = timezone.localdate()
    # What the home page shows of each: its title (every language's column), date and address.
    visits = Visit.objects.only("slug", "title", "date")
    upcoming = list(visits.filter(date__gte=today).order_by("date", "pk")[:limit])
    if len(upcoming) == limit:
        return upcoming
    past = visits.filter(date__lt=today).order_by("-date", "pk")[: limit - len(upcoming)]
    return upcoming + list(past)


def visits_over(now: datetime, *, prefix: str = "") -> Q:
    """A filter for the visits whose day is over at ``now``, each in its own time zone.

    Every time zone lies within 14 hours of UTC: a visit dated two days or
    more before ``now``'s UTC date is over everywhere, and one dated after it
    nowhere. The visits of the two dates between are read and checked one by one.
    """
    today = now.astimezone(UTC).date()
    edge = Visit.objects.filter(date__range=(today - timedelta(days=1), today))
    over = [visit.pk for visit in edge if visit.day_end <= now]
    return Q(**{f"{prefix}date__lt": today - timedelta(days=1)}) | Q(**{f"{prefix}pk__in": over})
