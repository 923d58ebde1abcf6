"""Contests frozen before the cut-off keep exactly the tickets their freeze marked.

Migration contests 0006 replaces the ``in_draw`` mark of every entry by a
cut-off on the contest. It runs here on rows written by the models as they
were before it, then forward and back.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from contests import draw_algorithm
from contests.models import Contest, Entry

BEFORE = [("contests", "0005_draw_counts_db_default")]


def latest():
    """Every app's last migration: the models the code uses (later migrations too)."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_frozen_contests_keep_their_tickets_through_the_migration():
    old = migrate(BEFORE)
    OldContest = old.get_model("contests", "Contest")
    OldEntry = old.get_model("contests", "Entry")
    now = timezone.now()

    def contest(slug: str, *, frozen: bool):
        return OldContest.objects.create(
            slug=slug,
            title=slug,
            description="-",
            hashtag="Tag",
            rules="-",
            opens_at=now - timedelta(days=10),
            closes_at=now - timedelta(days=1),
            seed=b"s" * 32,
            frozen_at=now - timedelta(hours=20) if frozen else None,
        )

    def entry(contest, n: int, *, confirmed, invalid=False, in_draw=False):
        return OldEntry.objects.create(
            contest=contest,
            name=f"E{n}",
            email=f"e{n}@example.org",
            email_normalized=f"e{n}@example.org",
            twitter_handle=f"e{n}",
            handle_normalized=f"e{n}",
            country="CH",
            background="science",
            motivation="-",
            rules_accepted=True,
            ticket=f"{contest.slug[:3].upper()}-{n:04d}",
            confirmed_at=confirmed,
            invalidated_at=now - timedelta(days=2) if invalid else None,
            in_draw=in_draw,
        )

    frozen = contest("frozen", frozen=True)
    closing = frozen.closes_at
    marked = {
        entry(frozen, n, confirmed=closing - timedelta(hours=n), in_draw=True).ticket
        for n in range(1, 6)
    }
    entry(frozen, 10, confirmed=None)
    entry(frozen, 11, confirmed=closing + timedelta(minutes=1))
    entry(frozen, 12, confirmed=closing - timedelta(hours=3), invalid=True)
    # Its closing time edited after the freeze: the marks still decide.
    moved = contest("moved", frozen=True)
    moved_marked = {
        entry(moved, n, confirmed=moved.closes_at - timedelta(hours=n), in_draw=True).ticket
        for n in range(20, 23)
    }
    entry(moved, 23, confirmed=moved.closes_at + timedelta(hours=1))
    OldContest.objects.filter(pk=moved.pk).update(closes_at=moved.closes_at + timedelta(hours=3))
    open_one = contest("not-frozen", frozen=False)
    entry(open_one, 30, confirmed=now - timedelta(days=2))

    try:
        migrate(latest())
        frozen_now = Contest.objects.get(slug="frozen")
        assert frozen_now.tickets_cutoff == closing
        in_draw = set(Entry.objects.in_draw(frozen_now).values_list("ticket", flat=True))
        assert in_draw == marked
        assert draw_algorithm.tickets_digest(in_draw) == draw_algorithm.tickets_digest(marked)
        moved_now = Contest.objects.get(slug="moved")
        assert set(Entry.objects.in_draw(moved_now).values_list("ticket", flat=True)) == (
            moved_marked
        )
        assert Contest.objects.get(slug="not-frozen").tickets_cutoff is None
        # The column stays for the release before, which writes it; new rows get its default.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM contests_entry WHERE in_draw")
            assert cursor.fetchone()[0] == len(marked) + len(moved_marked)

        # And back: the marks are written again from the cut-off.
        old = migrate(BEFORE)
        OldEntry = old.get_model("contests", "Entry")
        assert set(
            OldEntry.objects.filter(contest__slug="frozen", in_draw=True).values_list(
                "ticket", flat=True
            )
        ) == (marked)
    finally:
        migrate(latest())
