from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit

from tweetup.errors import errors_shown
from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only

from .. import home_page, selectors
from ..errors import AlreadyEntered, ContestError
from ..forms import ConfirmAgainForm, EntryForm
from ..services import entries as entry_services
from ..services.privacy import entry_withdraw_url


def _entry_rate(group, request) -> str:
    return settings.ENTRY_RATE_LIMIT


def home(request):
    return render(request, "contests/home.html", {"lists": home_page.home_lists()})


@require_form_methods
def contest_detail(request, slug: str):
    contest = get_object_or_404(selectors.contests_public(), slug=slug)
    form = EntryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if form.is_bot:
            return redirect("contests:entry_sent", slug=contest.slug)
        # Only complete submissions count towards the limit: people who fix a
        # typo, or many people behind one address, are not held back by errors.
        if is_ratelimited(
            request, group="entry", key="ip", rate=_entry_rate, method="POST", increment=True
        ):
            form.add_error(
                None, _("Too many entries from your network. Please wait an hour and try again.")
            )
        else:
            data = form.cleaned_data
            try:
                entry_services.entry_submit(
                    contest=contest,
                    name=data["name"],
                    email=data["email"],
                    twitter_handle=data["twitter_handle"],
                    country=data["country"],
                    languages=data["languages"],
                    background=data["background"],
                    background_other=data["background_other"],
                    motivation=data["motivation"],
                    language=data["language"],
                    publish_handle=data["publish_handle"],
                    base_url=request_base_url(request),
                )
            except AlreadyEntered:
                # The same page as for a new entry: the form says nothing of who
                # entered; the entrant got a reminder with their own link.
                return redirect("contests:entry_sent", slug=contest.slug)
            except ContestError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("contests:entry_sent", slug=contest.slug)
    countdown_target = entry_services.contest_countdown_target(contest)
    return render(
        request,
        "contests/contest_detail.html",
        {
            "contest": contest,
            "form": form,
            "state": contest.state,
            "countdown_target": countdown_target,
            "countdown_seconds": (
                max(0, int((countdown_target - timezone.now()).total_seconds()))
                if countdown_target
                else None
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


def entry_sent(request, slug: str):
    contest = get_object_or_404(selectors.contests_public(), slug=slug)
    return render(request, "contests/entry_sent.html", {"contest": contest})


@addressee_only
@require_form_methods
def entry_confirm(request, token: str):
    """The confirmation link's page: a button that confirms (a POST), then the ticket.

    Opening the link changes nothing: mail scanners and link previews open
    links nobody read. An entry confirmed already shows its ticket at once.
    """
    try:
        if request.method == "POST":
            entry = entry_services.entry_confirm(token=token)
        else:
            entry = entry_services.entry_from_confirm_token(token=token)
    except ContestError as exc:
        contest = entry_services.entry_confirm_contest(token=token)
        # A tampered link names no contest: offer a new link for each open one.
        open_contests = [] if contest else selectors.contests_open(now=timezone.now())[:20]
        return render(
            request,
            "contests/confirm_failed.html",
            {"error": str(exc), "contest": contest, "open_contests": open_contests},
            status=400,
        )
    if entry.confirmed_at is None:
        return render(
            request, "contests/entry_confirm.html", {"entry": entry, "contest": entry.contest}
        )
    return render(
        request,
        "contests/entry_confirmed.html",
        {
            "entry": entry,
            "contest": entry.contest,
            "withdraw_url": entry_withdraw_url(entry, base_url=request_base_url(request)),
        },
    )


@require_form_methods
@ratelimit(key="ip", rate=_entry_rate, method="POST", block=False, group="entry")
def confirm_again(request, slug: str):
    contest = get_object_or_404(selectors.contests_public(), slug=slug)
    state = contest.state
    if state != contest.State.OPEN:
        # Only an open contest's entries can still be confirmed: no form to fill in vain.
        closed = (
            _("This contest is not open yet: there is no entry to confirm.")
            if state == contest.State.UPCOMING
            else _("This contest is closed: entries can no longer be confirmed.")
        )
        return render(
            request, "contests/confirm_again.html", {"contest": contest, "closed": closed}
        )
    form = ConfirmAgainForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if getattr(request, "limited", False):
            form.add_error(None, _("Too many requests from your network. Please wait an hour."))
        else:
            with errors_shown(form) as outcome:
                entry_services.entry_resend_confirmation(
                    contest=contest,
                    email=form.cleaned_data["email"],
                    base_url=request_base_url(request),
                )
            if outcome.ok:
                messages.success(
                    request,
                    _(
                        "If an unconfirmed entry uses that address, a new confirmation link "
                        "is on its way."
                    ),
                )
                return redirect(contest)
    return render(request, "contests/confirm_again.html", {"contest": contest, "form": form})


@require_safe
def contest_list(request):
    """Every published contest, newest first, a page at a time."""
    contests = selectors.contests_for_cards().order_by("-closes_at")
    page = Paginator(contests, 20).get_page(request.GET.get("page"))
    return render(request, "contests/contest_list.html", {"page": page})
