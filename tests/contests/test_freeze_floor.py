"""The freeze writes no entry, and every read of the tickets pages through them.

The freeze records a cut-off on the contest (``tickets_cutoff``); the tickets
in the draw are the entries confirmed before it and not invalidated. These
tests hold that the freeze leaves every entry's row untouched, that every
place which says "in the draw" means that same set, and that the freeze, the
draw and draw.json read the tickets a page at a time (keyset pagination, no
server-side cursor) with the same result as the verifier.
"""

import csv
import io
import json
import re
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contests import draw_algorithm, selectors
from contests.models import Entry
from contests.services import exports
from contests.services import tickets as ticket_services
from contests.services.audit_record import draw_audit_record
from contests.services.draws import contest_freeze, draw_run, entry_invalidate
from tests.contests.drawing import add_entries, closed_contest, organizer
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def entry_versions(contest) -> dict[int, str]:
    """Each entry's row version (PostgreSQL's xmin): any UPDATE of the row changes it.

    SQLite has none: there, each row as a whole.
    """
    column = "xmin::text" if connection.vendor == "postgresql" else "*"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, {column} FROM contests_entry WHERE contest_id = %s",  # noqa: S608
            [contest.pk],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def a_closed_contest_with_every_kind_of_entry(**fields):
    """Eligible entries, and every kind that must stay out of the draw."""
    contest = closed_contest(**fields)
    eligible = add_entries(contest, 11)
    EntryFactory(contest=contest, confirmed_at=None)
    EntryFactory(contest=contest, confirmed_at=contest.closes_at)
    EntryFactory(contest=contest, confirmed_at=contest.closes_at + timedelta(minutes=5))
    invalid = EntryFactory(contest=contest, confirmed_at=contest.closes_at - timedelta(hours=1))
    entry_invalidate(entry=invalid, actor=None, reason="Same person twice")
    EntryFactory(confirmed_at=contest.closes_at - timedelta(hours=1))  # another contest
    return contest, {entry.ticket for entry in eligible}


def test_the_freeze_writes_no_entry():
    contest, eligible = a_closed_contest_with_every_kind_of_entry()
    before = entry_versions(contest)

    with CaptureQueriesContext(connection) as queries:
        contest = contest_freeze(contest=contest, actor=None)

    written = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
        and "contests_entry" in query["sql"]
    ]
    assert written == []
    assert entry_versions(contest) == before
    assert contest.tickets_cutoff == contest.closes_at
    assert contest.tickets_count == len(eligible)
    assert contest.tickets_digest == draw_algorithm.tickets_digest(eligible)


