"""Check-in on the day: a tour admin marks a visitor as arrived, on the record."""

from datetime import datetime

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action

from ..errors import VisitorError
from ..models import VisitorProfile


def check_in_closed(*, visit, now: datetime | None = None) -> str | None:
    """Why arrivals cannot be taken now (a sentence for a person), or None on the visit's day.

    Arrivals are taken on the visit's day only, in its time zone.
    """
    now = now or timezone.now()
    if now < visit.day_start:
        return _("Check-in opens on the day of the visit, %(date)s.") % {
            "date": formats.date_format(visit.date, "DATE_FORMAT")
        }
    if now >= visit.day_end:
        return _("The visit is over: check-in is closed.")
    return None


def visitor_check_in(
    *, profile: VisitorProfile, actor=None, undo: bool = False, now: datetime | None = None
) -> VisitorProfile:
    """Mark a visitor as arrived (or not, with ``undo``); checking in twice keeps the first time.

    Arrivals are taken on the visit's day only, in its time zone (a badge
    scanned weeks before is refused); an arrival can be undone at any time.
    Raises VisitorError when the visitor no longer holds a place or it is
    not the visit's day.
    """
    now = now or timezone.now()
    with transaction.atomic():
        profile = (
            VisitorProfile.objects.select_for_update(of=("self",))
            .select_related("selection__draw__contest")
            .get(pk=profile.pk)
        )
        if profile.selection.status != "accepted":
            raise VisitorError(_("This visitor no longer holds a place."))
        visit = profile.visit
        if not undo and visit is not None:
            closed = check_in_closed(visit=visit, now=now)
            if closed is not None:
                raise VisitorError(closed)
        was = profile.checked_in_at
        if undo:
            profile.checked_in_at = None
            profile.checked_in_by = None
        elif profile.checked_in_at is None:
            profile.checked_in_at = now
            profile.checked_in_by = actor if actor is not None and actor.is_authenticated else None
        profile.save(update_fields=["checked_in_at", "checked_in_by"])
        if was != profile.checked_in_at:
            contest = profile.selection.draw.contest
            log_action(
                actor=actor,
                action=Verb.CHECK_IN_UNDO if undo else Verb.CHECK_IN,
                target=profile,
                changes={"checked_in_at": [was, profile.checked_in_at]},
                contest=contest.pk,
                visit=contest.visit_id,
            )
    return profile
