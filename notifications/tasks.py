"""Celery tasks of the outbox: thin, they take primary keys and call a service."""

import structlog
from celery import shared_task
from django.dispatch import receiver
from django_structlog.celery.signals import bind_extra_task_metadata

from .services import reports, sending


@shared_task
def send_outbox_message(message_id: int) -> bool:
    """Send one outbox row: one attempt; a transient failure waits for the sweep's backoff."""
    return sending.message_send(message_id=message_id)


@shared_task
def send_outbox_messages(message_ids: list[int]) -> int:
    """Send a batch of outbox rows over one connection: one attempt each, as above."""
    return sending.messages_send(message_ids=message_ids)


@shared_task
def send_unsent_messages() -> int:
    """Beat task: queue every row that is due, and tell the organizers of mail that failed."""
    queued = sending.messages_due_queue()
    reports.failures_report()
    return queued


@receiver(bind_extra_task_metadata)
def _bind_outbox_row(sender, task, logger, **kwargs) -> None:
    """Name the outbox row in every line the send task logs, from its start to its end."""
    if task.name == send_outbox_message.name:
        args, named = task.request.args or (), task.request.kwargs or {}
        structlog.contextvars.bind_contextvars(
            outbox_id=named.get("message_id", args[0] if args else None)
        )
