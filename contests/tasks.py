"""Celery tasks of the contests app: thin, they take primary keys and call a service."""

import functools

from celery import shared_task
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tweetup import jobs
from tweetup.models import Job

from .services import draws as draw_services
from .services import exports as export_services
from .services import notices as notice_services
from .services import selections as selection_services
from .services import statistics as statistics_services

# Long work: past Celery's default limits, which suit the mail.
JOB_TASK = {
    "acks_late": True,
    "soft_time_limit": jobs.JOB_SOFT_TIME_LIMIT,
    "time_limit": jobs.JOB_TIME_LIMIT,
}


@shared_task
def expire_overdue_selections() -> int:
    """Beat task: expire unanswered offers past their deadline and offer the places on."""
    return selection_services.selections_expire_overdue()


@shared_task
def send_not_chosen_notices(contest_id: int) -> int:
    """Queue the kind notice to every entrant of the contest who was not chosen."""
    return notice_services.not_chosen_notices_queue(contest_id=contest_id)


@shared_task
def resume_not_chosen_notices() -> int:
    """Beat task: finish the not-chosen notices a broker outage or a crash left undone."""
    contest_ids = notice_services.not_chosen_notices_unfinished()
    for contest_id in contest_ids:
        send_not_chosen_notices.delay(contest_id)
    return len(contest_ids)


@shared_task
def refresh_contest_statistics(contest_id: int) -> None:
    """Recompute the organizer dashboard's figures of a contest."""
    statistics_services.contest_statistics_refresh(contest_id=contest_id)


def _frozen(count: int, digest: str) -> str:
    return ngettext(
        "The contest is frozen: %(count)s ticket is in the draw, tickets digest %(digest)s.",
        "The contest is frozen: %(count)s tickets are in the draw, tickets digest %(digest)s.",
        count,
    ) % {"count": intcomma(count), "digest": digest}


@shared_task(**JOB_TASK)
def run_freeze_job(job_id: int) -> None:
    """The freeze of a contest, as a background job (one transaction with its outcome)."""

    def work(job: Job, progress) -> jobs.Outcome:
        contest = draw_services.contest_freeze(
            contest=job.contest, actor=job.requested_by, progress=progress
        )
        return functools.partial(_frozen, contest.tickets_count, contest.tickets_digest)

    jobs.job_run(job_id=job_id, work=work, atomic=True)


@shared_task(**JOB_TASK)
def run_draw_job(job_id: int) -> None:
    """The draw of a contest and its winners' offers, as a background job (one transaction)."""

    def work(job: Job, progress) -> jobs.Outcome:
        draw_services.draw_run(
            contest=job.contest,
            actor=job.requested_by,
            external_entropy=job.params.get("external_entropy", ""),
            caps=job.params.get("caps"),
            base_url=job.params.get("base_url"),
            progress=progress,
        )
        return lambda: _("The winners are drawn and their offers are sent.")

    jobs.job_run(job_id=job_id, work=work, atomic=True)


@shared_task(**JOB_TASK)
def run_export_job(job_id: int) -> None:
    """A CSV export of a contest (entries or places), written whole to a file, or not at all."""

    def work(job: Job, progress) -> jobs.Outcome:
        what, write = {
            Job.Kind.EXPORT_ENTRIES: ("entries", export_services.entries_export_write),
            Job.Kind.EXPORT_SELECTIONS: ("selections", export_services.selections_export_write),
        }[job.kind]
        rows = 0

        def write_rows(out) -> None:
            nonlocal rows
            rows = write(contest=job.contest, out=out, progress=progress)

        jobs.job_file_write(job=job, filename=f"{job.contest.slug}-{what}.csv", write=write_rows)
        return lambda: (
            ngettext(
                "The export is ready: %(count)s row.", "The export is ready: %(count)s rows.", rows
            )
            % {"count": intcomma(rows)}
        )

    jobs.job_run(job_id=job_id, work=work)


@shared_task(**JOB_TASK)
def run_not_chosen_job(job_id: int) -> None:
    """The kind notice to every entrant not chosen, as a background job (safe to run again)."""

    def work(job: Job, progress) -> jobs.Outcome:
        queued = notice_services.not_chosen_notices_queue(
            contest_id=job.contest_id, progress=progress
        )
        return lambda: (
            ngettext(
                "%(count)s notice is in the outbox.", "%(count)s notices are in the outbox.", queued
            )
            % {"count": intcomma(queued)}
        )

    jobs.job_run(job_id=job_id, work=work)
