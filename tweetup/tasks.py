"""Celery tasks of the site as a whole: thin, they call the coordinator."""

from celery import shared_task

from . import privacy


@shared_task
def remove_personal_data() -> dict[str, int]:
    """Beat task: remove the personal data kept past its time (entrants, visitors, their mail)."""
    return privacy.personal_data_remove()
