"""Celery tasks of the site as a whole: thin, they call the coordinator or a service."""

from celery import shared_task

from . import health, privacy


@shared_task
def remove_personal_data() -> dict[str, int]:
    """Beat task: remove the personal data kept past its time (entrants, visitors, their mail)."""
    return privacy.personal_data_remove()


@shared_task
def beat_heartbeat() -> None:
    """Beat task: record that beat ticks and a worker runs the periodic queue."""
    health.heartbeat_record()
