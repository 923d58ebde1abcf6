"""Celery tasks of the outbox: thin, they take primary keys and call a service."""

from celery import shared_task

from .services import reports, sending


@shared_task
def send_outbox_message(message_id: int) -> bool:
    """Send one outbox row: one attempt; a transient failure waits for the sweep's backoff."""
    return sending.message_send(message_id=message_id)


@shared_task
def send_unsent_messages() -> int:
    """Beat task: queue every row that is due, and tell the organizers of mail that failed."""
    queued = sending.messages_due_queue()
    reports.failures_report()
    return queued
