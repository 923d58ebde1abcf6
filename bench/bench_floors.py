"""The freeze, the draw and draw.json against the plain read of the tickets.

Creates its own database (``tweetup_floors_bench`` by default) on the
PostgreSQL at 127.0.0.1:5432, fills one closed contest per size with
``INSERT ... SELECT generate_series`` (not the ORM), and then times, in the
same run and each in a fresh process (so that each peak of resident memory
is its own), each step ``--repeat`` times (median time, and the spread):

- the plain streamed SELECT of the contest's tickets (the floor of any read);
- the same SELECT sorted bytewise (``ORDER BY ticket COLLATE "C"``), streamed;
- ``contest_freeze``; ``draw_run`` without caps and with caps (country and
  background); ``draw_audit_record_stream`` (draw.json) read to the end.

Each line prints the time, its ratio to the plain SELECT (and, for the draw,
to the sorted SELECT), and the growth of the process's peak resident memory
(``ru_maxrss``) during the step. Runs on the code of any commit that has
these services, so the same script measures before and after a change::

    .venv/bin/python bench/bench_floors.py --entries 100000 1000000
    .venv/bin/python bench/bench_floors.py --entries 2000000 --steps select_stream draw_caps

The database is dropped at the end unless ``--keep`` is given.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
COUNTRIES = ("CH", "FR", "DE", "IT", "GB", "US", "JP", "BR", "IN", "ES", "PL", "SE")
BACKGROUNDS = ("science", "engineering", "student", "teaching", "journalism", "arts")
CAPS = {"country": 2, "background": 2}
STEPS = ("select_stream", "select_sorted", "freeze", "draw", "draw_caps", "draw_json")
LABELS = {
    "select_stream": "SELECT ticket, streamed (the floor)",
    "select_sorted": 'SELECT ticket ORDER BY ticket COLLATE "C", streamed',
    "freeze": "contest_freeze",
    "draw": "draw_run, no caps",
    "draw_caps": "draw_run, caps on country and background",
    "draw_json": "draw.json streamed to the end",
}
CHUNK = 20_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database", default="tweetup_floors_bench")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each step (median time reported)"
    )
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--slug", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tweetup.settings.test"
    if args.step:
        print(json.dumps(measure(args.step, args.slug, args.repeat)))
        return 0

    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=BASE_DIR,
            check=True,
            env=os.environ,
        )
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        print(f"Code: {commit or BASE_DIR}")
        for entries in args.entries:
            slug = f"bench-{entries}"
            started = time.perf_counter()
            setup(entries, slug)
            print(f"\nInserted {entries:,} entries in {time.perf_counter() - started:.1f} s.")
            results = {}
            for step in args.steps:
                results[step] = run_step(step, args.database, slug, args.repeat)
                report_line(step, results)
                if step == "freeze":
                    # What autovacuum does soon after the freeze (the old freeze
                    # updated every row; the new one writes no entry).
                    with psycopg.connect(f"{SERVER}/{args.database}", autocommit=True) as db:
                        db.execute("VACUUM ANALYZE contests_entry")
    finally:
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    return 0


def run_step(step: str, database: str, slug: str, repeat: int) -> dict:
    command = [
        *(sys.executable, __file__, "--step", step, "--database", database),
        *("--slug", slug, "--repeat", str(repeat)),
    ]
    result = subprocess.run(
        command, cwd=BASE_DIR, check=False, capture_output=True, text=True, env=os.environ
    )
    if result.returncode:
        sys.exit(f"{step} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report_line(step: str, results: dict) -> None:
    timed = results[step]
    ratios = []
    if "select_stream" in results and step != "select_stream":
        ratios.append(f"{timed['seconds'] / results['select_stream']['seconds']:.2f}× plain")
    if "select_sorted" in results and step.startswith("draw"):
        ratios.append(f"{timed['seconds'] / results['select_sorted']['seconds']:.2f}× sorted")
    spread = f"({min(timed['runs']):.2f}–{max(timed['runs']):.2f})"
    print(
        f"  {LABELS[step]:<50} {timed['seconds']:>6.2f} s {spread:>13}"
        f"  RSS +{timed['rss_growth_mb']:>6.1f} MB  {'  '.join(ratios)}  [{timed['result']}]",
        flush=True,
    )


# Setting up the data -------------------------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def setup(entries: int, slug: str) -> None:
    django_setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contests.services.entries import contest_create

    now = timezone.now()
    contest = contest_create(
        slug=slug,
        title=f"{entries:,} entrants",
        description="Benchmark.",
        hashtag="Bench",
        rules="Benchmark.",
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(hours=1),
        winners_count=5,
        alternates_count=5,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = 'contests_entry' AND column_name = 'in_draw'"
        )
        legacy = cursor.fetchone() is not None
    countries = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTRIES) + "]"
    backgrounds = "ARRAY[" + ",".join(f"'{b}'" for b in BACKGROUNDS) + "]"
    # A bijection of n onto 32 bits (odd multiplier) gives unique, scattered
    # tickets; one entry in 50 is invalidated, one in 40 confirmed too late.
    sql = f"""
        INSERT INTO contests_entry (
            contest_id, name, email, email_normalized, twitter_handle, handle_normalized,
            country, languages, background, background_other, motivation, language,
            rules_accepted, publish_handle, ticket, created_at, confirmed_at,
            invalidated_at, invalid_reason{", in_draw" if legacy else ""}
        )
        SELECT %(contest)s, 'Entrant ' || n, 'e' || n || '@example.org',
            'e' || n || '@example.org', 'h' || n, 'h' || n,
            ({countries})[1 + mod(n, {len(COUNTRIES)})], '["en"]'::jsonb,
            ({backgrounds})[1 + mod(n / 7, {len(BACKGROUNDS)})], '', 'Benchmark entry.', 'en',
            true, mod(n, 2) = 0,
            substr(h, 1, 4) || '-' || substr(h, 5, 4),
            %(created)s,
            CASE WHEN mod(n, 40) = 0 THEN %(late)s ELSE %(confirmed)s END,
            CASE WHEN mod(n, 50) = 0 THEN %(confirmed)s END,
            CASE WHEN mod(n, 50) = 0 THEN 'Benchmark.' ELSE '' END
            {", false" if legacy else ""}
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
                "late": now - timedelta(minutes=30),
            },
        )
        cursor.execute("VACUUM ANALYZE contests_entry")


