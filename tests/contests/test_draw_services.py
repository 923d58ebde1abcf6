"""The freeze and the draw: contest_freeze, entry_invalidate, draw_run, the audit record."""

import json
import threading
from datetime import UTC, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contests import draw_algorithm
from contests.errors import AlreadyDrawn, ContestError
from contests.models import Contest, Draw, Entry, Selection, SelectionEvent
from contests.services.audit_record import draw_audit_record, draw_audit_record_stream
from contests.services.draws import contest_freeze, draw_run, entry_invalidate
from notifications.models import OutboxMessage
from tests.builders import drawn_contest
from tests.conftest import need
from tests.contests.drawing import add_entries, closed_contest, frozen_contest, organizer
from tests.factories import ContestFactory, EntryFactory

pytestmark = pytest.mark.django_db


def expected_record(contest: Contest, draw: Draw, *, attributes=None) -> dict:
    tickets = Entry.objects.in_draw(contest).values_list("ticket", flat=True)
    return draw_algorithm.build_audit_record(
        contest=contest.slug,
        seed=bytes(contest.seed),
        external_entropy=draw.external_entropy,
        tickets=list(tickets),
        winners_count=contest.winners_count,
        alternates_count=contest.alternates_count,
        caps=draw.caps,
        attributes=attributes,
        drawn_at=draw.drawn_at.astimezone(UTC),
    )


# Freeze --------------------------------------------------------------------


def test_freeze_fixes_eligible_tickets_and_their_digest():
    contest = closed_contest()
    eligible = add_entries(contest, 5)
    EntryFactory(contest=contest, confirmed_at=None)
    EntryFactory(contest=contest, confirmed_at=contest.closes_at + timedelta(minutes=1))
    invalid = EntryFactory(contest=contest, confirmed_at=contest.closes_at - timedelta(hours=1))
    entry_invalidate(entry=invalid, actor=None, reason="Duplicate person")
    other_contest_entry = EntryFactory(confirmed_at=timezone.now() - timedelta(days=1))

    contest = contest_freeze(contest=contest, actor=None)

    in_draw = set(
        Entry.objects.with_in_draw().filter(in_the_draw=True).values_list("ticket", flat=True)
    )
    assert in_draw == {entry.ticket for entry in eligible}
    assert other_contest_entry.ticket not in in_draw
    assert contest.tickets_count == 5
    assert contest.tickets_digest == draw_algorithm.tickets_digest(in_draw)
    assert contest.frozen_at is not None
    assert Contest.objects.get(pk=contest.pk).state == Contest.State.FROZEN


def test_freeze_refuses_a_contest_that_is_still_open():
    contest = ContestFactory()
    with pytest.raises(ContestError, match="closed contest"):
        contest_freeze(contest=contest, actor=None)
    contest.refresh_from_db()
    assert contest.frozen_at is None


def test_freeze_happens_once():
    contest = frozen_contest(3)
    digest = contest.tickets_digest
    with pytest.raises(ContestError, match="already frozen"):
        contest_freeze(contest=contest, actor=None)
    contest.refresh_from_db()
    assert contest.tickets_digest == digest


def test_freeze_reads_tickets_in_a_constant_number_of_queries():
    small, large = closed_contest(), closed_contest()
    add_entries(small, 3)
    add_entries(large, 40)
    with CaptureQueriesContext(connection) as few:
        contest_freeze(contest=small, actor=None)
    with CaptureQueriesContext(connection) as many:
        contest_freeze(contest=large, actor=None)
    assert len(many.captured_queries) == len(few.captured_queries)


# Invalidation --------------------------------------------------------------


def test_invalidated_entry_keeps_its_reason_and_is_not_drawn():
    contest = closed_contest(winners_count=3, alternates_count=3)
    entries = add_entries(contest, 6)
    user = organizer()
    entry_invalidate(entry=entries[0], actor=user, reason="  Same person as T1  ")
    contest = contest_freeze(contest=contest, actor=user)
    draw = draw_run(contest=contest, actor=user, notify=False)

    entries[0].refresh_from_db()
    assert entries[0].invalid_reason == "Same person as T1"
    assert entries[0].invalidated_by == user
    assert entries[0].invalidated_at is not None
    assert not entries[0].in_draw
    assert entries[0].ticket not in draw.ranking
    assert sorted([*draw.winners, *draw.alternates]) == sorted(e.ticket for e in entries[1:])


def test_invalidation_needs_a_reason(entry):
    with pytest.raises(ContestError, match="reason"):
        entry_invalidate(entry=entry, actor=None, reason="   ")
    entry.refresh_from_db()
    assert entry.invalidated_at is None


def test_invalidation_is_refused_after_the_freeze():
    contest = frozen_contest(3)
    entry = Entry.objects.filter(contest=contest).first()
    with pytest.raises(ContestError, match="frozen"):
        entry_invalidate(entry=entry, actor=None, reason="Ineligible")
    entry.refresh_from_db()
    assert entry.invalidated_at is None and entry.in_draw


