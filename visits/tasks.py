"""Celery tasks of the visits app: thin, they call a service."""

from celery import shared_task

from . import services


@shared_task
def send_stop_change_digests() -> int:
    """Beat task: one mail per confirmed visitor once a visit's stop edits have settled."""
    return services.stop_changes_notify()


@shared_task
def send_visit_reminders() -> int:
    """Beat task: the reminder the day before the visit, once per visitor."""
    return services.visit_reminders_send()


@shared_task
def remove_personal_data() -> dict[str, int]:
    """Beat task: remove the personal data kept past its time (entrants, visitors, their mail)."""
    return services.personal_data_remove()
