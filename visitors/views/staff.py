"""The organizers' and tour admins' pages about the visitors of a visit."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tweetup import audit
from tweetup.errors import errors_shown
from tweetup.http import error_page, require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import permission_required
from visits.models import Visit

from ..errors import VisitorError
from ..forms import VisitMessageForm
from ..models import VisitorProfile
from ..selectors import visit_group_summary, visitor_profiles
from ..services import site_access as site_access_services
from ..services.check_in import check_in_closed, visitor_check_in
from ..services.links import visitor_from_check_in_token
from ..services.messages import visit_message_job_start


def _staff_actions(visit: Visit) -> dict:
    """The visit's newest staff actions, for its staff pages."""
    return {
        "staff_actions": audit.staff_actions(visit=visit),
        "staff_actions_url": audit.staff_actions_url(visit=visit),
    }


@permission_required("visitors.view_visitorprofile")
def group_summary(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    summary = visit_group_summary(visit=visit)
    site_access = None
    if visit.collects_site_access and request.user.has_perm(site_access_services.PERMISSION):
        site_access = site_access_services.site_access_given(visit=visit)
    return render(
        request,
        "visitors/group.html",
        {"visit": visit, "summary": summary, "site_access": site_access, **_staff_actions(visit)},
    )


@never_cache
@permission_required(site_access_services.PERMISSION)
def site_access_export(request, slug: str):
    """The visitors' site-access details as one CSV file, for security; on the record."""
    visit = get_object_or_404(Visit, slug=slug)
    if not visit.collects_site_access:
        return error_page(
            request,
            _("No site-access details"),
            _("This visit does not ask its visitors for site-access details."),
            404,
        )
    text, _count = site_access_services.site_access_export(visit=visit, actor=request.user)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{visit.slug}-site-access.csv"'
    response["Cache-Control"] = "no-store"
    return response


@permission_required("visitors.check_in_visitorprofile")
@require_form_methods
def check_in_list(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    if request.method == "POST":
        visitor_id = request.POST.get("visitor", "")
        profile = (
            VisitorProfile.objects.for_visit(visit).filter(pk=int(visitor_id)).first()
            if visitor_id.isdigit()
            else None
        )
        if profile is None:
            return error_page(
                request, _("Unknown visitor"), _("Choose a visitor of this visit."), 400
            )
        with errors_shown(request):
            visitor_check_in(
                profile=profile, actor=request.user, undo=request.POST.get("undo") == "1"
            )
        return redirect("visitors:check_in", slug=visit.slug)
    profiles = list(visitor_profiles(visit))
    return render(
        request,
        "visitors/check_in.html",
        {
            "visit": visit,
            "profiles": profiles,
            "arrived": sum(1 for p in profiles if p.is_checked_in),
            # Outside the visit's day the service refuses arrivals: the page says so instead.
            "closed": check_in_closed(visit=visit),
            **_staff_actions(visit),
        },
    )


@permission_required("visitors.check_in_visitorprofile")
@require_form_methods
def check_in_link(request, token: str):
    """Where a badge's QR code leads: a tour admin confirms the arrival with one tap."""
    try:
        profile = visitor_from_check_in_token(token=token)
    except VisitorError as exc:
        return error_page(request, _("Check-in failed"), str(exc), status=404)
    visit = profile.visit
    if request.method == "POST":
        try:
            visitor_check_in(profile=profile, actor=request.user)
        except VisitorError as exc:
            return error_page(request, _("Check-in failed"), str(exc), status=400)
        messages.success(
            request, _("%(visitor)s has arrived.") % {"visitor": profile.display_name or profile}
        )
        if visit is not None:
            return redirect("visitors:check_in", slug=visit.slug)
        return redirect("visitors:check_in_link", token=token)
    return render(request, "visitors/check_in_confirm.html", {"profile": profile, "visit": visit})


@permission_required("visitors.add_visitmessage")
@require_form_methods
def message_visitors(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    form = VisitMessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_shown(form) as outcome:
            job, _created = visit_message_job_start(
                visit=visit,
                audience=data["audience"],
                subject_en=data["subject_en"],
                body_en=data["body_en"],
                subject_fr=data["subject_fr"],
                body_fr=data["body_fr"],
                actor=request.user,
                base_url=request_base_url(request),
            )
        if outcome.ok:
            # Written by a background job: its page shows how far it got.
            return redirect(job)
    sent = visit.messages.select_related("sent_by")[:20]
    counts = (
        VisitorProfile.objects.for_visit(visit)
        .active()
        .aggregate(
            total=Count("pk"),
            unconfirmed=Count("pk", filter=Q(attendance_confirmed_at__isnull=True)),
        )
    )
    return render(
        request,
        "visitors/message.html",
        {"visit": visit, "form": form, "sent": sent, "counts": counts},
        status=400 if form.errors else 200,
    )
