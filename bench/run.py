"""`make bench`: the site against a baseline Django project, and every benchmark's ratio.

The script starts, on this machine, two gunicorns as the README runs the site
(gunicorn.conf.py, sync workers, PostgreSQL at 127.0.0.1:5432, Redis at
127.0.0.1:6379), each on a free port:

- the site, ``tweetup.wsgi`` with ``tweetup.settings.production`` (STATIC_ROOT
  moved to a temporary folder for collectstatic, plain HTTP on loopback, the
  per-address entry limit lifted), on its own database ``tweetup_bench_site``,
  Redis databases for its cache and its Celery broker (no worker: each
  confirmation mail is published and waits there);
- the baseline, ``baseline.wsgi`` (``bench/baseline``): the same middleware,
  templates engine, cache options and PostgreSQL, on its own database
  ``tweetup_bench_baseline`` and Redis database for its cache.

Then it measures, alternating site and baseline, each figure --repetitions
times (median and spread):

(a) people entered per second: each person a visitor of their own who GETs
    the contest page and POSTs what a browser posts from its ``#entry-form``
    (bench/harness.py, as bench/bench_entries.py), at 16 and 64 concurrent
    clients; against the baseline's same page from a fixed context and a POST
    making one INSERT into a one-table model. Target: at least 0.5x.
(b) the contest page and the home page, GETs by new visitors, against the
    same templates rendered from a fixed context without the database.
    Target: at least 0.5x.

Every figure prints its ratio and whether its target is met; where one is
missed, the top lines of a cProfile of the site's request in-process, its
SQL queries, and the CPU per request of the site's workers and PostgreSQL
against the baseline's, which say what limits it. Then it runs the other
benchmarks present in bench/ (bench_floors.py, bench_pages.py,
bench_mail.py): up to 100,000 entries by default, their own full sizes
(1,000,000) with --size full; BENCH_SIZE in their environment says which.

Usage (from the project folder; ``make bench`` and ``make bench SIZE=full``)::

    .venv/bin/python bench/run.py                 # the default sizes
    .venv/bin/python bench/run.py --size full     # the other benchmarks at 1,000,000
    .venv/bin/python bench/run.py --smoke         # tiny sizes, one repetition

The load generator runs on the same machine as the servers and the database.
"""

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import queue
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
from harness import (
    PAGE_LANGUAGES,
    REDIS,
    SERVER,
    CpuSampler,
    Visitor,
    free_port,
    git,
    percentiles,
    refuse_forbidden,
    run_load,
    start_gunicorn,
    stop,
    warm_page,
)

BASE_DIR = harness.BASE_DIR
BENCH_DIR = BASE_DIR / "bench"
sys.path.insert(0, str(BENCH_DIR))
from baseline import contests  # noqa: E402

