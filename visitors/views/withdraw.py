"""An entrant withdraws their entry through the signed link of their mail.

A GET says what withdrawing does and asks; the withdrawal is a POST, after which
the same link says what was done. The page is the visitors app's because a
winner who became a visitor withdraws their profile with their entry.
"""

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from contests.errors import ContestError
from contests.models import Selection
from contests.services.privacy import entry_from_withdraw_token, entry_withdrawal_effect
from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only

from ..models import VisitorProfile
from ..services.privacy import entrant_withdraw
from .link_failed import link_failed


@never_cache
@addressee_only
@require_form_methods
def entry_withdraw_page(request, token: str):
    try:
        entry = entry_from_withdraw_token(token=token)
    except ContestError as exc:
        return link_failed(request, str(exc))
    if request.method == "POST":
        entrant_withdraw(entry=entry, base_url=request_base_url(request))
        return redirect("visitors:entry_withdraw", token=token)
    withdrawal = entry_withdrawal_effect(entry)
    # A visitor profile is made when a place is accepted: withdrawing gives up the visit too.
    profile = (
        VisitorProfile.objects.select_related("selection__draw__contest__visit")
        .filter(selection__entry=entry)
        .first()
    )
    visitor = profile is not None and (
        withdrawal.place_declined if withdrawal.already else profile.holds_place
    )
    # An alternate never offered a place gives up a rank, not a place.
    rank_only = Selection.objects.filter(
        entry=entry, kind=Selection.Kind.ALTERNATE, promoted_at__isnull=True
    ).exists()
    return render(
        request,
        "visitors/withdraw.html",
        {
            "withdrawal": withdrawal,
            "contest": entry.contest,
            "drawn": entry.contest.is_drawn,
            "visitor": visitor,
            "rank_only": rank_only,
            "visit": profile.visit if visitor else None,
        },
    )
