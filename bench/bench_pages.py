"""Benchmark: the public pages and the dashboard at 1,000 and 1,000,000 entries; an entry's cost.

Usage (PostgreSQL; the database is created when missing and its contests reused):

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tweetup_bench_pages \\
        .venv/bin/python bench/bench_pages.py [--sizes 1000 1000000] [--loads 15] [--people 200]

For each size it makes (once, in SQL with generate_series) an open contest
and a drawn one of that many entries each, with a sent confirmation mail per
entry in the outbox, publishes only those two, and
times through Django's test client, in this process, the median of --loads
loads of: the home page, the list of contests, the open contest's page, the
drawn contest's results page, and its organizer dashboard (after a first
load). It prints each page's queries and the ratio of the big size's time to
the small one's (the target: within ±20 %, 0.8–1.2). Then --people entrants
each GET the open contest's page and POST the entry form: CPU time of this
process per person, and the queries of one POST. Celery publishes to an
in-memory broker, so the mail's sending is not in the figures.

The same file runs unchanged on an older checkout (copy it there), against a
database of its own, to compare before and after.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
import harness  # noqa: E402
from harness import ensure_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tweetup_bench_pages"


def setup_django(url: str) -> None:
    harness.setup_django(url)
    logging.disable(logging.WARNING)
    from tweetup.celery import app

    # Tasks go to an in-memory queue: the web process's work only.
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"


def fill(slug: str, rows: int, *, drawn: bool):
    """A contest with ``rows`` generated entries (about 4 in 5 confirmed), made once."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contests import draw_algorithm
    from contests.models import Contest, Entry

    contest = Contest.objects.filter(slug=slug).first()
    if contest is not None and Entry.objects.filter(contest=contest).count() >= rows:
        return contest
    if contest is not None:
        raise SystemExit(f"{slug} is incomplete: drop the benchmark database and run again.")
    now = timezone.now()
    contest = Contest.objects.create(
        slug=slug,
        title=f"Benchmark {rows:,} entries",
        description="Benchmark",
        hashtag="Bench",
        rules="Bench",
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(hours=1) if drawn else now + timedelta(days=30),
        winners_count=5,
        alternates_count=5,
        seed=draw_algorithm.new_seed(),
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contests_entry (
                contest_id, name, email, email_normalized, twitter_handle, handle_normalized,
                country, languages, background, background_other, motivation, language,
                rules_accepted, publish_handle, ticket, created_at, confirmed_at, in_draw,
                invalid_reason
            )
            SELECT %(contest)s, 'Entrant ' || i, 'e' || i || '@example.org',
                'e' || i || '@example.org', 'e' || i, 'e' || i,
                (ARRAY['CH','FR','DE','IT','ES','IE','GB','US','JP','BR','IN','CA'])[1 + i %% 12],
                (ARRAY['["en"]', '["en", "fr"]', '["de", "en", "it"]', '["es"]',
                       '["fr"]'])[1 + i %% 5]::jsonb,
                (ARRAY['science','engineering','student','teaching','journalism',
                       'communication','arts','law','business','other'])[1 + i %% 10],
                '', 'I love physics.', CASE WHEN i %% 3 = 0 THEN 'fr' ELSE 'en' END, true,
                false, 'B' || lpad(i::text, 8, '0'),
                %(start)s + (i %% 58) * interval '1 day' + (i %% 1440) * interval '1 minute',
                CASE WHEN i %% 5 = 0 THEN NULL
                     ELSE %(start)s + (i %% 58) * interval '1 day' + interval '2 hours' END,
                %(drawn)s AND i %% 5 <> 0, ''
            FROM generate_series(1, %(rows)s) AS i
            """,
            {
                "contest": contest.pk,
                "rows": rows,
                "start": now - timedelta(days=59),
                "drawn": drawn,
            },
        )
        cursor.execute("ANALYZE contests_entry")
        # Each entry's confirmation mail, sent: the dashboard lists the contest's outbox.
        cursor.execute(
            """
            INSERT INTO notifications_outboxmessage (
                key, kind, contest_id, to_email, language, subject, body_text, body_html,
                status, attempts, last_error, created_at, sent_at, concerns
            )
            SELECT 'entry_confirm:' || e.id, 'entry_confirm', e.contest_id, e.email, e.language,
                'Confirm your entry', 'Hello', '', 'sent', 1, '', e.created_at, e.created_at,
                'contests.entry:' || e.id
            FROM contests_entry AS e WHERE e.contest_id = %(contest)s
            """,
            {"contest": contest.pk},
        )
        cursor.execute("ANALYZE notifications_outboxmessage")
    print(
        f"  made {rows:,} entries and their mail for {slug} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if drawn:
        from contests.services import draws

        # Frozen by the service itself: it records the cut-off and reads the tickets once.
        contest = draws.contest_freeze(contest=contest, actor=None)
        contest.refresh_from_db()
        draws.draw_run(contest=contest, actor=None, external_entropy="bench", notify=False)
    return contest


def organizer_client():
    from django.apps import apps
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from tweetup.roles import ORGANIZERS, groups_sync

    groups_sync(apps)
    user, _ = User.objects.get_or_create(username="bench-organizer", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=ORGANIZERS))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def timed_page(client, url: str, loads: int) -> tuple[float, int, float]:
    """Median seconds of ``loads`` GETs of ``url`` (after one to warm up), its queries, and
    the median CPU seconds of this process per GET (which the machine's load moves less)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # Caches filled and figures kept, as on a site that runs.
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    # Each request empties the connection's log: count them now.
    queries = len(captured)
    times, cpu = [], []
    for _ in range(loads):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200
    return statistics.median(times), queries, statistics.median(cpu)


def publish_only(contests) -> None:
    from django.core.cache import cache

    from contests.models import Contest

    Contest.objects.update(published=False)
    Contest.objects.filter(pk__in=[c.pk for c in contests]).update(published=True)
    # A bulk update saves no contest: pages kept in the cache (the home page's
    # lists) would still list the contests of the size before.
    cache.clear()


def bench_pages(sizes: list[int], loads: int) -> dict[int, dict[str, float]]:
    from django.test import Client
    from django.urls import reverse

    results = {}
    organizer = organizer_client()
    public = Client(HTTP_HOST="localhost")
    for size in sizes:
        open_contest = fill(f"bench-pages-open-{size}", size, drawn=False)
        drawn = fill(f"bench-pages-drawn-{size}", size, drawn=True)
        publish_only([open_contest, drawn])
        pages = {
            "home": (public, "/"),
            "contest list": (public, reverse("contests:list")),
            "contest page": (public, open_contest.get_absolute_url()),
            "results page": (public, reverse("contests:results", kwargs={"slug": drawn.slug})),
            "dashboard": (organizer, reverse("contests:dashboard", kwargs={"slug": drawn.slug})),
        }
        print(f"{size:,} entries per contest (median of {loads} loads):")
        results[size] = {}
        for name, (client, url) in pages.items():
            seconds, queries, cpu = timed_page(client, url, loads)
            results[size][name] = seconds
            print(f"  {name}: {seconds * 1000:.1f} ms (CPU {cpu * 1000:.1f} ms), {queries} queries")
    small, big = min(sizes), max(sizes)
    if small != big:
        print(f"Ratio {big:,} / {small:,} entries (target 0.8-1.2; dashboard < 100 ms):")
        for name in results[small]:
            print(f"  {name}: {results[big][name] / results[small][name]:.2f}")
    return results


def bench_entry(people: int, size: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contests.models import Contest

    contest = Contest.objects.get(slug=f"bench-pages-open-{size}")
    url = contest.get_absolute_url()
    run = time.time_ns()
    client = Client(HTTP_HOST="localhost")
    client.get(url)

    def enter(n: int, queries: list | None = None):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                url,
                {
                    "name": f"Bench Person {n}",
                    "email": f"p{run}-{n}@example.org",
                    "twitter_handle": f"b{run % 10**8}{n}"[:15],
                    "country": "CH",
                    "languages": ["en", "fr"],
                    "background": "science",
                    "motivation": "I would love to see the Control Centre.",
                    "language": "en",
                    "accept_rules": "on",
                },
            )
            if queries is not None:
                queries.append(len(captured))
        return response

    post_queries = []
    response = enter(0, post_queries)
    assert response.status_code == 302, response.status_code
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(1, people + 1):
        assert enter(n).status_code == 302
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"Entry (GET the contest page + POST the form), {people} people, contest of {size:,}:\n"
        f"  CPU of this process per person: {cpu / people * 1000:.1f} ms "
        f"(wall {wall / people * 1000:.1f} ms); queries of the POST: {post_queries[0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 1_000_000])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    setup_django(url)
    bench_pages(args.sizes, args.loads)
    if args.people:
        bench_entry(args.people, max(args.sizes))


if __name__ == "__main__":
    main()
