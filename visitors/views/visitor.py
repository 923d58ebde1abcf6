"""The visitor's own pages, reached through the signed link of their mail."""

import functools

import segno
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tweetup.errors import errors_shown
from tweetup.http import calendar_response, require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only
from visits.selectors import visit_public_context
from visits.services.calendar import visit_calendar

from ..errors import VisitorError
from ..forms import VisitorProfileForm
from ..models import VisitorProfile
from ..selectors import visitors_public
from ..services.links import visitor_check_in_url, visitor_profile_from_token
from ..services.profiles import visitor_profile_locked, visitor_profile_update
from ..services.site_access import site_access_asked
from .link_failed import link_failed


def profile_link(view):
    """Hands the view the profile its signed link names; a broken link says why (400)."""

    @functools.wraps(view)
    def wrapper(request, token: str):
        try:
            profile = visitor_profile_from_token(token=token)
        except VisitorError as exc:
            return link_failed(request, str(exc))
        return view(request, token, profile)

    return wrapper


@never_cache
@addressee_only
@require_form_methods
@profile_link
def profile_edit(request, token: str, profile: VisitorProfile):
    # The gate's questions appear only on the form of a visit that asks them.
    asked = site_access_asked(profile)
    # From the visit's day on the service refuses changes: the page shows the profile read-only.
    locked = visitor_profile_locked(profile)
    form = VisitorProfileForm(
        request.POST if request.method == "POST" else None,
        profile=profile,
        site_access=asked,
        locked=locked,
        initial=VisitorProfileForm.initial_for(profile, site_access=asked),
    )
    if request.method == "POST":
        if form.is_valid():
            with errors_shown(form) as outcome:
                visitor_profile_update(
                    profile=profile,
                    confirm_attendance=form.cleaned_data["confirm_attendance"],
                    site_access=form.site_access_fields(),
                    base_url=request_base_url(request),
                    **form.profile_fields(),
                )
            if outcome.ok:
                messages.success(request, _("Your profile is saved."))
                return redirect("visitors:profile", token=token)
    return render(
        request,
        "visitors/profile_edit.html",
        {
            "profile": profile,
            "visit": profile.visit,
            "form": form,
            "token": token,
            "locked": locked,
        },
        status=400 if request.method == "POST" else 200,
    )


def _place_gone(request, token: str, profile: VisitorProfile):
    """A place taken back: the badge's notice, and none of the day's private details."""
    return render(
        request,
        "visitors/visitor_itinerary.html",
        {"visit": profile.visit, "profile": profile, "token": token, "place_gone": True},
    )


@never_cache
@addressee_only
@profile_link
def visitor_itinerary(request, token: str, profile: VisitorProfile):
    visit = profile.visit
    if visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    if not profile.holds_place:
        return _place_gone(request, token, profile)
    context = visit_public_context(visit)
    return render(
        request,
        "visitors/visitor_itinerary.html",
        {
            **context,
            "visitors": list(visitors_public(visit)),
            "profile": profile,
            "token": token,
            "private": True,
        },
    )


@never_cache
@addressee_only
@profile_link
def visitor_itinerary_print(request, token: str, profile: VisitorProfile):
    if profile.visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    if not profile.holds_place:
        return _place_gone(request, token, profile)
    context = visit_public_context(profile.visit)
    return render(
        request, "visits/itinerary_print.html", {**context, "profile": profile, "private": True}
    )


@never_cache
@addressee_only
@profile_link
def visitor_calendar(request, token: str, profile: VisitorProfile):
    visit = profile.visit
    if visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    if not profile.holds_place:
        # No event for a day the visitor no longer goes to: the itinerary page says why.
        return redirect("visitors:visitor_itinerary", token=token)
    data = visit_calendar(visit=visit, private=True, base_url=request_base_url(request))
    return calendar_response(data, filename=f"{visit.slug}.ics")


@never_cache
@addressee_only
@profile_link
def visitor_badge(request, token: str, profile: VisitorProfile):
    qr_svg = ""
    if profile.holds_place:
        # A place taken back has no badge: no code, nothing to show at the door.
        check_in_url = visitor_check_in_url(profile, base_url=request_base_url(request))
        qr_svg = segno.make(check_in_url, error="m").svg_inline(scale=5, title=_("Check-in code"))
    return render(
        request,
        "visitors/badge.html",
        {"profile": profile, "visit": profile.visit, "qr_svg": qr_svg, "token": token},
    )
