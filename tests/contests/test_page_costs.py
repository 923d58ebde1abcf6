"""Pages whose cost does not grow with the entries, and the counts they show kept exact.

The public pages read each contest's number of confirmed entries from the row
the database keeps (``contests.models.EntryCount``), never by counting entries.
"""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contests import home_page
from contests.models import Contest, ContestStatistics, Entry, EntryCount
from contests.selectors import contests_with_counts
from contests.services.draws import entry_invalidate
from contests.services.entries import entry_confirm, entry_confirm_token, entry_submit
from contests.services.privacy import entries_forget
from notifications.models import OutboxMessage
from tests.builders import drawn_contest
from tests.contests.drawing import organizer
from tests.factories import ContestFactory, EntryFactory

# A query that reads the entries table other than through one of an entry's
# unique keys (its primary key, or its ticket in the contest) reads many entries.
ENTRY_TABLE = re.compile(r'"contests_entry"')
ENTRY_BY_KEY = re.compile(r'"contests_entry"\."(id|ticket)"')


def counted(contest: Contest) -> int:
    """The number the pages show for the contest."""
    return contests_with_counts(Contest.objects.filter(pk=contest.pk)).get().confirmed_count


def actual(contest: Contest) -> int:
    return Entry.objects.filter(contest=contest, confirmed_at__isnull=False).count()


def entries_scanned(queries) -> list[str]:
    """The queries that read entries other than by a unique key."""
    return [
        query["sql"]
        for query in queries
        if ENTRY_TABLE.search(query["sql"]) and not ENTRY_BY_KEY.search(query["sql"])
    ]


def submitted(contest: Contest, n: int) -> Entry:
    return entry_submit(
        contest=contest,
        name=f"Person {n}",
        email=f"person{n}@example.org",
        twitter_handle=f"person_{n}",
        country="CH",
        languages=["en"],
        background="science",
        motivation="I would love to see the Control Centre.",
        language="en",
    )


# The count stays exact -------------------------------------------------------


@pytest.mark.django_db
def test_the_count_follows_confirmations_invalidations_purges_and_deletions():
    contest = ContestFactory()
    other = ContestFactory()
    assert counted(contest) == 0
    unconfirmed = [submitted(contest, n) for n in range(3)]
    assert counted(contest) == 0
    for entry in unconfirmed[:2]:
        entry_confirm(token=entry_confirm_token(entry))
    entry_confirm(token=entry_confirm_token(unconfirmed[0]))  # Twice is once.
    assert counted(contest) == actual(contest) == 2
    EntryFactory.create_batch(4, contest=contest)  # Confirmed as they are written.
    EntryFactory.create_batch(2, contest=other, confirmed_at=None)
    assert counted(contest) == actual(contest) == 6
    assert counted(other) == 0
    # An invalid entry was still confirmed; so was a forgotten one.
    entry_invalidate(entry=unconfirmed[1], actor=organizer(), reason="Same person twice")
    entries_forget(entries=Entry.objects.filter(pk=unconfirmed[0].pk), now=timezone.now())
    assert counted(contest) == actual(contest) == 6
    # Bulk statements move it once each, whatever they touch.
    Entry.objects.filter(contest=other).update(confirmed_at=timezone.now())
    Entry.objects.filter(contest=contest, confirmed_at__isnull=True).delete()
    Entry.objects.filter(pk=unconfirmed[0].pk).update(confirmed_at=None)
    assert counted(contest) == actual(contest) == 5
    assert counted(other) == actual(other) == 2
    moved = Entry.objects.filter(contest=contest, confirmed_at__isnull=False).first()
    Entry.objects.filter(pk=moved.pk).update(contest=other)
    assert (counted(contest), counted(other)) == (actual(contest), actual(other)) == (4, 3)
    Entry.objects.filter(contest=contest).delete()
    assert counted(contest) == actual(contest) == 0
    contest.delete()
    assert not EntryCount.objects.filter(contest_id=contest.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_confirmations_in_two_connections_are_all_counted():
    """Two threads, each with its own PostgreSQL connection, confirm at the same time."""
    contest = ContestFactory()
    entries = [submitted(contest, n) for n in range(40)]
    halves = [entries[0::2], entries[1::2]]
    start = threading.Barrier(2)
    errors = []

    def confirm(batch):
        try:
            start.wait(timeout=10)
            for entry in batch:
                entry_confirm(token=entry_confirm_token(entry))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(batch,)) for batch in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert counted(contest) == actual(contest) == 40


