"""The entrants' privacy: the purge that forgets those no place holds, and withdrawal.

``tweetup.privacy.personal_data_remove`` runs the purge with the visitors' purge
and the outbox's, in that order. An entrant withdraws through the signed link of
their confirmation mail (``entry_withdraw``); the visitors app's
``entrant_withdraw`` adds the visitor profile, if any.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.services.outbox import outbox_personal_data_remove
from tweetup.links import absolute_url, signed_link_data, signed_link_token
from visits.selectors import visits_over

from ..errors import ContestError
from ..models import Contest, Entry, Selection, SelectionEvent
from .selections import selection_withdrawn

logger = logging.getLogger(__name__)

WITHDRAW_SALT = "contests.entry-withdraw"
# The places a withdrawal declines: held, offered, or an alternate's rank still waiting.
WITHDRAWABLE = (Selection.Status.WAITING, Selection.Status.PENDING, Selection.Status.ACCEPTED)


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


# Withdrawal ------------------------------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing an entry did, for the page that says so."""

    entry: Entry
    # Withdrawn before this request: nothing changed now.
    already: bool
    # The ticket stays in the frozen draw (its digest holds it), without a name.
    ticket_kept: bool
    # A place (or an alternate's rank) the entry held was declined.
    place_declined: bool


def entry_withdraw_token(entry: Entry) -> str:
    """A signed token naming the entry, for its entrant's withdrawal link; it does not expire.

    An entrant may withdraw at any time; once the purge has forgotten the
    entry there is nothing left for the link to remove.
    """
    return signed_link_token(salt=WITHDRAW_SALT, w=entry.pk)


def entry_withdraw_url(entry: Entry, *, base_url: str | None = None) -> str:
    # The page is the visitors app's: withdrawing also clears a visitor's profile.
    path = reverse("visitors:entry_withdraw", kwargs={"token": entry_withdraw_token(entry)})
    return absolute_url(path, base_url=base_url)


def entry_from_withdraw_token(*, token: str) -> Entry:
    """The entry a genuine withdrawal link names; raises ContestError otherwise."""
    data = signed_link_data(
        token,
        salt=WITHDRAW_SALT,
        key="w",
        max_age=None,
        error=ContestError,
        invalid=_("This withdrawal link is not valid. Open it exactly as it appears in your mail."),
    )
    entry = Entry.objects.select_related("contest").filter(pk=data["w"]).first()
    if entry is None:
        raise ContestError(_("This entry no longer exists."))
    return entry


def entry_withdrawal_effect(entry: Entry) -> Withdrawal:
    """What withdrawing the entry would do now, or did: the page asks before and says after."""
    selections = Selection.objects.filter(entry=entry)
    if entry.withdrawn_at is None:
        declined = selections.filter(status__in=WITHDRAWABLE)
    else:
        declined = selections.filter(status=Selection.Status.DECLINED)
    return Withdrawal(
        entry=entry,
        already=entry.withdrawn_at is not None,
        ticket_kept=entry.contest.frozen_at is not None and entry.in_draw,
        place_declined=declined.exists(),
    )


# Why an entry withdrawn before the freeze is out of the draw (the entrant asked).
WITHDRAWN_REASON = Entry.WITHDRAWN_REASON


def entry_withdraw(
    *, entry: Entry, base_url: str | None = None, now: datetime | None = None
) -> Withdrawal:
    """Withdraw an entry at its entrant's request: their personal data goes at once.

    Before the freeze the entry leaves the draw: it is invalidated, with the
    reason WITHDRAWN_REASON, as an organizer would (``EntryQuerySet.in_draw``).
    After it the ticket stays among the frozen tickets, so the published
    digest and draw still verify, but the entry's name, email, handle and
    motivation go (``entries_forget``) and a place it holds or may still be
    offered is declined, offering it on to an alternate
    (``selection_withdrawn``; a draw made later declines it likewise). The
    mail about the entry is cleared from the outbox. The contest row is
    locked, so a withdrawal and a freeze never overlap. Withdrawing twice
    changes nothing the second time. Logged without personal data.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=entry.contest_id)
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        entry.contest = contest
        if entry.withdrawn_at is not None:
            return entry_withdrawal_effect(entry)
        entry.withdrawn_at = now
        fields = ["withdrawn_at"]
        if contest.frozen_at is None and entry.invalidated_at is None:
            # Out of the draw the way any entry leaves it before the freeze, so
            # that "in the draw" (``EntryQuerySet.in_draw``) needs no other column.
            entry.invalidated_at = now
            entry.invalid_reason = WITHDRAWN_REASON
            fields += ["invalidated_at", "invalid_reason"]
        entry.save(update_fields=fields)
        entries_forget(entries=Entry.objects.filter(pk=entry.pk), now=now)
        declined = False
        for selection in Selection.objects.filter(entry=entry):
            declined = selection_withdrawn(selection=selection, base_url=base_url, now=now)
        outbox_personal_data_remove(forgotten=[Entry.objects.filter(pk=entry.pk)])
        entry.refresh_from_db()
    ticket_kept = contest.frozen_at is not None and entry.in_draw
    logger.info(
        "Entry %s of contest %s withdrawn by its entrant (ticket kept in the frozen draw: %s, "
        "place declined: %s).",
        entry.pk,
        contest.slug,
        ticket_kept,
        declined,
    )
    return Withdrawal(entry=entry, already=False, ticket_kept=ticket_kept, place_declined=declined)
