"""Celery tasks of the site as a whole: thin, they call the coordinator or a service."""

from celery import shared_task
from django.utils.translation import gettext as _

from . import health, jobs, privacy


@shared_task
def remove_personal_data() -> int:
    """Beat task: start the job that removes the personal data kept past its time."""
    job, _created = jobs.job_start(
        kind=jobs.Kind.PURGE, task="tweetup.tasks.run_purge_job", actor=None
    )
    return job.pk


@shared_task(
    acks_late=True, soft_time_limit=jobs.JOB_SOFT_TIME_LIMIT, time_limit=jobs.JOB_TIME_LIMIT
)
def run_purge_job(job_id: int) -> None:
    """Remove the personal data kept past its time (entrants, visitors, their mail)."""

    def work(job, progress) -> jobs.Outcome:
        removed = privacy.personal_data_remove(progress=progress)
        return lambda: (
            _(
                "Personal data removed from %(entries)s entries and %(visitors)s visitor "
                "profiles (%(mails)s mails about them cleared)."
            )
            % removed
        )

    jobs.job_run(job_id=job_id, work=work, atomic=True)


@shared_task
def resume_stale_jobs() -> int:
    """Beat task: queue again the background jobs whose worker died or whose task was lost."""
    return jobs.jobs_resume()


@shared_task
def beat_heartbeat() -> None:
    """Beat task: record that beat ticks and a worker runs the periodic queue."""
    health.heartbeat_record()