# One measurement, in its own process -----------------------------------------


def measure(step: str, slug: str, repeat: int) -> dict:
    django_setup()
    from django.db import connection, transaction

    from contests.models import Contest, Entry
    from contests.services import audit_record, draws

    contest = Contest.objects.get(slug=slug)
    connection.ensure_connection()

    class Rollback(Exception):
        pass

    def select_stream():
        tickets = Entry.objects.filter(contest=contest).values_list("ticket", flat=True)
        return sum(1 for _ in tickets.iterator(chunk_size=CHUNK))

    def select_sorted():
        # A named (server-side) cursor, as Django's iterator() uses.
        with transaction.atomic(), connection.connection.cursor(name="bench_sorted") as named:
            named.itersize = CHUNK
            named.execute(
                "SELECT ticket FROM contests_entry WHERE contest_id = %s"
                ' ORDER BY ticket COLLATE "C"',
                [contest.pk],
            )
            return sum(1 for _ in named)

    def freeze():
        return draws.contest_freeze(contest=contest, actor=None).tickets_count

    def draw():
        # Rolled back, so that the draw with caps can follow.
        try:
            with transaction.atomic():
                result = len(
                    draws.draw_run(contest=contest, actor=None, caps={}, notify=False).winners
                )
                raise Rollback
        except Rollback:
            return result

    def draw_caps():
        return len(draws.draw_run(contest=contest, actor=None, caps=CAPS, notify=False).winners)

    def draw_json():
        return sum(len(piece) for piece in audit_record.draw_audit_record_stream(draw=contest.draw))

    work = {
        "select_stream": select_stream,
        "select_sorted": select_sorted,
        "freeze": freeze,
        "draw": draw,
        "draw_caps": draw_caps,
        "draw_json": draw_json,
    }[step]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = []
    for run in range(repeat):
        started = time.perf_counter()
        if step in ("freeze", "draw_caps") and run < repeat - 1:
            # Every run but the last is rolled back, so that the next can run.
            try:
                with transaction.atomic():
                    result = work()
                    raise Rollback
            except Rollback:
                pass
        else:
            result = work()
        runs.append(time.perf_counter() - started)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "step": step,
        "result": result,
        "seconds": statistics.median(runs),
        "runs": runs,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
    }


if __name__ == "__main__":
    sys.exit(main())
