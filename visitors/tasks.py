"""Celery tasks of the visitors app: thin, they call a service."""

from celery import shared_task

from .services import mail


@shared_task
def send_stop_change_digests() -> int:
    """Beat task: one mail per confirmed visitor once a visit's stop edits have settled."""
    return mail.stop_changes_notify()


@shared_task
def send_visit_reminders() -> int:
    """Beat task: the reminder the day before the visit, once per visitor."""
    return mail.visit_reminders_send()
