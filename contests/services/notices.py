"""The kind notice to the entrants who were not chosen, once every place is settled.

There may be many: the organizer asks for them (``contest_notify_not_chosen``)
and a background job writes them (``not_chosen_notices_queue``, with its
progress); should its worker die or the broker be down, the beat tasks
finish them.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from notifications.services.outbox import Mail, mail_enqueue_many
from tweetup import jobs
from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url
from tweetup.models import Job

from ..errors import ContestError
from ..models import Contest, Entry, Selection
from .selections import contest_places_settled

logger = logging.getLogger(__name__)

NOT_CHOSEN_KIND = OutboxMessage.Kind.NOT_CHOSEN
Status = Selection.Status


def entries_not_chosen(contest: Contest):
    """Entries of the draw that were never offered a place (alternates left waiting too)."""
    offered = Selection.objects.filter(draw__contest=contest).exclude(status=Status.WAITING)
    return (
        Entry.objects.in_draw(contest)
        .filter(personal_data_removed_at__isnull=True)
        .exclude(pk__in=offered.values("entry_id"))
        .filter(Q(invalidated_at__isnull=True))
    )


def contest_notify_not_chosen(*, contest: Contest, actor=None, now: datetime | None = None) -> Job:
    """Mark the contest so that a kind notice goes to every entrant not chosen, once.

    The notices are written by a background job (there may be many), which
    this returns; should the broker be down, the beat tasks
    ``resume_stale_jobs`` and ``resume_not_chosen_notices`` finish them.
    Raises ContestError before the places are settled or when it was done
    already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=contest.pk)
        if contest.not_chosen_notified_at is not None:
            raise ContestError(_("The entrants who were not chosen have already been told."))
        state = contest_places_settled(contest=contest)
        if state is None or not state.settled:
            raise ContestError(
                _("Wait until every place is settled before telling those who were not chosen.")
            )
        contest.not_chosen_notified_at = now
        contest.save(update_fields=["not_chosen_notified_at"])
        log_action(actor=actor, action=Verb.NOT_CHOSEN_NOTIFY, target=contest, at=now)
        logger.info("Not-chosen notices for contest %s asked by %s.", contest.pk, actor)
        job, _created = jobs.job_start(
            kind=Job.Kind.NOT_CHOSEN,
            task="contests.tasks.run_not_chosen_job",
            actor=actor,
            contest=contest,
            now=now,
        )
    return job


def not_chosen_notices_unfinished(*, now: datetime | None = None) -> list[int]:
    """Contests told in the last week whose not-chosen notices are not all queued."""
    since = (now or timezone.now()) - timedelta(days=7)
    unfinished = []
    for contest in Contest.objects.filter(not_chosen_notified_at__gte=since):
        expected = entries_not_chosen(contest).count()
        queued = OutboxMessage.objects.filter(contest=contest, kind=NOT_CHOSEN_KIND).count()
        if queued < expected:
            unfinished.append(contest.pk)
    return unfinished


def not_chosen_notices_queue(
    *,
    contest_id: int,
    base_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Queue the not-chosen notice of every entrant not chosen; returns how many were new.

    Written in batches (``mail_enqueue_many``): a few queries per thousand
    entrants. Safe to run again after a crash: each notice has its own key,
    and the notices already written are skipped. ``progress(done, total)`` is
    called every few thousand entrants.
    """
    contest = Contest.objects.select_related("visit").get(pk=contest_id)
    if contest.not_chosen_notified_at is None:
        return 0
    contest_url = absolute_url(contest.get_absolute_url(), base_url=base_url)
    total = entries_not_chosen(contest).count() if progress is not None else 0
    entries = entries_not_chosen(contest).order_by("pk").iterator(chunk_size=2000)

    def mails():
        for done, entry in enumerate(entries):
            if progress is not None and done % 2000 == 0:
                progress(done, max(total, done))
            yield Mail(
                key=f"{NOT_CHOSEN_KIND}:{contest.pk}:{entry.pk}",
                kind=NOT_CHOSEN_KIND,
                to=entry.email,
                language=entry.language,
                template="contests/mail/not_chosen",
                context={"entry": entry, "contest": contest, "contest_url": contest_url},
                contest_id=contest.pk,
                concerns=entry,
            )

    queued = mail_enqueue_many(mails=mails())
    if progress is not None:
        progress(total, total)
    return queued