# Pages that cost the same at 10 and 200 entries ---------------------------------


def page_queries(client, url: str) -> list[dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return queries.captured_queries


def grow(contest: Contest, to: int) -> None:
    """Give the contest ``to`` entries in all, confirmed, in the draw."""
    missing = to - Entry.objects.filter(contest=contest).count()
    EntryFactory.create_batch(missing, contest=contest, in_draw=True)


@pytest.mark.django_db
def test_home_contest_and_results_pages_run_the_same_queries_and_scan_no_entries(client, settings):
    contest, draw = drawn_contest(winners=2, alternates=1, entries=6)
    open_contest = ContestFactory()
    upcoming = ContestFactory(opens_at=timezone.now() + timedelta(days=2))
    ticket = Entry.objects.in_draw(contest).first().ticket
    results = reverse("contests:results", kwargs={"slug": contest.slug})
    urls = [
        "/",
        reverse("contests:list"),
        open_contest.get_absolute_url(),
        upcoming.get_absolute_url(),
        contest.get_absolute_url(),
        results,
        f"{results}?ticket={ticket}",
    ]
    for url in urls:
        client.get(url)  # Caches filled, as on a site that runs.
    for target in (contest, open_contest):
        grow(target, 10)
    few = {url: page_queries(client, url) for url in urls}
    for target in (contest, open_contest):
        grow(target, 200)
    many = {url: page_queries(client, url) for url in urls}
    for url in urls:
        assert len(many[url]) == len(few[url]), url
        assert entries_scanned(many[url]) == [], url
    # The home page's lists are kept for HOME_PAGE_CACHE_SECONDS: rendered again
    # once that passed, they count without reading the entries.
    later = timezone.now() + timedelta(seconds=settings.HOME_PAGE_CACHE_SECONDS)
    with CaptureQueriesContext(connection) as cold:
        home = home_page.home_lists(now=later)
    assert len(cold) > 0 and entries_scanned(cold) == []
    assert "200 confirmed entries" in home


# The dashboard's figures ---------------------------------------------------------


def dashboard(client, contest):
    response = client.get(reverse("contests:dashboard", kwargs={"slug": contest.slug}))
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_the_dashboard_shows_kept_figures_and_has_old_ones_recomputed_in_the_background(
    client, settings, django_capture_on_commit_callbacks
):
    client.force_login(organizer())
    contest = ContestFactory()
    EntryFactory.create_batch(3, contest=contest)
    assert dashboard(client, contest).context["counts"]["total"] == 3  # First view counts.
    EntryFactory.create_batch(2, contest=contest, country="FR")
    for index in range(3):
        OutboxMessage.objects.create(
            key=f"k{index}", kind="t", to_email="a@example.org", subject="s", contest=contest
        )
    with CaptureQueriesContext(connection) as queries:
        response = dashboard(client, contest)
    assert response.context["counts"]["total"] == 3  # Kept figures, not counted again.
    assert entries_scanned(queries.captured_queries) == []
    # The mail written since the figures were kept is counted: the outbox's count is exact.
    assert response.context["outbox"].paginator.count == 3
    assert len(response.context["outbox"].object_list) == 3
    # Once old, the page shows them still and has a worker count them again.
    ContestStatistics.objects.filter(contest=contest).update(
        computed_at=timezone.now() - settings.DASHBOARD_STATISTICS_MAX_AGE
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert dashboard(client, contest).context["counts"]["total"] == 3
    assert len(callbacks) == 1
    fresh = dashboard(client, contest)
    assert fresh.context["counts"]["total"] == 5
    assert {row["value"]: row["total"] for row in fresh.context["by_country"]} == {
        "CH": 3,
        "FR": 2,
    }
    assert "Figures as of" in fresh.content.decode()


@pytest.mark.django_db
def test_old_figures_are_queued_for_recounting_once_however_many_views_see_them(
    client, settings, django_capture_on_commit_callbacks
):
    client.force_login(organizer())
    contest = ContestFactory()
    dashboard(client, contest)
    ContestStatistics.objects.filter(contest=contest).update(
        computed_at=timezone.now() - settings.DASHBOARD_STATISTICS_MAX_AGE
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for _view in range(3):
            dashboard(client, contest)
    assert len(callbacks) == 1
