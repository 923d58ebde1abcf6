"""Read queries shared by several views and the demo; each is a bounded number of queries."""

from django.db.models import Count, Exists, OuterRef, QuerySet, Value
from django.db.models.fields import BooleanField
from django.utils import timezone

from .models import LiveUpdate, Question, QuestionVote, TourStop, Visit, VisitorProfile


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


def visitors_public(visit: Visit) -> QuerySet[VisitorProfile]:
    """Visitors who agreed to appear on public pages; only their public fields are read."""
    return (
        VisitorProfile.objects.for_visit(visit)
        .active()
        .filter(public_consent=True)
        .only("pk", "display_name", "handle", "bio", "languages", "background", "selection_id")
        .order_by("display_name", "pk")
    )


def visit_public_context(visit: Visit) -> dict:
    return {
        "visit": visit,
        "stops": visit_stops(visit),
        "visitors": list(visitors_public(visit)),
        "contests": list(visit.contests.filter(published=True).only("slug", "title", "visit")),
        "now": timezone.now(),
    }


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
    upcoming = list(Visit.objects.filter(date__gte=today).order_by("date", "pk")[:limit])
    if len(upcoming) == limit:
        return upcoming
    past = Visit.objects.filter(date__lt=today).order_by("-date", "pk")[: limit - len(upcoming)]
    return upcoming + list(past)
