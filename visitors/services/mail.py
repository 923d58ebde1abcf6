"""Everything the site writes to visitors, through the outbox, in the visitor's language.

The welcome when a place is accepted, the itinerary once attendance is
confirmed, the reminder the day before, one digest of the stops that moved,
and the organizers' messages (``messages``). Each mail names its visitor
(``concerns``), so the privacy purge finds it.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from notifications.services.outbox import Mail, mail_enqueue, mail_enqueue_many
from tweetup.links import absolute_url
from visits.models import StopChange, Visit
from visits.services.stops import time_span

from ..errors import VisitorError
from ..models import VisitorProfile
from ..selectors import visitor_profiles
from .links import visitor_profile_token

WELCOME_KIND = OutboxMessage.Kind.VISIT_WELCOME
ITINERARY_KIND = OutboxMessage.Kind.VISIT_ITINERARY
REMINDER_KIND = OutboxMessage.Kind.VISIT_REMINDER
CHANGES_KIND = OutboxMessage.Kind.VISIT_CHANGES
MESSAGE_KIND = OutboxMessage.Kind.VISIT_MESSAGE


def _visit_stops(visit: Visit | None) -> list:
    """The stops of a visit as its mails list them; read once for a mail to every visitor."""
    return [] if visit is None else list(visit.stops.select_related("location"))


def _visitor_mail_context(
    profile: VisitorProfile, visit: Visit | None, base_url: str | None, stops: list | None = None
) -> dict:
    """What every mail to a visitor shows: the day, and the visitor's signed links.

    Without a scheduled visit there is no itinerary or calendar to link to yet.
    ``stops`` (``_visit_stops``) spares a query per visitor when writing to many.
    """
    token = visitor_profile_token(profile)

    def link(page: str) -> str:
        return absolute_url(reverse(f"visitors:{page}", kwargs={"token": token}), base_url=base_url)

    context = {
        "profile": profile,
        "visit": visit,
        "profile_url": link("profile"),
        "badge_url": link("badge"),
    }
    if visit is not None:
        context |= {
            "stops": _visit_stops(visit) if stops is None else stops,
            "time_zone": visit.time_zone,
            "itinerary_url": link("visitor_itinerary"),
            "calendar_url": link("visitor_calendar"),
        }
    return context


def _contest_id(profile: VisitorProfile) -> int:
    return profile.selection.draw.contest_id


def welcome_mail_send(*, profile: VisitorProfile, base_url: str | None = None):
    """Queue the mail that welcomes a winner who accepted; once per visitor.

    It carries the signed links back to the profile, the itinerary, the
    calendar and the badge, with the visit's date and meeting point, in the
    visitor's language. Returns the outbox row, or None when the profile has
    no address left (its private data was removed).
    """
    if not profile.email:
        return None
    return mail_enqueue(
        key=f"{WELCOME_KIND}:{profile.pk}",
        kind=WELCOME_KIND,
        to=profile.email,
        language=profile.language,
        template="visitors/mail/welcome",
        context={
            **_visitor_mail_context(profile, profile.visit, base_url),
            "contest": profile.selection.draw.contest,
        },
        contest_id=_contest_id(profile),
        concerns=profile,
    )


def itinerary_mail_send(*, profile: VisitorProfile, base_url: str | None = None):
    """Queue the itinerary mail of a visitor who confirmed; once per visitor."""
    visit = profile.visit
    if visit is None:
        raise VisitorError(_("The visit is not scheduled yet."))
    return mail_enqueue(
        key=f"{ITINERARY_KIND}:{profile.pk}",
        kind=ITINERARY_KIND,
        to=profile.email,
        language=profile.language,
        template="visitors/mail/itinerary",
        context=_visitor_mail_context(profile, visit, base_url),
        contest_id=_contest_id(profile),
        concerns=profile,
    )


def visit_reminders_send(*, now: datetime | None = None, base_url: str | None = None) -> int:
    """Queue the reminder to the confirmed visitors of every visit that takes place tomorrow.

    "Tomorrow" is read in each visit's time zone. Safe to run as often as
    wished: each visitor's reminder has its own outbox key, so it goes once.
    Returns how many reminders were new.
    """
    now = now or timezone.now()
    earliest = (now - timedelta(days=1)).date()
    latest = (now + timedelta(days=2)).date()
    queued = 0
    for visit in Visit.objects.filter(date__range=(earliest, latest)):
        if timezone.localtime(now, visit.tzinfo).date() + timedelta(days=1) != visit.date:
            continue
        stops = _visit_stops(visit)
        profiles = visitor_profiles(visit).filter(attendance_confirmed_at__isnull=False)
        queued += mail_enqueue_many(
            mails=(
                Mail(
                    key=f"{REMINDER_KIND}:{profile.pk}",
                    kind=REMINDER_KIND,
                    to=profile.email,
                    language=profile.language,
                    template="visitors/mail/reminder",
                    context=_visitor_mail_context(profile, visit, base_url, stops),
                    contest_id=_contest_id(profile),
                    concerns=profile,
                )
                for profile in profiles.exclude(email="")
            )
        )
    return queued


# Stop changes reach the confirmed visitors in one digest ----------------------


def _changes_summary(changes: Sequence[StopChange], visit: Visit) -> list[dict]:
    """One line per stop: its time and place before the first change and after the last."""
    by_stop: dict[int | str, dict] = {}
    for change in changes:
        key = change.stop_id or change.stop_title
        item = by_stop.setdefault(
            key,
            {
                "title": change.stop_title,
                "stop": change.stop,
                "old_starts_at": change.old_starts_at,
                "old_ends_at": change.old_ends_at,
                "old_location": change.old_location,
                "from_location": change.from_location,
            },
        )
        item.update(
            title=change.stop_title,
            new_starts_at=change.new_starts_at,
            new_ends_at=change.new_ends_at,
            new_location=change.new_location,
            to_location=change.to_location,
        )
    lines = []
    for item in by_stop.values():
        time_changed = (item["old_starts_at"], item["old_ends_at"]) != (
            item["new_starts_at"],
            item["new_ends_at"],
        )
        place_changed = (item["from_location"], item["old_location"]) != (
            item["to_location"],
            item["new_location"],
        )
        if not (time_changed or place_changed):
            continue
        lines.append(
            {
                **item,
                "time_changed": time_changed,
                "place_changed": place_changed,
                "old_time": time_span(item["old_starts_at"], item["old_ends_at"], visit),
                "new_time": time_span(item["new_starts_at"], item["new_ends_at"], visit),
            }
        )
    return lines


def stop_changes_notify(
    *, now: datetime | None = None, quiet: timedelta | None = None, base_url: str | None = None
) -> int:
    """Send one mail per confirmed visitor listing the stops that changed, once edits settle.

    Changes of a visit wait until none came for ``quiet`` (setting
    VISIT_CHANGES_QUIET_MINUTES), so several edits within a few minutes make
    one mail. A visitor hears only of changes made after they confirmed.
    Each mail's outbox key names the visitor and the batch, so a retry never
    sends it twice. Returns how many mails were queued.
    """
    now = now or timezone.now()
    if quiet is None:
        quiet = timedelta(minutes=getattr(settings, "VISIT_CHANGES_QUIET_MINUTES", 5))
    ready = (
        StopChange.objects.filter(notified_at__isnull=True)
        .values("visit_id")
        .annotate(last=Max("changed_at"))
        .filter(last__lte=now - quiet)
        .values_list("visit_id", flat=True)
    )
    queued = 0
    for visit_id in list(ready):
        with transaction.atomic():
            visit = Visit.objects.select_for_update().get(pk=visit_id)
            changes = list(
                StopChange.objects.select_for_update()
                .filter(visit=visit, notified_at__isnull=True)
                .order_by("changed_at", "pk")
            )
            if not changes or changes[-1].changed_at > now - quiet:
                continue
            # The mail names each stop and place in the visitor's language
            # (the change kept their names as written when it changed).
            prefetch_related_objects(changes, "stop", "from_location", "to_location")
            batch = changes[-1].pk
            stops = _visit_stops(visit)
            mails = []
            for profile in visitor_profiles(visit).filter(attendance_confirmed_at__isnull=False):
                seen = [c for c in changes if c.changed_at >= profile.attendance_confirmed_at]
                lines = _changes_summary(seen, visit)
                if not lines or not profile.email:
                    continue
                mails.append(
                    Mail(
                        key=f"{CHANGES_KIND}:{visit.pk}:{batch}:{profile.pk}",
                        kind=CHANGES_KIND,
                        to=profile.email,
                        language=profile.language,
                        template="visitors/mail/changes",
                        context={
                            **_visitor_mail_context(profile, visit, base_url, stops),
                            "changes": lines,
                        },
                        contest_id=_contest_id(profile),
                        concerns=profile,
                    )
                )
            mail_enqueue_many(mails=mails)
            queued += len(mails)
            StopChange.objects.filter(pk__in=[c.pk for c in changes]).update(notified_at=now)
    return queued
