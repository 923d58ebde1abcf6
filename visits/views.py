"""The public pages of a visit: its itinerary, stops and questions, and the live updates."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from tweetup.errors import errors_shown
from tweetup.http import calendar_response, error_page, require_form_methods
from tweetup.links import request_base_url

from . import selectors
from .errors import VisitError
from .forms import LiveUpdateForm, QuestionForm
from .models import LiveUpdate, Question, TourStop, Visit
from .services import calendar as calendar_services
from .services import live as live_services
from .services import questions as question_services

VOTER_SESSION_KEY = "visits_voter"
# The live page shows this many updates; older ones are on the next pages.
LIVE_PAGE_SIZE = 50


# Public itinerary ------------------------------------------------------------


def visit_detail(request, slug: str):
    """The public itinerary: stops and the visitors who agreed to appear."""
    visit = get_object_or_404(Visit, slug=slug)
    return render(request, "visits/visit_detail.html", selectors.visit_public_context(visit))


def visit_print(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    context = selectors.visit_public_context(visit)
    return render(request, "visits/itinerary_print.html", {**context, "private": False})


def visit_calendar(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    data = calendar_services.visit_calendar(
        visit=visit, private=False, base_url=request_base_url(request)
    )
    return calendar_response(data, filename=f"{visit.slug}.ics")


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
                with errors_shown(form):
                    question_services.question_submit(
                        stop=stop,
                        text=form.cleaned_data["text"],
                        author_name=form.cleaned_data["author_name"],
                    )
            if not form.errors:
                messages.success(
                    request,
                    _("Thank you! Your question will appear here once the visit team approves it."),
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
            "questions_open": question_services.questions_open(visit=stop.visit),
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
        counted = question_services.question_vote(
            question=question, voter_key=_voter_key(request, create=True)
        )
    except VisitError as exc:
        return error_page(request, _("Vote not counted"), str(exc), status=400)
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
            with errors_shown(form) as outcome:
                live_services.live_update_post(
                    visit=visit,
                    text_en=form.cleaned_data["text_en"],
                    text_fr=form.cleaned_data["text_fr"],
                    stop=form.cleaned_data["stop"],
                    author=request.user,
                )
            if outcome.ok:
                return redirect("visits:live", slug=visit.slug)
    elif request.method == "POST":
        raise PermissionDenied
    page = Paginator(selectors.live_updates(visit), LIVE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "visits/live.html",
        {
            "visit": visit,
            "form": form,
            "updates": page,
            "page": page,
            "over": timezone.now() >= visit.day_end,
        },
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
        # An Atom id must be an IRI that never changes: a tag URI (RFC 4151)
        # naming the site, the day the update was posted and the update.
        host = urlsplit(settings.SITE_URL).hostname or "localhost"
        return f"tag:{host},{item.posted_at:%Y-%m-%d}:live-update-{item.pk}"

    def author_name(self, visit: Visit) -> str:
        return _("%(visit)s tour team") % {"visit": visit.title}

    item_guid_is_permalink = False

    def item_pubdate(self, item: LiveUpdate):
        return item.posted_at

    def item_updateddate(self, item: LiveUpdate):
        return item.posted_at


updates_feed = UpdatesFeed()
