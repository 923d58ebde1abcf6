"""Celery tasks of the outbox: thin, they take primary keys and call a service."""

from celery import shared_task

from . import services


@shared_task
def send_outbox_message(message_id: int) -> bool:
    """Send one outbox row: one attempt; a transient failure waits for the sweep's backoff."""
    return services.message_send(message_id=message_id)


@shared_task
def send_unsent_messages() -> int:
    """Beat task: queue every row that is due, and tell the organizers of mail that failed."""
    queued = services.messages_due_queue()
    services.failures_report()
    return queued
