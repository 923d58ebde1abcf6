"""A winner answers the offer of a place: accepting makes them a visitor."""

from datetime import datetime

from django.db import transaction

from contests.models import Selection
from contests.services.selections import selection_accept

from ..models import VisitorProfile
from .profiles import visitor_profile_create


def place_accept(
    *,
    selection: Selection,
    can_attend: bool,
    actor=None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> VisitorProfile:
    """Accept a pending place and make its winner a visitor, in one transaction.

    The place is accepted by the contest's rules
    (``contests.services.selections.selection_accept``); the visitor profile
    is made from the entry and the welcome mail, with the visitor's signed
    links (starting at ``base_url``), is queued, or nothing is. Returns the
    profile. Raises ContestError when the date is not confirmed, the place was
    already answered or taken back, or the deadline has passed.
    """
    with transaction.atomic():
        selection = selection_accept(
            selection=selection, can_attend=can_attend, actor=actor, now=now
        )
        return visitor_profile_create(selection=selection, base_url=base_url)
