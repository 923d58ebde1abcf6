"""The freeze and the draw: organizer pages, public results, audit record, live draw."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from tweetup import jobs
from tweetup.errors import errors_shown
from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.models import Job
from tweetup.permissions import organizer_required

from .. import draw_algorithm, selectors
from ..errors import AlreadyDrawn, ContestError
from ..forms import DrawForm, FreezeForm, TicketCheckForm
from ..models import Contest, Entry, Selection
from ..services import jobs as job_services
from ..services.audit_record import draw_audit_record_stream
from ..services.draws import draw_run_check


def public_name(entry: Entry) -> str:
    """How a chosen entrant is named in public: handle if they agreed, else first name."""
    if entry.personal_data_removed_at:
        return "—"
    if entry.publish_handle and entry.twitter_handle:
        return f"@{entry.twitter_handle}"
    return entry.first_name or "—"


def _published_contest(slug: str) -> Contest:
    return get_object_or_404(
        Contest.objects.filter(published=True).select_related("draw", "visit"), slug=slug
    )


PASSED_ON = "passed-on"
NOT_CALLED = "not-called"
GIVEN_UP = {
    Selection.Status.DECLINED,
    Selection.Status.EXPIRED,
    Selection.Status.DISQUALIFIED,
}


def _chosen(contest: Contest) -> tuple[list[dict], list[dict]]:
    """The winners and alternates of the draw, as shown in public (one query)."""
    selections = (
        Selection.objects.filter(draw__contest=contest)
        .select_related("entry")
        .order_by("kind", "position")
    )
    # From the visit's day on no place goes to an alternate any more
    # (selections._fill_free_places): one still waiting will not be called.
    calling_over = contest.visit is not None and timezone.now() >= contest.visit.day_start
    winners, alternates = [], []
    for selection in selections:
        # Why a place was given up (declined, expired, disqualified) is nobody's business
        # but the organizers'.
        if selection.status in GIVEN_UP:
            public_status, label = PASSED_ON, _("Place passed on")
        elif selection.status == Selection.Status.WAITING and calling_over:
            public_status, label = NOT_CALLED, _("Not called")
        else:
            public_status, label = selection.status, selection.get_status_display()
        row = {
            "position": selection.position,
            "ticket": selection.entry.ticket,
            "name": public_name(selection.entry),
            "status": public_status,
            "status_label": label,
            "promoted": selection.is_promoted,
        }
        (winners if selection.kind == Selection.Kind.WINNER else alternates).append(row)
    return winners, alternates


# Organizers ----------------------------------------------------------------


@require_form_methods
@organizer_required
def contest_freeze(request, slug: str):
    contest = get_object_or_404(Contest.objects.select_related("draw"), slug=slug)
    form = FreezeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with errors_shown(form) as outcome:
                job, _created = job_services.freeze_job_start(contest=contest, actor=request.user)
            if outcome.ok:
                # The freeze runs as a background job: its page shows the progress.
                return redirect(job)
        status = 400
    counts = Entry.objects.filter(contest=contest).aggregate(
        total=Count("pk"),
        unconfirmed=Count("pk", filter=Q(confirmed_at__isnull=True)),
        late=Count("pk", filter=Q(confirmed_at__gte=contest.closes_at)),
        invalid=Count("pk", filter=Q(invalidated_at__isnull=False)),
        eligible=Count(
            "pk",
            filter=Q(
                confirmed_at__isnull=False,
                confirmed_at__lt=contest.closes_at,
                invalidated_at__isnull=True,
            ),
        ),
    )
    return render(
        request,
        "contests/draw/freeze.html",
        {
            "contest": contest,
            "state": contest.state,
            "form": form,
            "counts": counts,
            "job": jobs.job_active(kind=Job.Kind.FREEZE, contest=contest),
        },
        status=status,
    )


@require_form_methods
@organizer_required
def draw_run(request, slug: str):
    contest = get_object_or_404(Contest.objects.select_related("draw"), slug=slug)
    if request.method == "POST":
        form = DrawForm(request.POST)
        if form.is_valid():
            try:
                job, _created = job_services.draw_job_start(
                    contest=contest,
                    actor=request.user,
                    external_entropy=form.cleaned_data["external_entropy"],
                    caps=form.caps,
                    base_url=request_base_url(request),
                )
            except AlreadyDrawn:
                # A second press, or a retried request: the one draw stands.
                messages.info(request, _("This contest has already been drawn."))
                return redirect("contests:results", slug=contest.slug)
            except ContestError as exc:
                form.add_error(None, str(exc))
            else:
                # The draw runs as a background job: its page shows the progress.
                return redirect(job)
        status = 400
    else:
        form = DrawForm(
            initial={
                "max_winners_per_country": contest.max_winners_per_country,
                "max_winners_per_background": contest.max_winners_per_background,
            }
        )
        status = 200
    # What the draw would refuse (no ticket in the draw, say): no button to press.
    refusal = None
    if contest.frozen_at and not contest.is_drawn:
        try:
            draw_run_check(contest=contest)
        except ContestError as exc:
            refusal = str(exc)
    if not contest.visit_id:
        # The offers would give no day: the draw, which cannot be undone, asks first.
        form.helper.attrs = {
            "data-confirm": _(
                "This contest leads to no visit: the offers will not give the day of the "
                "visit. Draw the winners anyway?"
            )
        }
    return render(
        request,
        "contests/draw/draw.html",
        {
            "contest": contest,
            "state": contest.state,
            "form": form,
            "refusal": refusal,
            "job": jobs.job_active(kind=Job.Kind.DRAW, contest=contest),
        },
        status=status,
    )


# Public --------------------------------------------------------------------


@require_safe
def draw_json(request, slug: str):
    contest = _published_contest(slug)
    if not contest.is_drawn:
        raise Http404("This contest has not been drawn yet.")
    response = StreamingHttpResponse(
        draw_audit_record_stream(draw=contest.draw), content_type="application/json"
    )
    response["Content-Disposition"] = f'inline; filename="{contest.slug}-draw.json"'
    # Anyone may fetch the record, from any page or tool.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def results(request, slug: str):
    contest = _published_contest(slug)
    if contest.frozen_at is None:
        raise Http404("This contest is not frozen yet.")
    draw = contest.draw if contest.is_drawn else None
    winners, alternates = _chosen(contest) if draw else ([], [])
    answers = selectors.draw_answers(draw) if draw else None
    form = TicketCheckForm(request.GET if "ticket" in request.GET else None)
    check = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            found = (
                Entry.objects.in_draw(contest)
                .filter(ticket__in=form.candidates)
                .values_list("ticket", flat=True)
                .first()
            )
            chosen = next((w for w in winners if w["ticket"] == found), None)
            kind = "winner" if chosen else None
            if found and chosen is None:
                chosen = next((a for a in alternates if a["ticket"] == found), None)
                kind = "alternate" if chosen else None
            check = {
                "ticket": found or form.cleaned_data["ticket"],
                "in_draw": found is not None,
                "kind": kind,
                "position": chosen["position"] if chosen else None,
            }
        else:
            status = 400
    return render(
        request,
        "contests/draw/results.html",
        {
            "contest": contest,
            "draw": draw,
            "winners": winners,
            "alternates": alternates,
            "answers": answers,
            "form": form,
            "check": check,
            "verifier_url": reverse("contests:verifier"),
            "json_url": request.build_absolute_uri(
                reverse("contests:draw_json", kwargs={"slug": contest.slug})
            ),
        },
        status=status,
    )


@require_safe
def live_draw(request, slug: str):
    # Open before the freeze too, so the projector can be set up early: the
    # page waits, refreshing itself, until there is a draw to reveal.
    contest = _published_contest(slug)
    draw = contest.draw if contest.is_drawn else None
    winners, alternates = _chosen(contest) if draw else ([], [])
    return render(
        request,
        "contests/draw/live.html",
        {"contest": contest, "draw": draw, "winners": winners, "alternates": alternates},
    )


@require_safe
def verifier_download(request):
    """The draw's verifier, the very module the site draws with, to run anywhere."""
    return FileResponse(
        open(draw_algorithm.__file__, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename="verify_draw.py",
        content_type="text/x-python; charset=utf-8",
    )