def test_invalidating_twice_is_refused(entry):
    entry_invalidate(entry=entry, actor=None, reason="Ineligible")
    with pytest.raises(ContestError, match="already invalid"):
        entry_invalidate(entry=entry, actor=None, reason="Duplicate")
    entry.refresh_from_db()
    assert entry.invalid_reason == "Ineligible"


# Draw ----------------------------------------------------------------------


def test_draw_agrees_with_the_algorithm_and_creates_selections():
    contest = frozen_contest(25, winners_count=4, alternates_count=3, acceptance_hours=48)
    user = organizer()
    draw = draw_run(contest=contest, actor=user, external_entropy="beacon round 4242", notify=False)

    record = expected_record(contest, draw)
    assert draw.winners == record["winners"] and len(draw.winners) == 4
    assert draw.alternates == record["alternates"] and len(draw.alternates) == 3
    assert draw.ranking == record["ranking"]
    assert draw.drawn_by == user

    selections = list(draw.selections.select_related("entry").order_by("kind", "position"))
    winners = [s for s in selections if s.kind == Selection.Kind.WINNER]
    alternates = [s for s in selections if s.kind == Selection.Kind.ALTERNATE]
    assert [s.entry.ticket for s in winners] == draw.winners
    assert [s.position for s in winners] == [1, 2, 3, 4]
    assert all(s.status == Selection.Status.PENDING for s in winners)
    assert all(s.deadline == draw.drawn_at + timedelta(hours=48) for s in winners)
    assert [s.entry.ticket for s in alternates] == draw.alternates
    assert all(s.status == Selection.Status.WAITING and s.deadline is None for s in alternates)
    events = SelectionEvent.objects.filter(selection__draw=draw)
    assert events.count() == 7
    assert set(events.values_list("action", "actor")) == {("drawn", user.pk)}
    assert Contest.objects.get(pk=contest.pk).state == Contest.State.DRAWN


def test_draw_queues_the_winners_offers_after_commit(django_capture_on_commit_callbacks):
    contest = frozen_contest(10, winners_count=2, alternates_count=2)
    with django_capture_on_commit_callbacks(execute=True):
        draw = draw_run(contest=contest, actor=None)
    offers = OutboxMessage.objects.filter(contest_id=contest.pk)
    assert offers.count() == 4

    def emails(tickets):
        return set(
            Entry.objects.filter(ticket__in=tickets, contest=contest).values_list(
                "email", flat=True
            )
        )

    kind = OutboxMessage.Kind
    winners = offers.filter(kind=kind.SELECTION_OFFER).values_list("to_email", flat=True)
    assert set(winners) == emails(draw.winners)
    # The alternates are told their rank at the same time.
    alternates = offers.filter(kind=kind.SELECTION_ALTERNATE).values_list("to_email", flat=True)
    assert set(alternates) == emails(draw.alternates)


def test_draw_refuses_a_contest_that_is_not_frozen():
    contest = closed_contest()
    add_entries(contest, 5)
    with pytest.raises(ContestError, match="Freeze"):
        draw_run(contest=contest, actor=None)
    assert not Draw.objects.exists()


def test_draw_refuses_a_frozen_contest_without_tickets():
    contest = frozen_contest(0)
    with pytest.raises(ContestError, match="no ticket"):
        draw_run(contest=contest, actor=None)
    assert not Draw.objects.exists()


def test_a_contest_is_drawn_once_and_a_retry_does_not_draw_again():
    contest, draw = drawn_contest(entries=12, winners=5, alternates=3)
    with pytest.raises(AlreadyDrawn) as caught:
        draw_run(contest=contest, actor=None, external_entropy="another try")
    assert caught.value.draw.pk == draw.pk
    assert Draw.objects.count() == 1
    assert Selection.objects.count() == contest.winners_count + contest.alternates_count


def test_draw_refuses_tickets_changed_since_the_freeze():
    contest = frozen_contest(10)
    first = Entry.objects.filter(contest=contest).order_by("pk").first()
    # Behind the services' back: the services refuse to invalidate once frozen.
    Entry.objects.filter(pk=first.pk).update(invalidated_at=timezone.now())
    with pytest.raises(ContestError, match="no longer match"):
        draw_run(contest=contest, actor=None)
    assert not Draw.objects.exists()


def test_draw_reads_tickets_in_a_constant_number_of_queries():
    small = frozen_contest(8, winners_count=2, alternates_count=2)
    large = frozen_contest(80, winners_count=2, alternates_count=2)
    with CaptureQueriesContext(connection) as few:
        draw_run(contest=small, actor=None, notify=False)
    with CaptureQueriesContext(connection) as many:
        draw_run(contest=large, actor=None, notify=False)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 12
    # The tickets are read as plain values, once.
    entry_reads = [q["sql"] for q in many.captured_queries if '"contests_entry"' in q["sql"]]
    # The tickets, then the chosen tickets' ids, then which chosen entrants withdrew.
    assert len(entry_reads) == 3


