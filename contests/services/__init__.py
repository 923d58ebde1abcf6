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
from .selections import (
    PlacesState,
    contest_notify_not_chosen,
    contest_places_settled,
    draw_offers_send,
    entries_not_chosen,
    not_chosen_notices_queue,
    places_state,
    selection_accept,
    selection_answer_token,
    selection_answer_url,
    selection_decline,
    selection_deadline_zone,
    selection_disqualify,
    selection_from_token,
    selection_notify,
    selection_promote,
    selections_expire_overdue,
)

__all__ = [
    "PlacesState",
    "contest_notify_not_chosen",
    "contest_places_settled",
    "draw_offers_send",
    "entries_not_chosen",
    "not_chosen_notices_queue",
    "places_state",
    "selection_accept",
    "selection_answer_token",
    "selection_answer_url",
    "selection_decline",
    "selection_deadline_zone",
    "selection_disqualify",
    "selection_from_token",
    "selection_notify",
    "selection_promote",
    "selections_expire_overdue",
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
