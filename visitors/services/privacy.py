"""The privacy purge of the visitors: what they told the site goes some days after their visit.

``tweetup.privacy.personal_data_remove`` runs it after the entries' purge and
before the outbox's.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from contests.models import Entry, Selection
from contests.services.privacy import Withdrawal, entries_forget, entry_withdraw
from notifications.services.outbox import outbox_personal_data_remove

from ..errors import VisitorError
from ..models import SiteAccess, VisitorProfile

# What a visitor's private data is, emptied by the purge and by a withdrawal.
PRIVATE_FIELDS_CLEARED = {
    "email": "",
    "dietary_needs": "",
    "accessibility_needs": "",
    "emergency_contact_name": "",
    "emergency_contact_phone": "",
}


def visitor_retention_days(days: int | None = None) -> int:
    """Days after the visit the visitors' data is kept: ``days``, else the setting.

    The setting is PRIVACY_VISITOR_RETENTION_DAYS. Raises VisitorError when
    it is negative.
    """
    if days is None:
        days = settings.PRIVACY_VISITOR_RETENTION_DAYS
    if days < 0:
        raise VisitorError(
            _("The number of days to keep personal data cannot be negative (%(days)s).")
            % {"days": days}
        )
    return days


def visitors_private_data_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Forget what visitors told the site, ``days`` after the date of their visit.

    Every profile loses its private data (email, needs, emergency contact);
    a visitor who did not agree to appear on public pages loses the display
    name, handle, bio and other background too, while those who agreed keep
    them on the visit's public page. The visitor's entry is forgotten like
    any other (name, email, handle, motivation). A profile whose place was
    taken back (disqualified) shows nowhere: it is cleared entirely as soon
    as the contests app's ``entries_personal_data_remove`` forgets its entry.
    A visitor of a contest without a visit keeps everything until the visit
    is set. ``tweetup.privacy.personal_data_remove`` also clears the mail
    about them in the outbox.

    Returns how many profiles changed. Raises VisitorError when ``days`` is
    negative.
    """
    now = now or timezone.now()
    days = visitor_retention_days(days)
    cutoff = timezone.localdate(now) - timedelta(days=days)
    holds_place = Q(selection__status=Selection.Status.ACCEPTED)
    due = VisitorProfile.objects.filter(
        Q(selection__draw__contest__visit__date__lt=cutoff)
        | (~holds_place & Q(selection__entry__personal_data_removed_at__isnull=False))
    )
    public_left = ~Q(display_name="", handle="", bio="", background_other="")
    with transaction.atomic():
        private_ids = list(
            due.filter(private_data_removed_at__isnull=True).values_list("pk", flat=True)
        )
        hidden_ids = list(
            due.filter(Q(public_consent=False) | ~holds_place)
            .filter(public_left)
            .values_list("pk", flat=True)
        )
        if private_ids:
            profiles = VisitorProfile.objects.filter(pk__in=private_ids)
            entries_forget(
                entries=Entry.objects.filter(pk__in=profiles.values("selection__entry_id")),
                now=now,
            )
            SiteAccess.objects.filter(profile__in=private_ids).delete()
            profiles.update(**PRIVATE_FIELDS_CLEARED, private_data_removed_at=now)
        if hidden_ids:
            VisitorProfile.objects.filter(pk__in=hidden_ids).update(
                display_name="", handle="", bio="", background_other=""
            )
    return len({*private_ids, *hidden_ids})


def visitors_forgotten() -> QuerySet[VisitorProfile]:
    """Every visitor profile whose private data was removed, so far."""
    return VisitorProfile.objects.filter(private_data_removed_at__isnull=False)


def entrant_withdraw(
    *, entry: Entry, base_url: str | None = None, now: datetime | None = None
) -> Withdrawal:
    """Withdraw an entry at its entrant's request, with the visitor profile it led to.

    The contests app's ``entry_withdraw`` forgets the entry and declines its
    place; a visitor profile made from it loses, at once, everything its
    visitor told the site (private and public fields, site-access details),
    and the mail about it is cleared from the outbox. One transaction.
    Withdrawing twice changes nothing the second time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        withdrawal = entry_withdraw(entry=entry, base_url=base_url, now=now)
        if withdrawal.already:
            return withdrawal
        profiles = VisitorProfile.objects.filter(selection__entry=withdrawal.entry)
        SiteAccess.objects.filter(profile__in=profiles).delete()
        profiles.update(
            **PRIVATE_FIELDS_CLEARED,
            display_name="",
            handle="",
            bio="",
            background_other="",
            public_consent=False,
            photo_consent=False,
            private_data_removed_at=now,
        )
        outbox_personal_data_remove(forgotten=[profiles])
    return withdrawal