SETTINGS_MODULE = "bench_run_settings"
# The static files collected for both servers, kept between runs (var/ is ignored by git).
STATIC_ROOT = BASE_DIR / "var" / "bench" / "static"
CONTEST_PATH = f"/contests/{contests.BENCH_SLUG}/"
PAGES = {"contest page": CONTEST_PATH, "home page": "/"}
TARGET = 0.5
# The other benchmarks, with their arguments at each size: their own defaults
# are the full sizes (1,000,000 entries); the default run stops at 100,000.
OTHERS = {
    "bench_floors.py": {"small": ["--entries", "100000"], "full": []},
    "bench_pages.py": {"small": ["--sizes", "1000", "100000"], "full": []},
    "bench_mail.py": {"small": [], "full": []},
}
SIZES = {
    # people per run of (a), GETs per run of (b), repetitions
    "smoke": (12, 20, 1),
    "small": (300, 300, 3),
    "full": (1000, 1000, 3),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--people", type=int, help="people entered per run of (a)")
    parser.add_argument("--requests", type=int, help="GETs per run of (b)")
    parser.add_argument("--repetitions", type=int)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--page-concurrency", type=int, default=8, help="clients in (b)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (gunicorn.conf.py's)")
    parser.add_argument("--database", default="tweetup_bench")
    parser.add_argument("--redis", default=REDIS, help="the Redis server, redis://host:port")
    parser.add_argument("--redis-dbs", type=int, nargs=3, default=[11, 12, 13], metavar="N")
    parser.add_argument("--no-others", action="store_true", help="skip the other benchmarks")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--step", choices=("prepare", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = "smoke" if args.smoke else args.size
    people, requests, repetitions = SIZES[size]
    args.people = args.people or people
    args.requests = args.requests or requests
    args.repetitions = args.repetitions or repetitions
    if args.smoke:
        # Two workers a server: each loads the whole site once (seconds of CPU).
        args.workers = args.workers or 2

    if args.step == "prepare":
        print(json.dumps(prepare(count_queries=not args.smoke)))
        return 0
    if args.step == "profile":
        print(profile(args.profile))
        return 0

    import psycopg
    import redis

    # Each line as it is printed, also into a file or a pipe: the run is long.
    sys.stdout.reconfigure(line_buffering=True)
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    site_db, baseline_db = f"{args.database}_site", f"{args.database}_baseline"
    cache_db, baseline_cache_db, broker_db = args.redis_dbs
    site_env = dict(
        os.environ,
        **harness.site_environment(
            database=site_db,
            cache_db=cache_db,
            broker=f"{args.redis}/{broker_db}",
            work=work,
            settings=SETTINGS_MODULE,
            redis=args.redis,
        ),
    )
    baseline_env = dict(
        site_env,
        DJANGO_SETTINGS_MODULE="baseline.settings",
        PYTHONPATH=os.pathsep.join([str(BENCH_DIR), str(BASE_DIR)]),
        DATABASE_URL=f"{SERVER}/{baseline_db}",
        CACHE_URL=f"{args.redis}/{baseline_cache_db}",
        BASELINE_STATIC_ROOT=str(STATIC_ROOT),
    )
    harness.write_site_settings(work, SETTINGS_MODULE, STATIC_ROOT)
    redises = [redis.Redis.from_url(f"{args.redis}/{n}") for n in args.redis_dbs]
    servers: dict[str, object] = {}
    started = time.perf_counter()
    try:
        for client in redises:
            client.flushdb()
        # Each database is a copy of a migrated template, kept between runs and
        # migrated again only when a migration changed (a fresh migrate of the
        # site takes several seconds of a make bench --smoke).
        template_database(f"{args.database}_site_template", site_env, ["migrate", "-v0"])
        template_database(
            f"{args.database}_baseline_template",
            baseline_env,
            ["migrate", "baseline", "-v0", "--skip-checks"],
        )
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            for name in (site_db, baseline_db):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{name}_template"')
        collect_static(site_env)
        prepared = subprocess.run(
            [sys.executable, __file__, "--step", "prepare", *(["--smoke"] if args.smoke else [])],
            cwd=BASE_DIR,
            env=site_env,
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode:
            sys.exit(f"setting up the site's contests failed:\n{prepared.stderr[-3000:]}")
        setup = json.loads(prepared.stdout.strip().splitlines()[-1])
        print_header(args, size, setup)

        for name, env, application in (
            ("site", site_env, "tweetup.wsgi"),
            ("baseline", baseline_env, "baseline.wsgi"),
        ):
            logs = work / name
            logs.mkdir()
            port = free_port()
            process = start_gunicorn(
                application, port=port, workers=args.workers, env=env, logs=logs
            )
            servers[name] = {
                "process": process,
                "port": port,
                "database": site_db if name == "site" else baseline_db,
            }
        for name, server in servers.items():
            warm_up(name, server, people=4 if args.smoke else 24)
        print(f"Set up and warmed up in {time.perf_counter() - started:.0f} s", flush=True)

        figures = []
        for concurrency in args.concurrency:
            figures.append(measure_entries(servers, args, concurrency))
        for label, path in PAGES.items():
            figures.append(measure_page(servers, args, label, path))
        print()
        report(figures, site_env, profiles=not args.smoke)
        check_logs(work)
        others = run_others(args, size)
        print(f"make bench took {time.perf_counter() - started:.0f} s in all")
        return 0 if others else 1
    finally:
        for server in servers.values():
            server["process"].terminate()  # both stop at once
        for server in servers.values():
            stop(server["process"])
        for client in redises:
            client.flushdb()
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                for name in (site_db, baseline_db):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


def template_database(name: str, env: dict, migrate: list[str]) -> None:
    """A migrated database to copy, migrated again only when a migration changed.

    The database's comment holds a digest of every migration file it was
    migrated with.
    """
    import psycopg

    files = sorted(BASE_DIR.glob("*/migrations/*.py")) + sorted(
        BENCH_DIR.glob("baseline/migrations/*.py")
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(BASE_DIR)).encode() + b"\0" + path.read_bytes())
    stamp = digest.hexdigest()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
        if found and found[0] == stamp:
            return
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    manage(dict(env, DATABASE_URL=f"{SERVER}/{name}"), migrate)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{stamp}'")


def collect_static(env: dict) -> None:
    """collectstatic into var/bench/static, again only when a static file changed."""
    root = STATIC_ROOT
    files = sorted(path for path in (BASE_DIR / "static").rglob("*") if path.is_file())
    digest = hashlib.sha256()
    for path in files:
        info = path.stat()
        digest.update(f"{path.relative_to(BASE_DIR)} {info.st_size} {info.st_mtime_ns}\n".encode())
    stamp = root / ".bench-stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    manage(env, ["collectstatic", "--noinput", "-v0"])
    stamp.write_text(digest.hexdigest())


def manage(env: dict, command: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "django", *command], cwd=BASE_DIR, check=True, env=env)


def warm_up(name: str, server: dict, *, people: int) -> None:
    """Let each worker load its templates, translations and form, and fill the page caches."""
    port = server["port"]
    for path in PAGES.values():
        warm_page(port, path)
    load = run_load(port, contests.BENCH_SLUG, f"{name[0]}w", people, 0.0, 4)
    refuse_forbidden(load, f"the {name}'s warm-up")
    if load["outcomes"].get("entered") != people:
        sys.exit(f"the {name}'s warm-up entries failed: {dict(load['outcomes'])}")


# Measures ------------------------------------------------------------------------


def measure_entries(servers: dict, args, concurrency: int) -> dict:
    """(a): people entered per second, site and baseline in turn."""
    figure = new_figure(f"(a) people entered per second, {concurrency} clients", "people/s")
    figure["key"] = ("entries", concurrency)
    for repetition in range(1, args.repetitions + 1):
        for name, server in servers.items():
            load_before = os.getloadavg()[0]
            tag = f"{name[0]}{concurrency}r{repetition}"
            with CpuSampler(server["process"].pid, server["database"]) as cpu:
                load = run_load(
                    server["port"], contests.BENCH_SLUG, tag, args.people, 0.0, concurrency
                )
            refuse_forbidden(load, f"{figure['title']} ({name})")
            entered = load["outcomes"].get("entered", 0)
            if entered != args.people:
                sys.exit(f"{name}: {entered} of {args.people} entered: {dict(load['outcomes'])}")
            record(figure, name, args.people / load["seconds"], cpu.totals(), args.people)
            progress(figure, name, repetition)
            figure["latency"][name].append(percentiles(load["post"])["p50"])
            figure["load"].append((load_before, os.getloadavg()[0]))
    return figure


def measure_page(servers: dict, args, label: str, path: str) -> dict:
    """(b): GETs of a page per second by new visitors, site and baseline in turn."""
    figure = new_figure(f"(b) {label} {path}, {args.page_concurrency} clients", "GETs/s")
    figure["key"] = ("page", path)
    for repetition in range(1, args.repetitions + 1):
        for name, server in servers.items():
            load_before = os.getloadavg()[0]
            with CpuSampler(server["process"].pid, server["database"]) as cpu:
                got = run_gets(server["port"], path, args.requests, args.page_concurrency)
            if got["failed"]:
                sys.exit(f"{name}: GET {path} answered {got['failed']}")
            record(figure, name, args.requests / got["seconds"], cpu.totals(), args.requests)
            progress(figure, name, repetition)
            figure["latency"][name].append(percentiles(got["latency"])["p50"])
            figure["sizes"][name] = got["size"]
            figure["load"].append((load_before, os.getloadavg()[0]))
    return figure


def run_gets(port: int, path: str, count: int, concurrency: int) -> dict:
    """``count`` GETs of ``path``, each by a new visitor (English or French), from threads."""
    jobs = queue.SimpleQueue()
    rng = random.Random(path)
    for _ in range(count):
        jobs.put(rng.choice(list(PAGE_LANGUAGES)))
    latency, failed, sizes = [], [], []
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                language = jobs.get_nowait()
            except queue.Empty:
                return
            status, _headers, content, seconds = Visitor(port, language).send("GET", path)
            with lock:
                latency.append(seconds)
                sizes.append(len(content))
                if status != 200:
                    failed.append(status)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": time.perf_counter() - started,
        "latency": latency,
        "failed": failed,
        "size": statistics.median(sizes),
    }


