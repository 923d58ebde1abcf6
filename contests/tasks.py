"""Celery tasks of the contests app: thin, they take primary keys and call a service."""

from celery import shared_task

from .services import notices as notice_services
from .services import selections as selection_services
from .services import statistics as statistics_services


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
