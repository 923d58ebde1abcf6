"""The organizer dashboard's figures: kept, and recomputed in the background once old.

Counting a million entries per day, country, background and language takes
seconds: no page waits for it. The dashboard reads the figures last computed
(one query) and, once they are older than ``DASHBOARD_STATISTICS_MAX_AGE``,
has one worker recompute them; the first view of a contest computes them
in the request, when the contest is still small.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from notifications.models import OutboxMessage
from tweetup.publish import task_after_commit

from .. import selectors
from ..models import Contest, ContestStatistics

logger = logging.getLogger(__name__)

# The task that recomputes one contest's figures (contests.tasks), queued by its name.
REFRESH_TASK = "contests.tasks.refresh_contest_statistics"


@dataclass(frozen=True)
class EntryStatistics:
    """A contest's entries counted (in all, per day, per value of a field) and its mails."""

    counts: dict[str, int]
    per_day: list[dict]
    by_country: list[dict]
    by_background: list[dict]
    by_language: list[dict]
    mails: int
    computed_at: datetime


def _from_row(row: ContestStatistics) -> EntryStatistics:
    figures = row.figures
    return EntryStatistics(
        counts=figures["counts"],
        per_day=[{**day, "day": date.fromisoformat(day["day"])} for day in figures["per_day"]],
        by_country=figures["by_country"],
        by_background=figures["by_background"],
        by_language=figures["by_language"],
        mails=figures.get("mails", 0),
        computed_at=row.computed_at,
    )


def contest_statistics_refresh(*, contest_id: int) -> EntryStatistics:
    """Count the contest's entries and mails now (six aggregate queries) and keep the figures."""
    contest = Contest.objects.get(pk=contest_id)
    now = timezone.now()
    figures = {
        "counts": selectors.contest_entry_counts(contest),
        "per_day": [
            {**day, "day": day["day"].isoformat()}
            for day in selectors.contest_entries_per_day(contest)
        ],
        "by_country": selectors.contest_entries_by(contest, "country"),
        "by_background": selectors.contest_entries_by(contest, "background"),
        "by_language": selectors.contest_entries_by_language(contest),
        "mails": OutboxMessage.objects.filter(contest=contest).count(),
    }
    row, _ = ContestStatistics.objects.update_or_create(
        contest=contest,
        defaults={"figures": figures, "computed_at": now, "refresh_queued_at": None},
    )
    return _from_row(row)


def contest_statistics(*, contest: Contest) -> EntryStatistics:
    """The contest's figures as last computed, in one query, whatever its number of entries.

    Figures older than ``DASHBOARD_STATISTICS_MAX_AGE`` are shown as they are
    while one worker recomputes them: of the requests that see them old, one
    queues the task (a conditional update), and another may queue it again
    only once that much time passed without an answer (a worker lost it). A
    contest never counted is counted now. When the broker refuses the task,
    the next view tries again.
    """
    row = ContestStatistics.objects.filter(contest=contest).first()
    if row is None:
        return contest_statistics_refresh(contest_id=contest.pk)
    now = timezone.now()
    old = now - settings.DASHBOARD_STATISTICS_MAX_AGE
    if row.computed_at <= old:
        queued = (
            ContestStatistics.objects.filter(pk=row.pk, computed_at=row.computed_at)
            .filter(Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lte=old))
            .update(refresh_queued_at=now)
        )
        if queued:

            def refused() -> None:
                logger.warning("Broker unavailable; statistics of contest %s stay old.", row.pk)
                ContestStatistics.objects.filter(pk=row.pk, refresh_queued_at=now).update(
                    refresh_queued_at=None
                )

            task_after_commit(REFRESH_TASK, contest.pk, on_refused=refused)
    return _from_row(row)
