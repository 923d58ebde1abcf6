"""The winner's side: answer an offered place through the signed link of the mail.

A GET only shows a confirmation page; the answer is a POST. The token names one
selection and its current offer, so a link never acts on anybody else's place.
Accepting makes the winner a visitor (``place_accept``); the page of an
answered place links to the visitor's profile.
"""

from django.shortcuts import redirect, render

from contests.errors import ContestError
from contests.models import Selection, SelectionEvent
from contests.services.answers import (
    selection_answer_deadline,
    selection_context,
    selection_from_token,
)
from contests.services.selections import selection_decline
from tweetup.errors import errors_shown
from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only

from ..forms import AcceptForm, DeclineForm
from ..models import VisitorProfile
from ..services.links import visitor_profile_url
from ..services.places import place_accept
from .link_failed import link_failed


def _visitor_profile_url(request, selection: Selection) -> str | None:
    """The visitor's profile page, once the place is accepted."""
    profile = VisitorProfile.objects.filter(selection=selection).first()
    if profile is None:
        return None
    return visitor_profile_url(profile, base_url=request_base_url(request))


def _answered(request, selection: Selection, status: int = 200):
    return render(
        request,
        "visitors/places/answered.html",
        selection_context(selection, profile_url=_visitor_profile_url(request, selection)),
        status=status,
    )


@addressee_only
@require_form_methods
def place_accept_page(request, token: str):
    try:
        selection = selection_from_token(token=token)
    except ContestError as exc:
        return link_failed(request, str(exc))
    if selection.status != Selection.Status.PENDING and request.method == "GET":
        return _answered(request, selection)
    visit = selection.draw.contest.visit
    form = AcceptForm(request.POST if request.method == "POST" else None, visit=visit)
    if request.method == "POST":
        if selection.status != Selection.Status.PENDING:
            return _answered(request, selection, status=409)
        if form.is_valid():
            with errors_shown(form) as outcome:
                place_accept(
                    selection=selection,
                    can_attend=form.cleaned_data["can_attend"],
                    base_url=request_base_url(request),
                )
            if outcome.ok:
                return redirect("visitors:place_accept", token=token)
    return render(
        request,
        "visitors/places/answer.html",
        selection_context(
            selection,
            form=form,
            action="accept",
            answer_by=selection_answer_deadline(selection),
        ),
        status=400 if request.method == "POST" else 200,
    )


@addressee_only
@require_form_methods
def place_decline_page(request, token: str):
    try:
        selection = selection_from_token(token=token)
    except ContestError as exc:
        return link_failed(request, str(exc))
    if selection.status != Selection.Status.PENDING and request.method == "GET":
        return _answered(request, selection)
    form = DeclineForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if selection.status != Selection.Status.PENDING:
            return _answered(request, selection, status=409)
        with errors_shown(form) as outcome:
            selection_decline(
                selection=selection,
                cause=SelectionEvent.Cause.DECLINED_BY_LINK,
                base_url=request_base_url(request),
            )
        if outcome.ok:
            return redirect("visitors:place_decline", token=token)
    return render(
        request,
        "visitors/places/answer.html",
        selection_context(
            selection,
            form=form,
            action="decline",
            answer_by=selection_answer_deadline(selection),
        ),
        status=400 if request.method == "POST" else 200,
    )
