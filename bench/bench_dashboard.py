"""Benchmark: the organizer dashboard at 100,000 entries, the CSV export at 1,000,000.

Usage (PostgreSQL; the database is created when missing and reused on the next run):

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tweetup_bench \\
        .venv/bin/python bench/bench_dashboard.py [--entries 100000] [--csv-rows 1000000]

It fills two contests with generated entries in SQL (generate_series), then
measures, in this process, through Django's test client as an organizer:

- the dashboard page: queries per page (against a contest of 10 entries) and
  the median time of 5 loads, and each aggregate query on its own;
- the entries CSV export as its background job writes it (keyset paging to a
  file): rows, bytes and time, then in a second run the peak of Python
  allocations while writing (tracemalloc), at 10 rows, --entries and
  --csv-rows rows, to show that memory does not grow with the rows.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from harness import ensure_database, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tweetup_bench"


def fill(slug: str, rows: int) -> "Contest":  # noqa: F821
    """A closed contest with ``rows`` generated entries, made once and reused."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contests import draw_algorithm
    from contests.models import Contest, Entry

    contest = Contest.objects.filter(slug=slug).first()
    if contest is not None and Entry.objects.filter(contest=contest).count() == rows:
        return contest
    if contest is not None:
        Entry.objects.filter(contest=contest).delete()
        contest.delete()
    now = timezone.now()
    contest = Contest.objects.create(
        slug=slug,
        title=f"Benchmark {rows:,} entries",
        description="Benchmark",
        hashtag="Bench",
        rules="Bench",
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=1),
        seed=draw_algorithm.new_seed(),
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Entries spread over 58 days, 12 countries, 10 backgrounds, 1-3 languages;
        # about 4 in 5 confirmed; some motivations start like a formula.
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
                '', CASE WHEN i %% 97 = 0 THEN '=1+1' ELSE 'I love physics.' END,
                CASE WHEN i %% 3 = 0 THEN 'fr' ELSE 'en' END, true, false,
                'B' || lpad(i::text, 8, '0'),
                %(start)s + (i %% 58) * interval '1 day' + (i %% 1440) * interval '1 minute',
                CASE WHEN i %% 5 = 0 THEN NULL
                     ELSE %(start)s + (i %% 58) * interval '1 day' + interval '2 hours' END,
                i %% 5 <> 0, ''
            FROM generate_series(1, %(rows)s) AS i
            """,
            {"contest": contest.pk, "rows": rows, "start": now - timedelta(days=59)},
        )
        cursor.execute("ANALYZE contests_entry")
    print(f"  made {rows:,} entries for {slug} in {time.perf_counter() - started:.1f} s")
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


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench_dashboard(client, contest, small) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from contests import selectors

    def load(target):
        response = client.get(reverse("contests:dashboard", kwargs={"slug": target.slug}))
        assert response.status_code == 200, response.status_code
        return response

    with CaptureQueriesContext(connection) as few:
        load(small)
    with CaptureQueriesContext(connection) as many:
        load(contest)
    rows = selectors.contest_entry_counts(contest)["total"]
    print(f"Dashboard, {rows:,} entries (PostgreSQL {connection.pg_version // 10000}):")
    print(f"  queries per page: {len(many)} (same page at 10 entries: {len(few)})")
    page, _ = timed(lambda: load(contest))
    print(f"  whole page (median of 5): {page * 1000:.0f} ms")
    for label, fn in [
        ("entry counts", lambda: selectors.contest_entry_counts(contest)),
        ("entries per day", lambda: selectors.contest_entries_per_day(contest)),
        ("by country", lambda: selectors.contest_entries_by(contest, "country")),
        ("by background", lambda: selectors.contest_entries_by(contest, "background")),
        ("by language (jsonb)", lambda: selectors.contest_entries_by_language(contest)),
        ("selections", lambda: selectors.contest_selections(contest)),
    ]:
        seconds, _ = timed(fn)
        print(f"  {label}: {seconds * 1000:.0f} ms")


def stream_csv(client, contest, *, trace: bool) -> tuple[int, int, float, int]:
    """Write the entries export as its job does, to a file: rows, bytes, seconds, peak bytes."""
    import tempfile

    from contests.services.exports import entries_export_write

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
        rows = entries_export_write(contest=contest, out=out)
        out.flush()
        size = out.tell()
        seconds = time.perf_counter() - started
    lines = rows + 1
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return lines - 1, size, seconds, peak


def bench_csv(client, contest) -> None:
    rows, size, seconds, _ = stream_csv(client, contest, trace=False)
    *_, peak = stream_csv(client, contest, trace=True)
    print(
        f"  {rows:,} rows, {size / 1e6:.0f} MB in {seconds:.1f} s ({rows / seconds:,.0f} rows/s); "
        f"peak Python memory while streaming (tracemalloc run): {peak / 1e6:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--no-csv", action="store_true", help="measure the dashboard only")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    setup_django(url)
    small = fill("bench-dashboard-small", 10)
    contest = fill("bench-dashboard", args.entries)
    client = organizer_client()
    bench_dashboard(client, contest, small)
    if args.no_csv:
        return
    big = fill("bench-csv", args.csv_rows)
    print("CSV export of entries, written to a file as its job does:")
    bench_csv(client, small)
    bench_csv(client, contest)
    bench_csv(client, big)


if __name__ == "__main__":
    main()
