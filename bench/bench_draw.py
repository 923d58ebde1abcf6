"""Benchmark the freeze and the draw over a million entries on PostgreSQL.

Creates a throwaway database (``tweetup_bench_draw`` by default), fills one closed
contest with N entries in one ``INSERT ... SELECT generate_series``, and then
measures, each in a fresh process so that its peak memory is its own:

- a plain read of the same tickets (``SELECT ticket ... WHERE contest_id = ...``),
  streamed as the draw streams them, and fetched all at once;
- the freeze (one UPDATE, then the tickets streamed and hashed);
- the draw without caps, and with caps on country and background;
- the audit record (draw.json) streamed to nowhere.

Each row gives the wall time, the peak of Python's own allocations
(tracemalloc, measured in a second run since tracing slows Python down) and
the process's peak resident memory (ru_maxrss) above what it used before.

Usage (from the project folder)::

    .venv/bin/python bench/bench_draw.py                 # 1,000,000 entries
    .venv/bin/python bench/bench_draw.py --entries 100000 --keep

The database is dropped at the end unless --keep is given.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
SLUG = "bench-million"
COUNTRIES = ("CH", "FR", "DE", "IT", "GB", "US", "JP", "BR", "IN", "ES", "PL", "SE")
BACKGROUNDS = ("science", "engineering", "student", "teaching", "journalism", "arts")
CAPS = {"country": 2, "background": 2}
STEPS = ("select_stream", "select_fetchall", "freeze", "draw_caps", "draw", "draw_json")


# The parent: database, data, and one child process per measurement ------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database", default="tweetup_bench_draw")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tweetup.settings.test"
    if args.step:
        print(json.dumps(measure(args.step, trace=args.trace)))
        return 0

    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    try:
        python = sys.executable
        subprocess.run(
            [python, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, check=True, env=os.environ
        )
        started = time.perf_counter()
        setup(args.entries)
        print(f"Inserted {args.entries:,} entries in {time.perf_counter() - started:.1f} s.")
        rows = []
        for step in STEPS:
            timed = run_step(step, args.database, trace=False)
            traced = run_step(step, args.database, trace=True)
            rows.append((step, timed, traced))
            if step == "freeze":
                # What autovacuum does soon after the freeze updated every row.
                with psycopg.connect(f"{SERVER}/{args.database}", autocommit=True) as db:
                    db.execute("VACUUM ANALYZE contests_entry")
        report(args.entries, rows)
    finally:
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    return 0


def run_step(step: str, database: str, *, trace: bool) -> dict:
    command = [sys.executable, __file__, "--step", step, "--database", database]
    if trace:
        command.append("--trace")
    result = subprocess.run(
        command, cwd=BASE_DIR, check=False, capture_output=True, text=True, env=os.environ
    )
    if result.returncode:
        sys.exit(f"{step} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(entries: int, rows) -> None:
    labels = {
        "select_stream": "SELECT ticket, streamed (values_list iterator)",
        "select_fetchall": "SELECT ticket, fetchall() into a list",
        "freeze": "contest_freeze (UPDATE + stream, sort, hash)",
        "draw_caps": "draw_run with caps (country, background)",
        "draw": "draw_run without caps",
        "draw_json": "draw.json streamed (draw_audit_record_stream)",
    }
    print()
    print(f"PostgreSQL, {entries:,} entries in the draw")
    print(f"{'what':<48} {'time':>8} {'python peak':>12} {'RSS peak +':>11}")
    for step, timed, traced in rows:
        print(
            f"{labels[step]:<48} {timed['seconds']:>7.2f}s {traced['python_peak_mb']:>9.1f} MB"
            f" {timed['rss_growth_mb']:>8.1f} MB"
        )
    print()
    print("time and RSS from an untraced run; python peak = tracemalloc peak in a traced run.")


# Setting up the data -------------------------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def setup(entries: int) -> None:
    django_setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contests.services.entries import contest_create

    now = timezone.now()
    contest = contest_create(
        slug=SLUG,
        title="A million entrants",
        description="Benchmark.",
        hashtag="Bench",
        rules="Benchmark.",
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(hours=1),
        winners_count=5,
        alternates_count=5,
    )
    countries = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTRIES) + "]"
    backgrounds = "ARRAY[" + ",".join(f"'{b}'" for b in BACKGROUNDS) + "]"
    # A bijection of n onto 32 bits (odd multiplier) gives unique, scattered tickets.
    sql = f"""
        INSERT INTO contests_entry (
            contest_id, name, email, email_normalized, twitter_handle, handle_normalized,
            country, languages, background, background_other, motivation, language,
            rules_accepted, publish_handle, ticket, created_at, confirmed_at, in_draw,
            invalid_reason
        )
        SELECT %(contest)s, 'Entrant ' || n, 'e' || n || '@example.org', 'e' || n || '@example.org',
            'h' || n, 'h' || n,
            ({countries})[1 + mod(n, {len(COUNTRIES)})], '["en"]'::jsonb,
            ({backgrounds})[1 + mod(n / 7, {len(BACKGROUNDS)})], '', 'Benchmark entry.', 'en',
            true, mod(n, 2) = 0,
            substr(h, 1, 4) || '-' || substr(h, 5, 4),
            %(created)s, %(confirmed)s, false, ''
        FROM (
            SELECT n, upper(lpad(to_hex((n::bigint * 2654435761) %% 4294967296), 8, '0')) AS h
            FROM generate_series(1, %(entries)s) AS n
        ) AS numbers
    """  # noqa: S608 - constants of this file only
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "contest": contest.pk,
                "entries": entries,
                "created": now - timedelta(days=2),
                "confirmed": now - timedelta(days=1),
            },
        )
        cursor.execute("VACUUM ANALYZE contests_entry")


# One measurement, in its own process -----------------------------------------


def measure(step: str, *, trace: bool) -> dict:
    django_setup()
    from django.db import connection, transaction

    from contests.models import Contest, Entry
    from contests.services import audit_record, draws
    from contests.services.tickets import CHUNK_SIZE

    contest = Contest.objects.get(slug=SLUG)
    connection.ensure_connection()

    class Rollback(Exception):
        pass

    def select_stream():
        tickets = Entry.objects.filter(contest=contest).values_list("ticket", flat=True)
        return sum(1 for _ in tickets.iterator(chunk_size=CHUNK_SIZE))

    def select_fetchall():
        with connection.cursor() as cursor:
            cursor.execute("SELECT ticket FROM contests_entry WHERE contest_id = %s", [contest.pk])
            return len(cursor.fetchall())

    def freeze():
        return draws.contest_freeze(contest=contest, actor=None).tickets_count

    def draw_caps():
        # Rolled back, so that the draw without caps can follow.
        try:
            with transaction.atomic():
                draw = draws.draw_run(contest=contest, actor=None, caps=CAPS, notify=False)
                winners = len(draw.winners)
                raise Rollback
        except Rollback:
            return winners

    def draw():
        return len(
            draws.draw_run(
                contest=contest, actor=None, caps={}, notify=False, external_entropy="bench"
            ).winners
        )

    def draw_json():
        return sum(len(piece) for piece in audit_record.draw_audit_record_stream(draw=contest.draw))

    work = {
        "select_stream": select_stream,
        "select_fetchall": select_fetchall,
        "freeze": freeze,
        "draw_caps": draw_caps,
        "draw": draw,
        "draw_json": draw_json,
    }[step]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if trace and step in ("freeze", "draw"):
        # Measure the committing steps again inside a transaction rolled back.
        try:
            with transaction.atomic():
                if step == "freeze":
                    Contest.objects.filter(pk=contest.pk).update(
                        frozen_at=None, tickets_digest="", tickets_count=None
                    )
                    contest.frozen_at = None
                else:
                    contest.draw.selections.all().delete()
                    contest.draw.delete()
                    contest.refresh_from_db()
                tracemalloc.reset_peak()
                started = time.perf_counter()
                result = work()
                raise Rollback
        except Rollback:
            pass
    else:
        result = work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "step": step,
        "result": result,
        "seconds": seconds,
        "python_peak_mb": peak / 2**20,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
    }


if __name__ == "__main__":
    sys.exit(main())
