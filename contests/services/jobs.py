"""The organizers' long work on a contest, started as background jobs (``tweetup.jobs``).

Each press starts a job, or finds the one of the same kind already queued
or running for the contest; the contest's tasks run them
(``contests.tasks.run_*_job``). What can be refused at once is refused here,
before any job exists, with the service's own message.
"""

from tweetup import jobs
from tweetup.models import Job

from ..models import Contest
from .draws import CAP_FIELDS, contest_freeze_check, draw_run_check

Kind = Job.Kind
EXPORTS = {"entries": Kind.EXPORT_ENTRIES, "selections": Kind.EXPORT_SELECTIONS}


def freeze_job_start(*, contest: Contest, actor) -> tuple[Job, bool]:
    """Start the freeze of the contest as a job; ``(job, created)``.

    Raises ContestError when the contest cannot be frozen (not closed, or
    frozen already), unless a freeze job is already under way.
    """
    running = jobs.job_active(kind=Kind.FREEZE, contest=contest)
    if running is not None:
        return running, False
    contest_freeze_check(contest=contest)
    return jobs.job_start(
        kind=Kind.FREEZE, task="contests.tasks.run_freeze_job", actor=actor, contest=contest
    )


def draw_job_start(
    *,
    contest: Contest,
    actor,
    external_entropy: str = "",
    caps: dict[str, int] | None = None,
    base_url: str | None = None,
) -> tuple[Job, bool]:
    """Start the draw of the contest as a job, with its entropy and caps; ``(job, created)``.

    Raises AlreadyDrawn or ContestError as ``draw_run`` would, unless a draw
    job is already under way (a second press shows it).
    """
    running = jobs.job_active(kind=Kind.DRAW, contest=contest)
    if running is not None:
        return running, False
    draw_run_check(contest=contest)
    caps = None if caps is None else {k: v for k, v in caps.items() if k in CAP_FIELDS}
    return jobs.job_start(
        kind=Kind.DRAW,
        task="contests.tasks.run_draw_job",
        actor=actor,
        contest=contest,
        params={"external_entropy": external_entropy or "", "caps": caps, "base_url": base_url},
    )


def export_job_start(*, contest: Contest, actor, what: str) -> tuple[Job, bool]:
    """Start the CSV export of the contest's ``what`` ("entries" or "selections") as a job."""
    return jobs.job_start(
        kind=EXPORTS[what], task="contests.tasks.run_export_job", actor=actor, contest=contest
    )
