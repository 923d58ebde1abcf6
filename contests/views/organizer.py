"""The organizers' side of a contest: dashboard, selections, outbox and CSV exports.

Every page here is for organizers only (permission ``contests.change_contest``,
which the Organizers group has; superusers too). Its queries do not grow with
the number of entries: the dashboard's figures are kept and recomputed in the
background (``contests.services.statistics``), and the exports are background
jobs that write a file (``contests.services.exports``).
"""

from datetime import datetime

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_countries import countries

from notifications.models import OutboxMessage
from notifications.services.reports import failed_messages
from tweetup import audit, jobs
from tweetup.errors import errors_shown
from tweetup.links import request_base_url
from tweetup.permissions import organizer_required
from tweetup.vocabulary import Background, language_name

from .. import selectors
from ..models import Contest, Selection
from ..services import answers as answer_services
from ..services import jobs as job_services
from ..services import notices as notice_services
from ..services import selection_mail as selection_mail_services
from ..services import selections as selection_services
from ..services import statistics as statistics_services
from ..services.statistics import EntryStatistics

OUTBOX_PAGE_SIZE = 25
# Failed mails listed by name in the dashboard's alert; the admin lists them all.
FAILED_LISTED = 20
# The dashboard's rendered figures are kept under the time they were counted;
# counted again, they are found under a new key, and the old one lapses.
FIGURES_KEPT_SECONDS = 15 * 60


def _contest(slug: str) -> Contest:
    return get_object_or_404(Contest.objects.select_related("visit", "draw"), slug=slug)


def _chart(days: list[dict]) -> dict:
    """Bars of the entries-per-day chart, as SVG coordinates (viewBox 0 0 width 100)."""
    peak = max((day["total"] for day in days), default=0) or 1
    width = max(len(days), 1) * 10
    bars = []
    for index, day in enumerate(days):
        total_height = round(90 * day["total"] / peak, 2)
        confirmed_height = round(90 * day["confirmed"] / peak, 2)
        bars.append(
            {
                **day,
                "x": index * 10 + 1,
                "total_y": round(95 - total_height, 2),
                "total_height": total_height,
                "confirmed_y": round(95 - confirmed_height, 2),
                "confirmed_height": confirmed_height,
            }
        )
    return {"bars": bars, "width": width, "peak": peak}


def _with_share(rows: list[dict], total: int, label) -> list[dict]:
    return [
        {**row, "label": label(row["value"]), "share": 100 * row["total"] / total if total else 0}
        for row in rows
    ]