def test_same_inputs_give_the_same_ranking():
    seed = draw_algorithm.new_seed()
    drawn = []
    for slug in ("first", "second"):
        contest = closed_contest(slug=slug, seed=seed)
        for n in range(20):
            EntryFactory(
                contest=contest,
                ticket=f"SAME-{n:04d}",
                confirmed_at=contest.closes_at - timedelta(hours=1),
            )
        contest = contest_freeze(contest=contest, actor=None)
        drawn.append(draw_run(contest=contest, actor=None, external_entropy="E", notify=False))
    assert drawn[0].ranking == drawn[1].ranking
    assert drawn[0].winners == drawn[1].winners


def test_caps_hold_per_country_and_background():
    contest = closed_contest(
        winners_count=5,
        alternates_count=4,
        max_winners_per_country=1,
        max_winners_per_background=2,
    )
    add_entries(contest, 40, country="CH")
    add_entries(contest, 6, country="FR", background="arts")
    add_entries(contest, 6, country="DE", background="arts")
    add_entries(contest, 6, country="IT", background="law")
    add_entries(contest, 6, country="JP", background="law")
    add_entries(contest, 6, country="GB", background="student")
    contest = contest_freeze(contest=contest, actor=None)
    draw = draw_run(contest=contest, actor=None, notify=False)

    assert draw.caps == {"country": 1, "background": 2}
    winners = Entry.objects.filter(contest=contest, ticket__in=draw.winners)
    countries = list(winners.values_list("country", flat=True))
    backgrounds = list(winners.values_list("background", flat=True))
    assert len(countries) == 5
    assert len(set(countries)) == len(countries)
    assert max(backgrounds.count(b) for b in set(backgrounds)) <= 2
    record = draw_audit_record(draw=draw)
    assert draw_algorithm.verify_audit_record(record) == []


def test_caps_given_at_the_draw_replace_the_contests():
    contest = frozen_contest(30, max_winners_per_country=3)
    draw = draw_run(
        contest=contest, actor=None, caps={"background": 1, "country": None}, notify=False
    )
    assert draw.caps == {"background": 1}


def test_unknown_cap_is_refused():
    contest = frozen_contest(5)
    with pytest.raises(ContestError, match="cap"):
        draw_run(contest=contest, actor=None, caps={"email": 1})
    with pytest.raises(ContestError, match="cap"):
        draw_run(contest=contest, actor=None, caps={"country": -1})


# Audit record --------------------------------------------------------------


@pytest.mark.parametrize("capped", [False, True])
def test_streamed_audit_record_equals_the_algorithms(capped):
    contest, draw = drawn_contest(
        entries=35,
        winners=5,
        alternates=3,
        caps={"country": 2} if capped else None,
        external_entropy="Swiss Lotto 2012-07-11: 3 9 17 22 30 41 · é",
    )
    text = "".join(draw_audit_record_stream(draw=draw))
    record = json.loads(text)
    attributes = None
    if capped:
        attributes = {
            ticket: {"country": country}
            for ticket, country in Entry.objects.filter(contest=contest).values_list(
                "ticket", "country"
            )
        }
    assert record == expected_record(contest, draw, attributes=attributes)
    assert list(record) == list(draw_algorithm.AUDIT_RECORD_KEYS)
    assert draw_algorithm.verify_audit_record(record) == []


def test_audit_record_keeps_the_numbers_drawn_for_when_the_contest_changes():
    contest, draw = drawn_contest(entries=20, winners=3, alternates=2)
    before = draw_audit_record(draw=draw)
    Contest.objects.filter(pk=contest.pk).update(winners_count=7, alternates_count=0)
    draw = Draw.objects.select_related("contest").get(pk=draw.pk)
    after = draw_audit_record(draw=draw)
    assert after == before
    assert (after["winners_count"], after["alternates_count"]) == (3, 2)
    assert draw_algorithm.verify_audit_record(after) == []


def test_audit_record_lists_tickets_bytewise():
    contest = closed_contest(winners_count=1, alternates_count=0)
    for ticket in ("b-1", "B-2", "a", "Z", "_x", "9"):
        EntryFactory(
            contest=contest, ticket=ticket, confirmed_at=contest.closes_at - timedelta(hours=1)
        )
    contest = contest_freeze(contest=contest, actor=None)
    draw = draw_run(contest=contest, actor=None, notify=False)
    record = draw_audit_record(draw=draw)
    assert record["tickets"] == ["9", "B-2", "Z", "_x", "a", "b-1"]
    assert draw_algorithm.verify_audit_record(record) == []


# Concurrency ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_organizers_drawing_at_once_make_one_draw():
    need(connection.vendor == "postgresql", "row locks need PostgreSQL")
    contest = frozen_contest(20)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press_draw(entropy: str) -> None:
        try:
            barrier.wait()
            draw_run(
                contest=Contest.objects.get(pk=contest.pk),
                actor=None,
                external_entropy=entropy,
                notify=False,
            )
            outcomes.append("drawn")
        except AlreadyDrawn:
            outcomes.append("already drawn")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press_draw, args=(e,)) for e in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already drawn", "drawn"]
    assert Draw.objects.filter(contest=contest).count() == 1
    assert Selection.objects.count() == contest.winners_count + contest.alternates_count
