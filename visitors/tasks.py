"""Celery tasks of the visitors app: thin, they call a service."""

from celery import shared_task
from django.utils.translation import ngettext

from tweetup import jobs

from .services import mail
from .services.messages import visit_message_send


@shared_task
def send_stop_change_digests() -> int:
    """Beat task: one mail per confirmed visitor once a visit's stop edits have settled."""
    return mail.stop_changes_notify()


@shared_task
def send_visit_reminders() -> int:
    """Beat task: the reminder the day before the visit, once per visitor."""
    return mail.visit_reminders_send()


@shared_task(
    acks_late=True, soft_time_limit=jobs.JOB_SOFT_TIME_LIMIT, time_limit=jobs.JOB_TIME_LIMIT
)
def run_visit_message_job(job_id: int) -> None:
    """A message to the visitors of a visit, as a background job (one transaction)."""

    def work(job, progress) -> jobs.Outcome:
        message = visit_message_send(
            visit=job.visit, actor=job.requested_by, progress=progress, **job.params
        )
        return lambda: (
            ngettext(
                "The message is on its way to %(count)s visitor.",
                "The message is on its way to %(count)s visitors.",
                message.recipients_count,
            )
            % {"count": message.recipients_count}
        )

    jobs.job_run(job_id=job_id, work=work, atomic=True)
