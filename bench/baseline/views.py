"""The baseline's pages: the site's templates from a fixed context, and one INSERT per entry.

Nothing here reads the database except the POST's INSERT. The contests are
hand-built objects holding the values ``baseline.contests`` gives (the ones
``bench/run.py`` stores in the site's database), with what the templates read
of a contest; the entry form is the site's own, built once per process and
rendered only when the cached fragment of the page misses, so that both pages
send the same form.
"""

import functools
import hashlib
from datetime import timedelta

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from . import contests
from .models import Signup


class State(str):
    """A contest's state as the templates read it: its value, and its label."""

    labels = {"open": _("Open"), "upcoming": _("Upcoming"), "closed": _("Closed")}

    @property
    def label(self):
        return self.labels[str(self)]


class FixedContest:
    """What the contest and home templates read of a contest, held in memory."""

    def __init__(self, values: dict, now) -> None:
        self.slug = values["slug"]
        self.title = values["title"]
        self.description = contests.DESCRIPTION
        self.hashtag = contests.HASHTAG
        self.rules = contests.RULES
        self.opens_at = now + timedelta(hours=values["opens"])
        self.closes_at = now + timedelta(hours=values["closes"])
        self.time_zone = "Europe/Zurich"
        self.winners_count = contests.WINNERS
        self.alternates_count = contests.ALTERNATES
        self.commitment = hashlib.sha256(self.slug.encode()).hexdigest()
        self.tickets_digest = ""
        self.tickets_count = None
        self.frozen_at = None
        self.is_drawn = False
        self.visit = None
        self.confirmed_count = 0
        if now < self.opens_at:
            self.state = State("upcoming")
        elif now < self.closes_at:
            self.state = State("open")
        else:
            self.state = State("closed")

    def get_absolute_url(self) -> str:
        return reverse("contests:detail", kwargs={"slug": self.slug})


def fixed_contests() -> dict[str, FixedContest]:
    now = timezone.now()
    return {values["slug"]: FixedContest(values, now) for values in contests.CONTESTS}


@functools.cache
def entry_form():
    """The site's empty entry form, once per process, for the fragment the page caches."""
    from contests.forms import EntryForm

    return EntryForm()


class SignupForm(forms.ModelForm):
    class Meta:
        model = Signup
        fields = ["name", "email", "twitter_handle", "country", "background", "motivation"]


def home(request):
    by_state: dict[str, list] = {"open": [], "upcoming": [], "closed": []}
    for contest in fixed_contests().values():
        by_state[contest.state].append(contest)
    return render(
        request,
        "contests/home.html",
        {"open": by_state["open"], "upcoming": by_state["upcoming"], "past": by_state["closed"]},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def contest_detail(request, slug: str):
    contest = fixed_contests()[contests.BENCH_SLUG]
    form = entry_form()
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            Signup.objects.create(**form.cleaned_data, language=request.POST.get("language", "en"))
            return redirect("contests:entry_sent", slug=slug)
    return render(
        request,
        "contests/contest_detail.html",
        {
            "contest": contest,
            "form": form,
            "state": contest.state,
            "countdown_target": contest.closes_at,
            "countdown_seconds": int((contest.closes_at - timezone.now()).total_seconds()),
        },
        status=400 if request.method == "POST" else 200,
    )


def entry_sent(request, slug: str):
    return render(
        request, "contests/entry_sent.html", {"contest": fixed_contests()[contests.BENCH_SLUG]}
    )
