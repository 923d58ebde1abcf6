"""A drawn contest built directly (Draw and Selection rows), for the selection tests."""

import re
from datetime import timedelta

from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from contests.models import Contest, Draw, Entry, Selection
from tests.factories import ContestFactory, EntryFactory, VisitFactory, staff_user
from tweetup.roles import ORGANIZERS


def drawn_contest(
    *,
    winners: list[dict] | int = 2,
    alternates: list[dict] | int = 2,
    not_chosen: int = 2,
    caps: dict | None = None,
    acceptance_hours: int = 72,
    visit: bool = True,
) -> tuple[Contest, Draw]:
    """A closed, frozen contest whose draw gave these winners and alternates.

    ``winners`` and ``alternates`` are counts or lists of Entry field overrides
    (country, background, language, ...). Winners are pending with a deadline
    ``acceptance_hours`` away, alternates waiting; ``not_chosen`` more entries
    are in the draw without a selection.
    """
    now = timezone.now()
    winners = [{}] * winners if isinstance(winners, int) else winners
    alternates = [{}] * alternates if isinstance(alternates, int) else alternates
    contest = ContestFactory(
        opens_at=now - timedelta(days=10),
        closes_at=now - timedelta(days=1),
        winners_count=len(winners),
        alternates_count=len(alternates),
        acceptance_hours=acceptance_hours,
        visit=VisitFactory() if visit else None,
        frozen_at=now - timedelta(hours=20),
        max_winners_per_country=(caps or {}).get("country"),
        max_winners_per_background=(caps or {}).get("background"),
    )
    winner_entries = [EntryFactory(contest=contest, in_draw=True, **fields) for fields in winners]
    alternate_entries = [
        EntryFactory(contest=contest, in_draw=True, **fields) for fields in alternates
    ]
    for _ in range(not_chosen):
        EntryFactory(contest=contest, in_draw=True)
    draw = Draw.objects.create(
        contest=contest,
        winners_count=contest.winners_count,
        alternates_count=contest.alternates_count,
        caps=caps or {},
        winners=[e.ticket for e in winner_entries],
        alternates=[e.ticket for e in alternate_entries],
        ranking=[e.ticket for e in winner_entries + alternate_entries],
        drawn_at=now,
    )
    for position, entry in enumerate(winner_entries, start=1):
        Selection.objects.create(
            draw=draw,
            entry=entry,
            kind=Selection.Kind.WINNER,
            position=position,
            status=Selection.Status.PENDING,
            deadline=now + timedelta(hours=acceptance_hours),
        )
    for position, entry in enumerate(alternate_entries, start=1):
        Selection.objects.create(
            draw=draw,
            entry=entry,
            kind=Selection.Kind.ALTERNATE,
            position=position,
            status=Selection.Status.WAITING,
        )
    return Contest.objects.select_related("visit", "draw").get(pk=contest.pk), draw


def selection(draw: Draw, kind: str, position: int) -> Selection:
    return Selection.objects.select_related("entry", "draw__contest__visit").get(
        draw=draw, kind=kind, position=position
    )


def winner(draw: Draw, position: int = 1) -> Selection:
    return selection(draw, Selection.Kind.WINNER, position)


def alternate(draw: Draw, position: int = 1) -> Selection:
    return selection(draw, Selection.Kind.ALTERNATE, position)


def organizer_user(username: str = "orga") -> User:
    return staff_user(username, ORGANIZERS)


def mails_to(entry: Entry) -> list:
    return [message for message in mail.outbox if message.to == [entry.email]]


def links_in(message) -> dict[str, str]:
    """The accept and decline links of an offer mail, by action."""
    return {
        action: url
        for url, action in re.findall(r"(https?://\S+/place/\S+/(accept|decline)/)", message.body)
    }
