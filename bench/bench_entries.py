"""Benchmark a burst of contest entries through gunicorn, as production serves them.

The public enters in a burst minutes after a tweet. The script sets up, on this
machine:

- its own PostgreSQL database (``tweetup_bench_entries`` on 127.0.0.1:5432,
  user postgres), created and migrated here and dropped at the end unless
  --keep;
- the machine's Redis as the shared cache that holds the per-address entry
  limit (database 9; only that one is flushed, before and after);
- a Celery broker: the machine's Redis (database 10, flushed before and
  after) with no worker listening, so that each entry's mail is published and
  waits there (``--broker redis``), or a closed port (``--broker down``): the
  outbox keeps the mail for the sweep and each publish fails;
- gunicorn serving ``tweetup.wsgi`` with ``tweetup.settings.production``
  (sync workers; STATIC_ROOT moved to a temporary folder for collectstatic,
  SECURE_SSL_REDIRECT=0 for plain HTTP on loopback, and ENTRY_RATE_LIMIT
  raised, since the whole load comes from one address).

Then, for each round, a fresh open contest, its page already fetched several
times in English and in French (so the entry form is cached, as it is for
nearly every real visitor), and N people entering it from --concurrency client
threads. Each person is a visitor of their own (their own cookies, sent back as
Chromium does on 127.0.0.1) who GETs the contest page and POSTs what a browser
posts from it: the page's ``#entry-form`` is parsed (tests/html_forms.py), and
every named control is sent in document order, hidden fields included, with
what the person typed, chose and ticked, the honeypot left empty and the
submit button's value. A name that appears twice is sent twice and Django
reads the last value, so a stale CSRF token left in the cached form is the one
the server checks, as it is for a browser. Any POST answered 403 stops the run
with an error. A share of the people (--duplicates) submits twice at the same
moment (two threads released together by a barrier; the second copy types the
email in capitals and the handle with an @), to show the database's
constraints keep one entry per person under load.

It prints entries/s, the POST's latency (p50/p95/p99), the answers (every
5xx is an error), the CPU time spent by gunicorn, PostgreSQL and the load
generator, and checks in the database that entries and outbox rows equal the
distinct people. Before the load it counts the SQL queries of one entry
in-process (Django's test client and CaptureQueriesContext).

Usage (from the project folder)::

    .venv/bin/python bench/bench_entries.py --entries 2000 --concurrency 16
    .venv/bin/python bench/bench_entries.py --entries 10000 --concurrency 64 --rounds 2
    .venv/bin/python bench/bench_entries.py --broker down --entries 500

The load generator runs on the same machine as the server and the database.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import harness  # noqa: E402
from harness import (  # noqa: E402
    CLOSED_PORT_BROKER,
    REDIS,
    SERVER,
    WARM_GETS,
    CpuSampler,
    free_port,
    git,
    percentiles,
    person,
    refuse_forbidden,
    run_load,
    start_gunicorn,
    stop,
    warm_page,
)

BASE_DIR = harness.BASE_DIR
SETTINGS_MODULE = "bench_entries_settings"


# The parent: database, server, rounds of load ---------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000, help="distinct people per round")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument(
        "--duplicates", type=float, default=0.05, help="share of people submitting twice at once"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each on a fresh contest")
    parser.add_argument("--broker", choices=("redis", "down"), default="redis")
    parser.add_argument("--cache-db", type=int, default=9, help="Redis database for the cache")
    parser.add_argument("--broker-db", type=int, default=10, help="Redis database for Celery")
    parser.add_argument("--database", default="tweetup_bench_entries")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--step", choices=("prepare",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.concurrency < 2:
        parser.error("--concurrency must be at least 2 (duplicates are sent in pairs)")

    work = Path(os.environ.get("BENCH_ENTRIES_DIR") or tempfile.mkdtemp(prefix="bench-entries-"))
    environment = server_environment(args, work)
    os.environ.update(environment)
    if args.step:
        print(json.dumps(prepare(args.rounds)))
        return 0

    import psycopg
    import redis

    cache = redis.Redis.from_url(f"{REDIS}/{args.cache_db}")
    broker = redis.Redis.from_url(f"{REDIS}/{args.broker_db}")
    harness.write_site_settings(work, SETTINGS_MODULE)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    gunicorn = None
    try:
        cache.flushdb()
        if args.broker == "redis":
            broker.flushdb()
        python = sys.executable
        for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run(
                [python, "manage.py", *command], cwd=BASE_DIR, check=True, env=os.environ
            )
        env = dict(os.environ, BENCH_ENTRIES_DIR=str(work))
        prepared = subprocess.run(
            [python, __file__, "--step", "prepare", *sys.argv[1:]],
            cwd=BASE_DIR,
            check=False,
            capture_output=True,
            text=True,
            env=env,
        )
        if prepared.returncode:
            sys.exit(f"setting up the contests failed:\n{prepared.stdout}{prepared.stderr}")
        setup = json.loads(prepared.stdout.strip().splitlines()[-1])
        print_header(args, db_version=setup["postgres"])
        print_queries(setup["queries"])

        port = free_port()
        log = work / "gunicorn.log"
        # The README's settings file (access log to standard output, here server.log).
        gunicorn = start_gunicorn(
            "tweetup.wsgi", port=port, workers=args.workers, env=os.environ, logs=work
        )
        # Let each worker load its templates, translations and lists first.
        warm_up = run_load(port, "bench-warmup", "warmup", 8 * args.workers, 0.0, args.workers)
        refuse_forbidden(warm_up, "the warm-up")
        if warm_up["outcomes"].get("entered") != 8 * args.workers:
            sys.exit(f"warm-up failed: {dict(warm_up['outcomes'])}; see {log}")

        results = []
        with psycopg.connect(f"{SERVER}/{args.database}", autocommit=True) as db:
            for number in range(1, args.rounds + 1):
                slug = f"bench-round-{number}"
                queued_before = broker.llen("celery") if args.broker == "redis" else 0
                warm_page(port, f"/contests/{slug}/")
                with CpuSampler(gunicorn.pid, args.database) as cpu:
                    load = run_load(
                        port, slug, f"r{number}", args.entries, args.duplicates, args.concurrency
                    )
                load["cpu"] = cpu.totals()
                load["check"] = check_database(db, setup["contests"][slug])
                if args.broker == "redis":
                    load["check"]["queued"] = broker.llen("celery") - queued_before
                load["load_average"] = os.getloadavg()[0]
                report_round(number, args, load)
                refuse_forbidden(load, f"round {number}")
                results.append(load)
        report_summary(args, results, work)
        return 0 if all(round_ok(load) for load in results) else 1
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        cache.flushdb()
        if args.broker == "redis":
            broker.flushdb()
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def server_environment(args, work: Path) -> dict:
    """What a production deployment would set, for loopback and one client address."""
    broker = CLOSED_PORT_BROKER if args.broker == "down" else f"{REDIS}/{args.broker_db}"
    return harness.site_environment(
        database=args.database,
        cache_db=args.cache_db,
        broker=broker,
        work=work,
        settings=SETTINGS_MODULE,
    )


def check_database(db, contest_id: int) -> dict:
    entries, emails, handles = db.execute(
        "SELECT count(*), count(DISTINCT email_normalized), count(DISTINCT handle_normalized)"
        " FROM contests_entry WHERE contest_id = %s",
        [contest_id],
    ).fetchone()
    outbox, keys, pending, confirmations, reminders = db.execute(
        "SELECT count(*), count(DISTINCT key), count(*) FILTER (WHERE status = 'pending'),"
        " count(*) FILTER (WHERE key LIKE 'entry\\_confirm:%%'),"
        " count(*) FILTER (WHERE key LIKE 'entry\\_reminder:%%')"
        " FROM notifications_outboxmessage WHERE contest_id = %s",
        [contest_id],
    ).fetchone()
    (without_mail,) = db.execute(
        "SELECT count(*) FROM contests_entry e WHERE e.contest_id = %s AND NOT EXISTS"
        " (SELECT 1 FROM notifications_outboxmessage o WHERE o.key = 'entry_confirm:' || e.id)",
        [contest_id],
    ).fetchone()
    return {
        "entries": entries,
        "distinct_emails": emails,
        "distinct_handles": handles,
        "outbox": outbox,
        "distinct_keys": keys,
        "pending": pending,
        "confirmations": confirmations,
        "reminders": reminders,
        "entries_without_mail": without_mail,
    }


def round_ok(load: dict) -> bool:
    check = load["check"]
    people = load["people"]
    # Every post is answered alike (the form tells nobody who entered): the
    # database says whether each person entered once, with one confirmation
    # mail, and at most one reminder for a person who sent the form twice.
    return (
        set(load["outcomes"]) <= {"entered"}
        and check["entries"] == check["distinct_emails"] == check["distinct_handles"] == people
        and check["confirmations"] == people
        and check["reminders"] <= load["pairs"]
        and check["outbox"] == check["distinct_keys"] == people + check["reminders"]
        and check["entries_without_mail"] == 0
        and check.get("queued", check["outbox"]) == check["outbox"]
    )


# Reports -----------------------------------------------------------------------


def print_queries(queries: dict) -> None:
    print("SQL queries, counted in-process (test client, CaptureQueriesContext):")
    for label in ("get", "post", "post_again"):
        print(f"  {queries[label + '_label']:<52} {queries[label]:>3}")
    print("  queries of one entry:")
    for sql in queries["post_sql"]:
        print(f"    {sql}")
    print()


def report_round(number: int, args, load: dict) -> None:
    post = percentiles(load["post"])
    get = percentiles(load["get"])
    check = load["check"]
    cpu = load["cpu"]
    people = load["people"]
    print(
        f"Round {number}: {people:,} people ({load['pairs']} of them twice at once),"
        f" {load['posts']:,} POSTs, concurrency {args.concurrency},"
        f" {args.workers} gunicorn workers, broker {args.broker}"
    )
    print(
        f"  {load['seconds']:.1f} s: {people / load['seconds']:.1f} entries/s,"
        f" {load['posts'] / load['seconds']:.1f} POSTs/s"
    )
    print(
        "  POST latency ms: "
        + ", ".join(f"{key} {value * 1000:.0f}" for key, value in post.items())
    )
    print(
        "  GET  latency ms: " + ", ".join(f"{key} {value * 1000:.0f}" for key, value in get.items())
    )
    print(f"  answers: {dict(sorted(load['outcomes'].items()))}")
    print(
        f"  one entry per person: {check['entries']:,}/{people:,};"
        f" reminders to the {load['pairs']:,} who sent the form twice: {check['reminders']:,}"
    )
    print(
        f"  database: {check['entries']:,} entries ({check['distinct_emails']:,} emails,"
        f" {check['distinct_handles']:,} handles), {check['outbox']:,} outbox rows"
        f" ({check['distinct_keys']:,} keys, {check['pending']:,} pending),"
        f" {check['entries_without_mail']} entries without their mail"
        + (f", {check['queued']:,} tasks waiting in the broker" if "queued" in check else "")
    )
    print(
        f"  CPU ms per entry: gunicorn {cpu['gunicorn'] * 1000 / people:.1f},"
        f" PostgreSQL {cpu['postgres'] * 1000 / people:.1f},"
        f" load generator {cpu['client'] * 1000 / people:.1f};"
        f" load average {load['load_average']:.1f}"
    )
    print(f"  {'OK' if round_ok(load) else 'FAILED'}")
    print()


def print_header(args, *, db_version: str) -> None:
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    broker = os.environ["CELERY_BROKER_URL"]
    options = os.environ.get("CELERY_BROKER_TRANSPORT_OPTIONS", "{}")
    print(f"TweetUp at {commit}{' (with uncommitted changes)' if dirty else ''}")
    print(
        f"gunicorn tweetup.wsgi, {args.workers} sync workers, settings tweetup.settings.production"
        f" (STATIC_ROOT moved); {db_version.split(' on ')[0]}, database {args.database};"
        f" cache {os.environ['CACHE_URL']}; Celery broker {broker}"
        f" ({'nothing listens' if args.broker == 'down' else 'no worker'},"
        f" transport options {options}); ENTRY_RATE_LIMIT {os.environ['ENTRY_RATE_LIMIT']}"
    )
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run;"
        f" the load generator ({args.concurrency} threads) runs on the same machine"
    )
    print(
        "Each person is a visitor of their own (own cookies, pages in English or French) who"
        " GETs the contest page and POSTs every named control of its #entry-form as a browser"
        f" does (a repeated name sent twice, Django reading the last); each round's page is"
        f" fetched {WARM_GETS} times per language first, so its entry form is cached"
    )
    print()


def report_summary(args, results: list[dict], work: Path) -> None:
    print(
        "| entries | concurrency | workers | broker | entries/s | POST p50 / p95 / p99 ms"
        " | 5xx | entries = outbox = people |"
    )
    for load in results:
        post = percentiles(load["post"])
        server_errors = sum(
            n for outcome, n in load["outcomes"].items() if outcome.startswith("server error")
        )
        print(
            f"| {load['people']:,} | {args.concurrency} | {args.workers} | {args.broker}"
            f" | {load['people'] / load['seconds']:.0f}"
            f" | {post['p50'] * 1000:.0f} / {post['p95'] * 1000:.0f} / {post['p99'] * 1000:.0f}"
            f" | {server_errors} | {'yes' if round_ok(load) else 'NO'} |"
        )
    logged = (work / "server.log").read_text() + (work / "gunicorn.log").read_text()
    tracebacks = logged.count("Traceback (most recent call last)")
    timeouts = logged.count("WORKER TIMEOUT")
    print(f"\nserver logs: {tracebacks} tracebacks, {timeouts} worker timeouts")
    if tracebacks or timeouts:
        print(logged[-4000:])


# Setting up the contests and counting queries, in a child process ---------------


def prepare(rounds: int) -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from contests.services.entries import contest_create

    now = timezone.now()
    contests = {}
    for slug in ["bench-queries", "bench-warmup"] + [
        f"bench-round-{n}" for n in range(1, rounds + 1)
    ]:
        contests[slug] = contest_create(
            slug=slug,
            title="The burst after the tweet",
            description="Benchmark.",
            hashtag="Bench",
            rules="Benchmark.",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=7),
            winners_count=5,
            alternates_count=5,
        ).pk

    setup_test_environment()
    client = Client()
    path = "/contests/bench-queries/"
    form = person("q", 1)
    client.get(path)
    counted = {}
    with CaptureQueriesContext(connection) as get:
        assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as post:
        response = client.post(path, form)
        assert response.status_code == 302, response.status_code
    with CaptureQueriesContext(connection) as again:
        response = client.post(path, form)
        assert response.status_code == 302, response.status_code
    counted.update(
        get=len(get),
        get_label="GET the contest page",
        post=len(post),
        post_label="POST an entry (302 to the thanks page)",
        post_again=len(again),
        post_again_label="POST the same person again (302 alike, and a reminder mail)",
        post_sql=[" ".join(q["sql"].split())[:110] for q in post.captured_queries],
    )
    postgres = connection.cursor().connection.execute("SELECT version()").fetchone()[0]
    return {"contests": contests, "queries": counted, "postgres": postgres}


if __name__ == "__main__":
    sys.exit(main())