def progress(figure: dict, name: str, repetition: int) -> None:
    print(
        f"  {figure['title']}, repetition {repetition}, {name}:"
        f" {figure['rates'][name][-1]:.1f} {figure['unit']}"
        f" (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def new_figure(title: str, unit: str) -> dict:
    return {
        "title": title,
        "unit": unit,
        "rates": {"site": [], "baseline": []},
        "latency": {"site": [], "baseline": []},
        "cpu": {"site": [], "baseline": []},
        "sizes": {},
        "load": [],
    }


def record(figure: dict, name: str, rate: float, cpu: dict, count: int) -> None:
    figure["rates"][name].append(rate)
    figure["cpu"][name].append(
        {"web": cpu["gunicorn"] * 1000 / count, "postgres": cpu["postgres"] * 1000 / count}
    )


# Reports -------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{min(values):.1f}–{max(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def ratio_of(figure: dict) -> float:
    return statistics.median(figure["rates"]["site"]) / statistics.median(
        figure["rates"]["baseline"]
    )


def report(figures: list[dict], site_env: dict, *, profiles: bool) -> None:
    print("| figure | site (median, spread) | baseline (median, spread) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for figure in figures:
        rates = figure["rates"]
        ratio = ratio_of(figure)
        print(
            f"| {figure['title']} | {statistics.median(rates['site']):.1f}"
            f" ({spread(rates['site'])}) {figure['unit']}"
            f" | {statistics.median(rates['baseline']):.1f} ({spread(rates['baseline'])})"
            f" | **{ratio:.2f}×** | ≥ {TARGET}×: {'met' if ratio >= TARGET else 'MISSED'} |"
        )
    print()
    for figure in figures:
        ratio = ratio_of(figure)
        print(f"{figure['title']}: ratio {ratio:.2f}× (target ≥ {TARGET}×)")
        for name in ("site", "baseline"):
            cpu = figure["cpu"][name]
            web = statistics.median(c["web"] for c in cpu)
            postgres = statistics.median(c["postgres"] for c in cpu)
            latency = statistics.median(figure["latency"][name]) * 1000
            size = figure["sizes"].get(name)
            print(
                f"  {name:<8} rates {', '.join(f'{r:.1f}' for r in figure['rates'][name])};"
                f" CPU ms per {'person' if figure['key'][0] == 'entries' else 'GET'}:"
                f" web {web:.1f}, PostgreSQL {postgres:.1f}; latency p50 {latency:.0f} ms"
                + (f"; page {size / 1024:.1f} KiB" if size else "")
            )
        loads = ", ".join(f"{a:.1f}→{b:.1f}" for a, b in figure["load"])
        print(f"  load average before→after each run: {loads}")
        if ratio < TARGET:
            print(f"  MISSED: {limits(figure)}")
            what = "entry" if figure["key"][0] == "entries" else figure["key"][1]
            if profiles:
                print(indent(profile_site(site_env, what), "    "))
            else:
                print("    (no profile with --smoke)")
        print()


def limits(figure: dict) -> str:
    """What the CPU per request says limits the site against the baseline."""
    site = figure["cpu"]["site"]
    base = figure["cpu"]["baseline"]
    web = statistics.median(c["web"] for c in site)
    web_base = statistics.median(c["web"] for c in base)
    postgres = statistics.median(c["postgres"] for c in site)
    postgres_base = statistics.median(c["postgres"] for c in base)
    bound = "the web workers' CPU" if web >= postgres else "PostgreSQL's CPU"
    return (
        f"{bound} limits it: the site's workers spend {web:.1f} ms of CPU per request"
        f" ({web / web_base:.1f}× the baseline's {web_base:.1f} ms), PostgreSQL"
        f" {postgres:.1f} ms (baseline {postgres_base:.1f} ms); with 2 cores the ceiling is"
        f" about {2000 / (web + postgres):.0f} per second. The site's request in-process:"
    )


def indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def profile_site(site_env: dict, what: str) -> str:
    answer = subprocess.run(
        [sys.executable, __file__, "--step", "profile", "--profile", what],
        cwd=BASE_DIR,
        env=site_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode:
        return f"(the profile failed: {answer.stderr[-2000:]})"
    return answer.stdout


def check_logs(work: Path) -> None:
    for name in ("site", "baseline"):
        logged = "".join(path.read_text() for path in (work / name).glob("*.log") if path.exists())
        tracebacks = logged.count("Traceback (most recent call last)")
        timeouts = logged.count("WORKER TIMEOUT")
        print(f"{name} server logs: {tracebacks} tracebacks, {timeouts} worker timeouts")
        if tracebacks or timeouts:
            print(logged[-3000:])
    print()


def run_others(args, size: str) -> bool:
    """The other benchmarks, each with its arguments for the size, and BENCH_SIZE set."""
    ok = True
    for script, arguments in OTHERS.items():
        path = BENCH_DIR / script
        if not path.exists():
            print(f"bench/{script}: not in this checkout, skipped")
            continue
        if args.smoke or args.no_others:
            print(f"bench/{script}: skipped ({'--smoke' if args.smoke else '--no-others'})")
            continue
        command = [sys.executable, f"bench/{script}", *arguments[size]]
        print(f"{' '.join(command[1:])} (BENCH_SIZE={size}):", flush=True)
        done = subprocess.run(
            command,
            cwd=BASE_DIR,
            env=dict(os.environ, BENCH_SIZE=size),
            check=False,
        )
        if done.returncode:
            print(f"bench/{script} FAILED (exit status {done.returncode})")
            ok = False
        print(flush=True)
    return ok


def print_header(args, size: str, setup: dict) -> None:
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    workers = args.workers or f"{min(2 * os.cpu_count() + 1, 12)} (gunicorn.conf.py's default)"
    print(f"make bench ({size}) at {commit}{' (with uncommitted changes)' if dirty else ''}")
    print(
        f"site: tweetup.wsgi, tweetup.settings.production; baseline: baseline.wsgi"
        f" (bench/baseline); both gunicorn.conf.py, {workers} sync workers,"
        f" {setup['postgres'].split(' on ')[0]}, Redis cache"
    )
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run;"
        f" the load generator runs on the same machine. (a) {args.people} people per run"
        f" at {', '.join(map(str, args.concurrency))} clients; (b) {args.requests} GETs per"
        f" run at {args.page_concurrency} clients; {args.repetitions} repetition(s),"
        " site and baseline alternating"
    )
    if setup["queries"]:
        print(
            f"site queries in-process: contest page {setup['queries']['contest']}, home page"
            f" {setup['queries']['home']}, an entry (GET + POST) {setup['queries']['entry']}"
        )
    print()


# In a child process, with the site's settings ---------------------------------------


def prepare(*, count_queries: bool) -> dict:
    """The benchmark's contests in the site's database, through its services; queries counted."""
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from contests.services.entries import contest_create

    now = timezone.now()
    for values in contests.CONTESTS:
        contest_create(
            slug=values["slug"],
            title=values["title"],
            description=contests.DESCRIPTION,
            hashtag=contests.HASHTAG,
            rules=contests.RULES,
            opens_at=now + timedelta(hours=values["opens"]),
            closes_at=now + timedelta(hours=values["closes"]),
            winners_count=contests.WINNERS,
            alternates_count=contests.ALTERNATES,
        )
    queries = {}
    if count_queries:
        queries = {what: len(run_in_process(what, count=1)[1]) for what in ("contest", "home")}
        queries["entry"] = len(run_in_process("entry", count=1)[1])
    postgres = connection.cursor().connection.execute("SELECT version()").fetchone()[0]
    return {"queries": queries, "postgres": postgres}


def run_in_process(what: str, *, count: int, profiler=None):
    """``count`` requests of ``what`` through Django's test client: GETs, or whole entries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    if not hasattr(run_in_process, "set_up"):
        setup_test_environment()
        run_in_process.set_up = True
    path = {"contest": CONTEST_PATH, "home": "/"}.get(what, what)
    # One client, its cookies cleared for each visitor: a new client would load
    # the middleware again (WhiteNoise reads every static file's headers).
    client = Client(SERVER_NAME="127.0.0.1")
    client.get(CONTEST_PATH)  # the form and the fragment, as warmed in gunicorn
    client.get("/")
    forms = [harness.person(f"p{secrets.token_hex(4)}", number) for number in range(count)]
    with CaptureQueriesContext(connection) as queries:
        if profiler:
            profiler.enable()
        for form in forms:
            client.cookies.clear()
            if what == "entry":
                assert client.get(CONTEST_PATH).status_code == 200
                response = client.post(CONTEST_PATH, form)
                assert response.status_code == 302, response.status_code
            else:
                assert client.get(path).status_code == 200
        if profiler:
            profiler.disable()
    return count, queries.captured_queries


def profile(what: str) -> str:
    """The top lines of a cProfile of ``what`` in-process, and its SQL queries."""
    import django

    django.setup()
    run_in_process(what, count=3)  # what a worker loads once
    profiler = cProfile.Profile()
    count, queries = run_in_process(what, count=20, profiler=profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    # The site's own functions that hold the time, by time spent under them
    # (not the middleware that wraps every request).
    site = pstats.Stats(profiler, stream=out)
    site.sort_stats("cumulative").print_stats(
        rf"^{re.escape(str(BASE_DIR))}/(?!\.venv|bench|tweetup/(health|metrics|middleware)\.py)", 10
    )
    lines = [
        f"cProfile of {count} × {'GET + POST of an entry' if what == 'entry' else 'GET ' + what}"
        " (Django's test client): top 12 by own time, then the site's own functions by"
        f" time under them; {len(queries) / count:.0f} SQL queries each:"
    ]
    for line in out.getvalue().splitlines():
        if not line.strip() or line.lstrip().startswith(("Ordered by", "List reduced")):
            continue
        if "function calls" in line and any("function calls" in seen for seen in lines):
            continue  # the second table's header
        lines.append(line)
    if queries:
        lines.append("the queries of one:")
        per = len(queries) // count
        lines.extend("  " + " ".join(q["sql"].split())[:110] for q in queries[:per])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
