"""Business rules of the contests app, one module per topic.

Callers import from here: ``from contests import services``.
"""

from .entries import (
    ContestError,
    contest_countdown_target,
    contest_create,
    entry_confirm,
    entry_confirm_token,
    entry_confirm_url,
    entry_resend_confirmation,
    entry_submit,
    ticket_generate,
)

__all__ = [
    "ContestError",
    "contest_countdown_target",
    "contest_create",
    "entry_confirm",
    "entry_confirm_token",
    "entry_confirm_url",
    "entry_resend_confirmation",
    "entry_submit",
    "ticket_generate",
]