def _figures(contest: Contest, statistics: EntryStatistics) -> SafeString:
    """The dashboard's counts, chart and breakdowns, rendered once per count and language.

    They change only when the figures are counted again (about once a minute),
    and hold nothing of the organizer who looks (no form, no token): the HTML
    is kept in the cache under the figures' time, so the other views of the
    page until the next count render none of its hundreds of nodes.
    """
    key = ":".join(
        [
            "dashboard-figures",
            str(contest.pk),
            statistics.computed_at.isoformat(),
            contest.time_zone,
            "frozen" if contest.frozen_at else "open",
            get_language(),
        ]
    )
    html = cache.get(key)
    if html is None:
        total = statistics.counts["total"]
        html = render_to_string(
            "contests/organizer/_figures.html",
            {
                "contest": contest,
                "counts": statistics.counts,
                "statistics_at": statistics.computed_at,
                "chart": _chart(statistics.per_day),
                "by_country": _with_share(
                    statistics.by_country, total, lambda code: countries.name(code) or code
                ),
                "by_background": _with_share(statistics.by_background, total, _background_label),
                "by_language": _with_share(statistics.by_language, total, language_name),
            },
        )
        cache.set(key, html, timeout=FIGURES_KEPT_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by Django's templates, escaped there


def _background_label(value: str) -> str:
    try:
        return Background(value).label
    except ValueError:
        return value


@organizer_required
def dashboard(request, slug: str):
    contest = _contest(slug)
    statistics = statistics_services.contest_statistics(contest=contest)
    selections = selectors.contest_selections(contest)
    draw = getattr(contest, "draw", None) if contest.is_drawn else None
    places = selection_services.places_state(draw=draw, selections=selections) if draw else None
    if draw:
        # A pending place's time to answer starts when its offer mail left.
        offers = answer_services.selections_offers(selections)
        for selection in selections:
            selection.offer = offers.get(selection.pk)
            selection.answer_by = answer_services.selection_answer_by(
                selection, offer=selection.offer, drawn_at=draw.drawn_at
            )
    # The offer of a place answered, expired or taken back since is not to be sent again.
    offers_closed = selection_mail_services.offers_closed_keys(selections)
    failed = list(
        failed_messages(contest.pk)
        .exclude(key__in=offers_closed)
        .only(
            "pk",
            "kind",
            "to_email",
            "subject",
            "last_error",
            "last_attempt_at",
            "resend_requested_at",
        )[: FAILED_LISTED + 1]
    )
    outbox_pages = Paginator(
        OutboxMessage.objects.filter(contest=contest)
        .order_by("-created_at", "-pk")
        .only(
            "pk",
            "key",
            "created_at",
            "kind",
            "to_email",
            "subject",
            "status",
            "attempts",
            "sent_at",
            "resend_requested_at",
        ),
        OUTBOX_PAGE_SIZE,
    )
    # Counting a million mails on each view would cost more than the page: the
    # kept count, plus the mail written since it was counted (an index range).
    outbox_pages.count = (
        statistics.mails
        + OutboxMessage.objects.filter(
            contest=contest, created_at__gt=statistics.computed_at
        ).count()
    )
    outbox = outbox_pages.get_page(request.GET.get("page"))
    for message in outbox:
        message.offer_closed = message.key in offers_closed
    return render(
        request,
        "contests/organizer/dashboard.html",
        {
            "contest": contest,
            "state": contest.state,
            "counts": statistics.counts,
            "figures": _figures(contest, statistics),
            "draw": draw,
            "selections": selections,
            "places": places,
            "failed_mails": failed[:FAILED_LISTED],
            "failed_more": len(failed) > FAILED_LISTED,
            "outbox": outbox,
            "time_zone": answer_services.selection_deadline_zone(contest),
            "jobs": jobs.jobs_of(contest=contest),
            "staff_actions": audit.staff_actions(contest=contest),
            "staff_actions_url": audit.staff_actions_url(contest=contest),
        },
    )


@require_POST
@organizer_required
def selection_disqualify(request, slug: str, pk: int):
    contest = _contest(slug)
    selection = get_object_or_404(Selection, pk=pk, draw__contest=contest)
    with errors_shown(request) as outcome:
        selection_services.selection_disqualify(
            selection=selection,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            message=request.POST.get("message", ""),
            base_url=request_base_url(request),
        )
    if outcome.ok:
        messages.success(
            request,
            _("Ticket %(ticket)s is disqualified; any free place went to the next alternate.")
            % {"ticket": selection.entry.ticket},
        )
    return redirect("contests:dashboard", slug=contest.slug)


@require_POST
@organizer_required
def offers_send(request, slug: str):
    contest = _contest(slug)
    if not contest.is_drawn:
        messages.error(request, _("This contest has not been drawn yet."))
    else:
        count = selection_mail_services.draw_offers_send(
            draw=contest.draw, actor=request.user, base_url=request_base_url(request)
        )
        messages.success(
            request,
            ngettext(
                "The offer mail of %(count)d pending place is in the outbox.",
                "The offer mails of %(count)d pending places are in the outbox.",
                count,
            )
            % {"count": count},
        )
    return redirect("contests:dashboard", slug=contest.slug)


@require_POST
@organizer_required
def not_chosen_notify(request, slug: str):
    contest = _contest(slug)
    with errors_shown(request) as outcome:
        job = notice_services.contest_notify_not_chosen(contest=contest, actor=request.user)
    if not outcome.ok:
        return redirect("contests:dashboard", slug=contest.slug)
    messages.success(request, _("The notice to the entrants who were not chosen is on its way."))
    return redirect(job)


@require_POST
@organizer_required
def outbox_resend(request, slug: str, pk: int):
    contest = _contest(slug)
    message = get_object_or_404(OutboxMessage, pk=pk, contest=contest)
    # The state of the row the organizer saw: a second press on the same page
    # (or ten at once) finds the row resent since, and sends nothing more.
    seen = None
    if "requested" in request.POST:
        try:
            requested = request.POST["requested"]
            seen = {message.pk: datetime.fromisoformat(requested) if requested else None}
        except ValueError:
            seen = None
    with errors_shown(request) as outcome:
        resent = selection_mail_services.outbox_message_resend(
            message=message, seen=seen, actor=request.user
        )
    if outcome.ok and resent:
        messages.success(
            request, _("The mail to %(to)s is queued again.") % {"to": message.to_email}
        )
    elif outcome.ok:
        messages.info(
            request,
            _("The mail to %(to)s is already on its way: nothing more was queued.")
            % {"to": message.to_email},
        )
    url = reverse("contests:dashboard", kwargs={"slug": contest.slug})
    page = request.POST.get("page", "")
    return redirect(f"{url}?page={page}#outbox" if page.isdigit() else f"{url}#outbox")


# CSV exports: background jobs that write a file ------------------------------


@require_POST
@organizer_required
def export_entries(request, slug: str):
    contest = _contest(slug)
    job, _created = job_services.export_job_start(
        contest=contest, actor=request.user, what="entries"
    )
    return redirect(job)


@require_POST
@organizer_required
def export_selections(request, slug: str):
    contest = _contest(slug)
    job, _created = job_services.export_job_start(
        contest=contest, actor=request.user, what="selections"
    )
    return redirect(job)
