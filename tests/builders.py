"""The one builder of drawn contests: entries, freeze and draw through the services.

``drawn_contest`` makes a contest, has people enter and confirm through
``entry_submit`` and ``entry_confirm``, closes it, freezes it with
``contest_freeze`` and draws it with ``draw_run``: the rows a test meets are
the ones the site makes (selections with their "drawn" events, the audit
record, the digest), never rows written by hand.

A test that needs given people in given places says so (``winners=[{"country":
"FR"}]``): the builder then picks the draw's external entropy (the public
value mixed into the key after the freeze) so that the real draw puts them
there; the draw stays verifiable from its audit record.
"""

import itertools
import json
from datetime import timedelta

from django.core import mail
from django.db.models import F
from django.utils import timezone

from contests import draw_algorithm
from contests.models import Contest, Draw, Entry, Selection
from contests.services.draws import CAP_FIELDS, contest_freeze, draw_run
from contests.services.entries import entry_confirm, entry_confirm_token, entry_submit
from tests.factories import ContestFactory, VisitFactory
from visits.models import Visit

# What an entrant types when the test does not say; a number makes each one unique.
ENTRANT = {
    "name": "Person {n}",
    "email": "person{n}@example.org",
    "twitter_handle": "person_{n}",
    "languages": ["en", "fr"],
    "motivation": "I would love to see the Control Centre.",
    "language": "en",
}
# The entrants of a contest come from several countries and backgrounds, so caps bite.
COUNTRIES = ("CH", "FR", "DE", "IT", "GB", "US", "JP", "BR")
BACKGROUNDS = ("science", "engineering", "student", "teaching", "arts")
_entrants = itertools.count()
# Draws tried in search of one that puts the given people in the given places.
ENTROPY_TRIES = 20_000


def drawn_contest(
    *,
    winners: list[dict] | int = 2,
    alternates: list[dict] | int = 2,
    entries: int | None = None,
    caps: dict[str, int] | None = None,
    acceptance_hours: int = 72,
    visit: Visit | bool | None = True,
    external_entropy: str | None = None,
    **contest_fields,
) -> tuple[Contest, Draw]:
    """A contest that closed an hour ago, frozen and drawn; returns it and its draw.

    ``winners`` and ``alternates`` are the contest's counts, or lists of what
    those people typed (``country``, ``language``, ``name``, ... as
    ``entry_submit`` takes them), in the order of their places. ``entries``
    is how many confirmed entries the draw has in all (by default two more
    than the places, who are not chosen; fewer than the places leaves places
    empty). ``caps`` maps "country" and/or "background" to the contest's
    limit. ``visit`` is the visit the contest leads to: True for a new one,
    None (or False) for none. ``external_entropy`` fixes the draw's public
    value, when nobody is named. Winners are pending, with a deadline
    ``acceptance_hours`` from now, and alternates waiting; no offer is sent
    yet (``draw_offers_send``). The entrants' confirmation mails are not the
    test's: ``mail.outbox`` is emptied.
    """
    winners = [{}] * winners if isinstance(winners, int) else list(winners)
    alternates = [{}] * alternates if isinstance(alternates, int) else list(alternates)
    places = [*winners, *alternates]
    entries = len(places) + 2 if entries is None else entries
    assert entries >= len(places) or not any(places), "name fewer people than there are entries"
    assert external_entropy is None or not any(places), "name people or fix the entropy"
    caps = caps or {}
    assert set(caps) <= set(CAP_FIELDS), f"caps are for {CAP_FIELDS}"
    now = timezone.now()
    contest = ContestFactory(
        opens_at=now - timedelta(days=10),
        closes_at=now + timedelta(hours=1),
        winners_count=len(winners),
        alternates_count=len(alternates),
        acceptance_hours=acceptance_hours,
        visit=VisitFactory() if visit is True else visit or None,
        max_winners_per_country=caps.get("country"),
        max_winners_per_background=caps.get("background"),
        **contest_fields,
    )
    person = {}
    for number, fields in enumerate((places + [{}] * entries)[:entries]):
        entry = _enter(contest, fields, number)
        person[entry.ticket] = _person(fields)
    _close(contest)
    contest = contest_freeze(contest=contest, actor=None)
    if external_entropy is None:
        external_entropy = _entropy_placing(contest, [_person(f) for f in places], person)
    draw = draw_run(contest=contest, actor=None, external_entropy=external_entropy, notify=False)
    if hasattr(mail, "outbox"):
        mail.outbox.clear()
    return Contest.objects.select_related("visit", "draw").get(pk=contest.pk), draw


def _enter(contest: Contest, fields: dict, number: int) -> Entry:
    """The contest's ``number``-th entry, sent and confirmed through the entry services."""
    n = next(_entrants)
    typed = {
        name: value.format(n=n) if isinstance(value, str) else value
        for name, value in ENTRANT.items()
    }
    typed["country"] = COUNTRIES[number % len(COUNTRIES)]
    typed["background"] = BACKGROUNDS[(number // 3) % len(BACKGROUNDS)]
    entry = entry_submit(contest=contest, **{**typed, **fields})
    return entry_confirm(token=entry_confirm_token(entry))


def _close(contest: Contest) -> None:
    """Time passes: the contest closed an hour ago, its entries made and confirmed before."""
    now = timezone.now()
    elapsed = contest.closes_at - (now - timedelta(hours=1))
    Contest.objects.filter(pk=contest.pk).update(closes_at=F("closes_at") - elapsed)
    Entry.objects.filter(contest=contest).update(
        created_at=F("created_at") - elapsed, confirmed_at=F("confirmed_at") - elapsed
    )
    contest.refresh_from_db()


def _person(fields: dict) -> str:
    """What tells people apart for the test: what they typed."""
    return json.dumps(fields, sort_keys=True)


def _entropy_placing(contest: Contest, wanted: list[str], person: dict[str, str]) -> str:
    """An external entropy under which the draw places the people as ``wanted``.

    Runs tweetup-draw-v1 itself (the public verifier), as ``draw_run`` will.
    When nobody was named, any draw does: the first try, no entropy, is kept.
    """
    if all(p == _person({}) for p in wanted):
        return ""
    tickets = sorted(person)
    fields = [field for field in CAP_FIELDS if getattr(contest, f"max_winners_per_{field}")]
    attributes = {
        entry.ticket: {field: str(getattr(entry, field) or "") for field in fields}
        for entry in Entry.objects.in_draw(contest)
    }
    for attempt in range(ENTROPY_TRIES):
        entropy = "" if attempt == 0 else f"builder-{attempt}"
        result = draw_algorithm.select_tickets(
            key=draw_algorithm.draw_key(bytes(contest.seed), entropy),
            tickets=tickets,
            winners_count=contest.winners_count,
            alternates_count=contest.alternates_count,
            caps={f: getattr(contest, f"max_winners_per_{f}") for f in fields},
            attributes=attributes if fields else None,
        )
        if [person[ticket] for ticket in (*result.winners, *result.alternates)] == wanted:
            return entropy
    raise AssertionError(f"No draw of {ENTROPY_TRIES} puts these people in these places: {wanted}")


def selection(draw: Draw, kind: str, position: int) -> Selection:
    return Selection.objects.select_related("entry", "draw__contest__visit").get(
        draw=draw, kind=kind, position=position
    )


def winner(draw: Draw, position: int = 1) -> Selection:
    return selection(draw, Selection.Kind.WINNER, position)


def alternate(draw: Draw, position: int = 1) -> Selection:
    return selection(draw, Selection.Kind.ALTERNATE, position)
