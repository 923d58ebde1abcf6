"""Views of the visits app: thin, they call the services and the selectors."""

import secrets

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from tweetup import audit
from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only, permission_required

from . import selectors, services
from .forms import LiveUpdateForm, QuestionForm, VisitMessageForm, VisitorProfileForm
from .models import LiveUpdate, Question, TourStop, Visit, VisitorProfile

VOTER_SESSION_KEY = "visits_voter"
# The live page shows this many updates; older ones are on the next pages.
LIVE_PAGE_SIZE = 50


def _error(request, title: str, message: str, status: int):
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def _visitor(request, token: str) -> VisitorProfile:
    try:
        return services.visitor_profile_from_token(token=token)
    except services.VisitError as exc:
        raise Http404(str(exc)) from exc


# Public itinerary ------------------------------------------------------------


def visit_detail(request, slug: str):
    """The public itinerary: stops and the visitors who agreed to appear."""
    visit = get_object_or_404(Visit, slug=slug)
    return render(request, "visits/visit_detail.html", selectors.visit_public_context(visit))


def visit_print(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    context = selectors.visit_public_context(visit)
    return render(request, "visits/itinerary_print.html", {**context, "private": False})


def _calendar_response(visit: Visit, data: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def visit_calendar(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    data = services.visit_calendar(visit=visit, private=False, base_url=request_base_url(request))
    return _calendar_response(visit, data, filename=f"{visit.slug}.ics")


# Visitors (signed link) ------------------------------------------------------


@never_cache
@addressee_only
@require_form_methods
def profile_edit(request, token: str):
    profile = _visitor(request, token)
    form = VisitorProfileForm(
        request.POST if request.method == "POST" else None,
        profile=profile,
        initial=VisitorProfileForm.initial_for(profile),
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                services.visitor_profile_update(
                    profile=profile,
                    confirm_attendance=form.cleaned_data["confirm_attendance"],
                    base_url=request_base_url(request),
                    **form.profile_fields(),
                )
            except services.VisitError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("visits:profile", token=token)
    return render(
        request,
        "visits/profile_edit.html",
        {"profile": profile, "visit": profile.visit, "form": form, "token": token},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@addressee_only
def visitor_itinerary(request, token: str):
    profile = _visitor(request, token)
    visit = profile.visit
    if visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    context = selectors.visit_public_context(visit)
    return render(
        request,
        "visits/visitor_itinerary.html",
        {**context, "profile": profile, "token": token, "private": True},
    )


@never_cache
@addressee_only
def visitor_itinerary_print(request, token: str):
    profile = _visitor(request, token)
    if profile.visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    context = selectors.visit_public_context(profile.visit)
    return render(
        request, "visits/itinerary_print.html", {**context, "profile": profile, "private": True}
    )


@never_cache
@addressee_only
def visitor_calendar(request, token: str):
    profile = _visitor(request, token)
    visit = profile.visit
    if visit is None:
        raise Http404(_("The visit is not scheduled yet."))
    data = services.visit_calendar(visit=visit, private=True, base_url=request_base_url(request))
    return _calendar_response(visit, data, filename=f"{visit.slug}.ics")


@never_cache
@addressee_only
def visitor_badge(request, token: str):
    profile = _visitor(request, token)
    qr_svg = ""
    if profile.holds_place:
        # A place taken back has no badge: no code, nothing to show at the door.
        check_in_url = services.visitor_check_in_url(profile, base_url=request_base_url(request))
        qr_svg = segno.make(check_in_url, error="m").svg_inline(scale=5, title=_("Check-in code"))
    return render(
        request,
        "visits/badge.html",
        {"profile": profile, "visit": profile.visit, "qr_svg": qr_svg, "token": token},
    )


# Tour stops and questions -------------------------------------------------------


def _voter_key(request, *, create: bool) -> str:
    key = request.session.get(VOTER_SESSION_KEY, "")
    if not key and create:
        key = secrets.token_hex(16)
        request.session[VOTER_SESSION_KEY] = key
    return key


def _question_rate(group, request) -> str:
    return settings.QUESTION_RATE_LIMIT


@require_form_methods
@ratelimit(key="ip", rate=_question_rate, method="POST", block=False, group="question")
def stop_detail(request, slug: str, pk: int):
    stop = get_object_or_404(
        TourStop.objects.select_related("visit", "location"), visit__slug=slug, pk=pk
    )
    form = QuestionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if getattr(request, "limited", False):
            form.is_valid()
            form.add_error(
                None, _("Too many questions from your network. Please wait a few minutes.")
            )
        elif form.is_valid():
            if not form.is_bot:
                try:
                    services.question_submit(
                        stop=stop,
                        text=form.cleaned_data["text"],
                        author_name=form.cleaned_data["author_name"],
                    )
                except services.VisitError as exc:
                    form.add_error(None, str(exc))
            if not form.errors:
                messages.success(
                    request, _("Thank you! Your question shows here once a tour admin approves it.")
                )
                return redirect(stop)
    voter_key = _voter_key(request, create=False)
    questions = selectors.stop_public_questions(stop, voter_key=voter_key)
    page = Paginator(questions, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "visits/stop_detail.html",
        {
            "stop": stop,
            "visit": stop.visit,
            "form": form,
            "page": page,
            "questions_open": services.questions_open(visit=stop.visit),
        },
        status=400 if request.method == "POST" else 200,
    )


def _vote_rate(group, request) -> str:
    return settings.VOTE_RATE_LIMIT


@require_POST
@ratelimit(key="ip", rate=_vote_rate, method="POST", block=True, group="vote")
def question_vote(request, slug: str, pk: int, question_pk: int):
    question = get_object_or_404(
        Question.objects.select_related("stop__visit"),
        pk=question_pk,
        stop_id=pk,
        stop__visit__slug=slug,
    )
    try:
        counted = services.question_vote(
            question=question, voter_key=_voter_key(request, create=True)
        )
    except services.VisitError as exc:
        return _error(request, _("Vote not counted"), str(exc), status=400)
    if not counted:
        messages.info(request, _("You have already voted for this question."))
    return redirect(f"{question.stop.get_absolute_url()}#question-{question.pk}")


# Live updates -------------------------------------------------------------------


@require_form_methods
def live(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    form = None
    if request.user.has_perm("visits.add_liveupdate"):
        form = LiveUpdateForm(request.POST if request.method == "POST" else None, visit=visit)
        if request.method == "POST" and form.is_valid():
            try:
                services.live_update_post(
                    visit=visit,
                    text=form.cleaned_data["text"],
                    stop=form.cleaned_data["stop"],
                    author=request.user,
                )
            except services.VisitError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("visits:live", slug=visit.slug)
    elif request.method == "POST":
        raise PermissionDenied
    page = Paginator(selectors.live_updates(visit), LIVE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "visits/live.html",
        {"visit": visit, "form": form, "updates": page, "page": page},
        status=400 if form is not None and form.errors else 200,
    )


@require_safe
@never_cache
def live_fragment(request, slug: str):
    """The newest updates as an HTML fragment, for the live page's refresh."""
    visit = get_object_or_404(Visit, slug=slug)
    return render(
        request,
        "visits/_live_updates.html",
        {"updates": selectors.live_updates(visit)[:LIVE_PAGE_SIZE]},
    )


class PlainTextAtom1Feed(Atom1Feed):
    """Atom whose entry summaries are plain text, exactly as the tour admin typed them.

    Django's Atom feed marks summaries as HTML, so a reader would take
    "T < 2 K" or an ``<img>`` in a live update for markup.
    """

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class UpdatesFeed(Feed):
    feed_type = PlainTextAtom1Feed

    def get_object(self, request, slug: str):
        return get_object_or_404(Visit, slug=slug)

    def title(self, visit: Visit) -> str:
        return _("%(visit)s: live updates") % {"visit": visit.title}

    def link(self, visit: Visit) -> str:
        return reverse("visits:live", kwargs={"slug": visit.slug})

    def subtitle(self, visit: Visit) -> str:
        return _("Live from the day of the visit, newest first.")

    def items(self, visit: Visit):
        return selectors.live_updates(visit)[:LIVE_PAGE_SIZE]

    def item_title(self, item: LiveUpdate) -> str:
        return item.text if len(item.text) <= 80 else f"{item.text[:79]}…"

    def item_description(self, item: LiveUpdate) -> str:
        return item.text

    def item_link(self, item: LiveUpdate) -> str:
        return f"{reverse('visits:live', kwargs={'slug': item.visit.slug})}#update-{item.pk}"

    def item_guid(self, item: LiveUpdate) -> str:
        return f"tweetup-live-update-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: LiveUpdate):
        return item.posted_at

    def item_updateddate(self, item: LiveUpdate):
        return item.posted_at


updates_feed = UpdatesFeed()


# Organizers and tour admins -------------------------------------------------------


def _staff_actions(visit: Visit) -> dict:
    """The visit's newest staff actions, for its staff pages."""
    return {
        "staff_actions": audit.staff_actions(visit=visit),
        "staff_actions_url": audit.staff_actions_url(visit=visit),
    }


@permission_required("visits.view_visitorprofile")
def group_summary(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    summary = services.visit_group_summary(visit=visit)
    return render(
        request,
        "visits/group.html",
        {"visit": visit, "summary": summary, **_staff_actions(visit)},
    )


@permission_required("visits.check_in_visitorprofile")
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
            return _error(request, _("Unknown visitor"), _("Choose a visitor of this visit."), 400)
        try:
            services.visitor_check_in(
                profile=profile, actor=request.user, undo=request.POST.get("undo") == "1"
            )
        except services.VisitError as exc:
            messages.error(request, str(exc))
        return redirect("visits:check_in", slug=visit.slug)
    profiles = list(services.visitor_profiles(visit))
    return render(
        request,
        "visits/check_in.html",
        {
            "visit": visit,
            "profiles": profiles,
            "arrived": sum(1 for p in profiles if p.is_checked_in),
            **_staff_actions(visit),
        },
    )


@permission_required("visits.check_in_visitorprofile")
@require_form_methods
def check_in_link(request, token: str):
    """Where a badge's QR code leads: a tour admin confirms the arrival with one tap."""
    try:
        profile = services.visitor_from_check_in_token(token=token)
    except services.VisitError as exc:
        return _error(request, _("Check-in failed"), str(exc), status=404)
    visit = profile.visit
    if request.method == "POST":
        try:
            services.visitor_check_in(profile=profile, actor=request.user)
        except services.VisitError as exc:
            return _error(request, _("Check-in failed"), str(exc), status=400)
        messages.success(
            request, _("%(visitor)s has arrived.") % {"visitor": profile.display_name or profile}
        )
        if visit is not None:
            return redirect("visits:check_in", slug=visit.slug)
        return redirect("visits:check_in_link", token=token)
    return render(request, "visits/check_in_confirm.html", {"profile": profile, "visit": visit})


@permission_required("visits.add_visitmessage")
@require_form_methods
def message_visitors(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    form = VisitMessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = services.visit_message_send(
                visit=visit,
                audience=data["audience"],
                subject_en=data["subject_en"],
                body_en=data["body_en"],
                subject_fr=data["subject_fr"],
                body_fr=data["body_fr"],
                actor=request.user,
                base_url=request_base_url(request),
            )
        except services.VisitError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("The message is on its way to %(count)s visitors.")
                % {"count": message.recipients_count},
            )
            return redirect("visits:message", slug=visit.slug)
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
        "visits/message.html",
        {"visit": visit, "form": form, "sent": sent, "counts": counts},
        status=400 if form.errors else 200,
    )
