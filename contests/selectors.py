"""Read queries shared by several views."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import Contest


def contests_public() -> QuerySet[Contest]:
    return Contest.objects.filter(published=True).select_related("draw", "visit")


def contests_for_home() -> dict[str, list[Contest]]:
    """Open and upcoming contests, and past ones (closed, frozen or drawn)."""
    now = timezone.now()
    contests = contests_public().annotate(
        confirmed_count=Count("entries", filter=Q(entries__confirmed_at__isnull=False))
    )
    return {
        "open": list(contests.filter(opens_at__lte=now, closes_at__gt=now).order_by("closes_at")),
        "upcoming": list(contests.filter(opens_at__gt=now).order_by("opens_at")),
        "past": list(contests.filter(closes_at__lte=now).order_by("-closes_at")[:20]),
    }
