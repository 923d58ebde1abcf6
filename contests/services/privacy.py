"""The privacy purge of the entries: the entrants no place holds or can still reach are forgotten.

``tweetup.privacy.personal_data_remove`` runs it with the visitors' purge and
the outbox's, in that order.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from visits.selectors import visits_over

from ..errors import ContestError
from ..models import Entry, Selection, SelectionEvent


def entry_retention_days(days: int | None = None) -> int:
    """Days after the draw the entrants are kept: ``days``, else PRIVACY_ENTRY_RETENTION_DAYS.

    Raises ContestError when it is negative.
    """
    if days is None:
        days = settings.PRIVACY_ENTRY_RETENTION_DAYS
    if days < 0:
        raise ContestError(
            _("The number of days to keep personal data cannot be negative (%(days)s).")
            % {"days": days}
        )
    return days


def _entries_to_forget(*, now: datetime, days: int) -> QuerySet[Entry]:
    """The entries ``entries_personal_data_remove`` forgets at ``now``; see there who and why."""
    since = now - timedelta(days=days)
    Status = Selection.Status
    holds_place = Selection.objects.filter(
        entry=OuterRef("pk"), status__in=(Status.PENDING, Status.ACCEPTED)
    )
    changed_since = SelectionEvent.objects.filter(selection__entry=OuterRef("pk"), at__gt=since)
    waiting = Selection.objects.filter(entry=OuterRef("pk"), status=Status.WAITING)
    return (
        Entry.objects.filter(
            contest__draw__drawn_at__lte=since, personal_data_removed_at__isnull=True
        )
        .exclude(Exists(holds_place))
        .exclude(Exists(changed_since))
        .exclude(
            Exists(waiting),
            Q(contest__visit__isnull=False),
            ~visits_over(now, prefix="contest__visit__"),
        )
    )


def entries_personal_data_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Forget the entrants whom no place holds or can still reach, ``days`` after the draw.

    An entry of a contest drawn ``days`` ago or more is forgotten when:

    - it never had a place (not chosen, or not in the draw at all);
    - its place ended (declined, expired, disqualified), ``days`` after that
      last change, so that the mail telling the person has time to leave;
    - it is an alternate never offered a place, once no promotion can reach
      it. A free place goes to an alternate until the visit's day begins
      (``selection_promote``), so the alternate goes once that day is
      over. A draw without a visit has no such end: its alternates wait as
      long as entries not chosen are kept, and a later promotion passes over
      them. Settled places are no end either: a visitor disqualified
      afterwards frees a place again.

    A pending or accepted place keeps its entry; the visitors app's
    ``visitors_private_data_remove`` forgets the accepted ones after their
    visit. Names, emails, handles and motivations go; the ticket, country,
    background, languages, whether it was in the draw and when it was
    confirmed stay, so the counts and the draw's audit record remain
    verifiable. Two queries. Returns how many
    entries were forgotten. ``tweetup.privacy.personal_data_remove`` also
    clears their mail in the outbox. Raises ContestError when ``days`` is
    negative.
    """
    now = now or timezone.now()
    days = entry_retention_days(days)
    return entries_forget(entries=_entries_to_forget(now=now, days=days), now=now)


def entries_forget(*, entries: QuerySet[Entry], now: datetime) -> int:
    """Forget these entrants: names, emails, handles and motivations go, the ticket stays.

    What stays (ticket, country, background, languages, whether the entry was
    in the draw, when it was confirmed) keeps the counts and the draw's audit
    record verifiable. Entries forgotten before are left as they are. Returns
    how many entries were forgotten.
    """
    return entries.filter(personal_data_removed_at__isnull=True).update(
        **_entry_cleared_fields(now)
    )


def entries_forgotten() -> QuerySet[Entry]:
    """Every entry whose personal data was removed, so far."""
    return Entry.objects.filter(personal_data_removed_at__isnull=False)


def _entry_cleared_fields(now: datetime) -> dict:
    marker = Concat(Value("~"), Cast("pk", output_field=CharField()))
    return {
        "name": "",
        "email": "",
        # Unique per contest: a marker no real address or handle can take.
        "email_normalized": marker,
        "twitter_handle": "",
        "handle_normalized": marker,
        "motivation": "",
        "background_other": "",
        "publish_handle": False,
        "personal_data_removed_at": now,
    }
