"""Reads of the outbox shared by several callers (the health check, the metrics)."""

from datetime import datetime

from django.db.models import Min

from .models import OutboxMessage

Status = OutboxMessage.Status


def unsent_oldest_created_at() -> datetime | None:
    """When the oldest mail not sent yet (pending, or in a worker's hands) was written.

    None when every mail has been sent or has failed for good. One query, on
    the outbox's status index.
    """
    return OutboxMessage.objects.filter(status__in=[Status.PENDING, Status.SENDING]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