def test_in_the_draw_means_the_frozen_set_everywhere(client):
    contest, eligible = a_closed_contest_with_every_kind_of_entry()
    assert not Entry.objects.in_draw(contest).exists()  # nothing before the freeze
    contest = contest_freeze(contest=contest, actor=None)
    everyone = Entry.objects.filter(contest=contest)

    assert set(Entry.objects.in_draw(contest).values_list("ticket", flat=True)) == eligible
    annotated = dict(everyone.with_in_draw().values_list("ticket", "in_the_draw"))
    assert {ticket for ticket, in_draw in annotated.items() if in_draw} == eligible
    assert {entry.ticket for entry in everyone if entry.in_draw} == eligible
    assert selectors.contest_entry_counts(contest)["in_draw"] == len(eligible)

    # An entry added behind the services' back after the closing stays out.
    late = EntryFactory(contest=contest, confirmed_at=timezone.now())
    assert not late.in_draw

    client.force_login(organizer())
    admin = reverse("admin:contests_entry_changelist")
    shown = client.get(admin, {"contest__id__exact": contest.pk, "in_draw": "yes"})
    assert {entry.ticket for entry in shown.context["cl"].result_list} == eligible
    left_out = client.get(admin, {"contest__id__exact": contest.pk, "in_draw": "no"})
    assert {entry.ticket for entry in left_out.context["cl"].result_list} == (
        set(everyone.values_list("ticket", flat=True)) - eligible
    )
    ordered = client.get(admin, {"contest__id__exact": contest.pk, "o": "8"})
    assert ordered.status_code == 200

    # The export, as its background job writes it.
    out = io.StringIO()
    exports.entries_export_write(contest=contest, out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert {row["ticket"] for row in rows if row["in_draw"] == "yes"} == eligible

    results = reverse("contests:results", kwargs={"slug": contest.slug})
    some_ticket = sorted(eligible)[0]
    assert client.get(results, {"ticket": some_ticket}).context["check"]["in_draw"] is True
    assert client.get(results, {"ticket": late.ticket}).context["check"]["in_draw"] is False


def test_the_freeze_and_the_draw_page_through_the_tickets_and_report_progress(monkeypatch):
    monkeypatch.setattr(ticket_services, "PAGE_SIZE", 4)
    contest, eligible = a_closed_contest_with_every_kind_of_entry(
        winners_count=3, alternates_count=2
    )
    frozen_progress: list[tuple[int, int]] = []
    drawn_progress: list[tuple[int, int]] = []

    with CaptureQueriesContext(connection) as queries:
        contest = contest_freeze(
            contest=contest, actor=None, progress=lambda *step: frozen_progress.append(step)
        )
    draw = draw_run(
        contest=contest,
        actor=None,
        notify=False,
        progress=lambda *step: drawn_progress.append(step),
    )

    assert frozen_progress == [(4, 11), (8, 11), (11, 11)]
    assert drawn_progress == [(4, 11), (8, 11), (11, 11)]
    # One query per page, each after the last ticket of the one before.
    after_last = re.compile(r'"ticket"(?: COLLATE "C"\)?)? > ')
    pages = [q["sql"] for q in queries.captured_queries if after_last.search(q["sql"])]
    assert len(pages) == 2
    assert contest.tickets_digest == draw_algorithm.tickets_digest(eligible)
    record = draw_audit_record(draw=draw)
    assert record["tickets"] == sorted(eligible)
    assert draw_algorithm.verify_audit_record(record) == []


def test_a_capped_draw_read_page_by_page_agrees_with_the_verifier(monkeypatch, client):
    monkeypatch.setattr(ticket_services, "PAGE_SIZE", 5)
    contest = closed_contest(winners_count=4, alternates_count=4)
    # Few values, so the caps pass over many tickets of the ranking.
    add_entries(contest, 40, country="CH")
    add_entries(contest, 3, country="FR")
    contest = contest_freeze(contest=contest, actor=None)
    caps = {"country": 1, "background": 2}

    draw = draw_run(contest=contest, actor=None, notify=False, caps=caps)

    tickets = list(Entry.objects.in_draw(contest).values_list("ticket", flat=True))
    attributes = {
        ticket: {"country": country, "background": background}
        for ticket, country, background in Entry.objects.in_draw(contest).values_list(
            "ticket", "country", "background"
        )
    }
    expected = draw_algorithm.build_audit_record(
        contest=contest.slug,
        seed=bytes(contest.seed),
        external_entropy="",
        tickets=tickets,
        winners_count=4,
        alternates_count=4,
        caps=caps,
        attributes=attributes,
        drawn_at=draw.drawn_at.astimezone(UTC),
    )
    assert len(draw.winners) == 2  # two countries, one winner each
    assert (draw.winners, draw.alternates, draw.ranking) == (
        expected["winners"],
        expected["alternates"],
        expected["ranking"],
    )
    served = json.loads(
        b"".join(
            client.get(
                reverse("contests:draw_json", kwargs={"slug": contest.slug})
            ).streaming_content
        )
    )
    assert served == {**expected, "drawn_at": served["drawn_at"]}
    assert draw_algorithm.verify_audit_record(served) == []


def test_the_draw_keeps_the_values_of_the_head_of_the_ranking_only():
    """With caps, the draw holds no value per ticket: only those of its prefix."""
    key = b"k" * 32
    tickets = [f"T{n:05d}" for n in range(3000)]
    values = [{"country": "CH"}, {"country": "FR"}, {"country": "DE"}]
    attributes = {ticket: values[n % 3] for n, ticket in enumerate(tickets)}
    reads = []

    def pairs():
        reads.append(1)
        return ((ticket, attributes[ticket]) for ticket in tickets)

    streamed = draw_algorithm.select_attributed_tickets(
        key=key, tickets=pairs, winners_count=5, alternates_count=2, caps={"country": 1}
    )
    mapped = draw_algorithm.select_tickets(
        key=key,
        tickets=tickets,
        winners_count=5,
        alternates_count=2,
        caps={"country": 1},
        attributes=attributes,
    )
    assert streamed == mapped
    assert len(streamed.winners) == 3
    assert len(reads) == 2


def test_the_verifier_scores_match_the_standard_hmac():
    key = bytes(range(32))
    tickets = [f"{n:04X}-{n * 7919 % 65536:04X}" for n in range(5000)] + ["Zoë-1"]
    result = draw_algorithm.select_tickets(
        key=key, tickets=tickets, winners_count=3, alternates_count=3
    )
    ranking = sorted(tickets, key=lambda t: (draw_algorithm.ticket_score(key, t), t))
    assert list(result.ranking) == ranking[:6]
    long_key = bytes(range(100))
    result = draw_algorithm.select_tickets(
        key=long_key, tickets=tickets, winners_count=1, alternates_count=0
    )
    assert result.winners[0] == min(
        tickets, key=lambda t: (draw_algorithm.ticket_score(long_key, t), t)
    )
