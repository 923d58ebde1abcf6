import smtplib

from celery import shared_task

from . import services


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def send_outbox_message(message_id: int) -> bool:
    """Send one outbox row; a few quick retries, then the sweep's longer backoff."""
    return services.message_send(message_id=message_id)


@shared_task
def send_unsent_messages() -> int:
    """Beat task: queue rows left unsent (broker down at the time, worker crash)."""
    ids = services.unsent_message_ids()
    for message_id in ids:
        send_outbox_message.delay(message_id)
    return len(ids)
