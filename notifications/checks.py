"""System checks of the outbox's settings."""

from datetime import timedelta

from django.conf import settings
from django.core.checks import Warning, register

# Exchanges of one SMTP conversation that EMAIL_TIMEOUT bounds each: connect,
# greeting, EHLO, STARTTLS, EHLO again, AUTH, MAIL, RCPT, DATA, QUIT.
SMTP_EXCHANGES = 10


def longest_conversation() -> timedelta:
    """How long one mail's SMTP conversation may last with the default mailer's timeouts."""
    options = getattr(settings, "MAILERS", {}).get("default", {}).get("OPTIONS", {})
    return timedelta(
        seconds=(options.get("timeout") or 0) * SMTP_EXCHANGES + (options.get("data_timeout") or 0)
    )


@register()
def outbox_sending_timeout(app_configs, **kwargs) -> list[Warning]:
    """A claim must outlast the longest SMTP conversation, or a slow mail is sent twice.

    A batch begins no mail past OUTBOX_SENDING_TIMEOUT less this, after its claim.
    """
    longest = longest_conversation()
    if settings.OUTBOX_SENDING_TIMEOUT > longest:
        return []
    return [
        Warning(
            f"OUTBOX_SENDING_TIMEOUT ({settings.OUTBOX_SENDING_TIMEOUT}) is not longer than an "
            f"SMTP conversation may last ({longest}).",
            hint="Raise OUTBOX_SENDING_TIMEOUT_SECONDS, or lower EMAIL_TIMEOUT or "
            "EMAIL_DATA_TIMEOUT: a mail still being sent would be taken over and sent twice.",
            id="notifications.W001",
        )
    ]
