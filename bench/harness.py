"""What the benchmarks share: the site's servers, its visitors, and their measures.

``bench/bench_entries.py`` and ``bench/run.py`` (``make bench``) start gunicorn
the way the README runs it and drive it with the same visitors: each person is
a browser of their own (their own cookies, pages in English or French) who GETs
the contest page and POSTs every named control of its ``#entry-form`` as a
browser does (``tests/html_forms.py``). Standard library only, except the
database and Redis clients the CPU sampler and the callers use.
"""

import http.client
import http.cookies
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Visitors post the entry form as a browser does, through the tests' form parser.
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
from tests.html_forms import BrowserForm  # noqa: E402

SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
CLOSED_PORT_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
PAGE_LANGUAGES = {"en": "en-GB,en;q=0.8", "fr": "fr-CH,fr;q=0.9,en;q=0.5"}
WARM_GETS = 5  # GETs of a round's page per language before the round is timed
COUNTRIES = ("CH", "FR", "DE", "IT", "GB", "US", "JP", "BR", "IN", "ES", "PL", "SE")
BACKGROUNDS = ("science", "engineering", "student", "teaching", "journalism", "arts")
LANGUAGES = (("en",), ("fr", "en"), ("de", "en", "it"), ("es",), ("ja", "en"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# Servers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("gunicorn stopped before answering")
        try:
            if request(port, "GET", "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("gunicorn did not answer within 60 s")


def site_environment(
    *, database: str, cache_db: int, broker: str, work: Path, settings: str, redis: str = REDIS
) -> dict:
    """What a production deployment would set, for loopback and one client address.

    ``settings`` is a module in ``work`` that takes tweetup.settings.production
    and moves STATIC_ROOT there (``write_site_settings``).
    """
    import secrets

    return {
        "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": os.pathsep.join([str(work), str(BASE_DIR)]),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{SERVER}/{database}",
        "CACHE_URL": f"{redis}/{cache_db}",
        "CELERY_BROKER_URL": broker,
        # Nothing sends mail during the benchmark: no Celery worker runs.
        "EMAIL_HOST": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        # Plain HTTP on loopback, no proxy in front.
        "SECURE_SSL_REDIRECT": "0",
        "TRUSTED_PROXY_COUNT": "0",
        # The whole load comes from 127.0.0.1: lift the per-address limit.
        "ENTRY_RATE_LIMIT": "1000000/h",
        "LOG_LEVEL": "ERROR",
    }


def write_site_settings(work: Path, module: str, static_root: Path | None = None) -> None:
    """Production's settings, with the files collectstatic gathers in ``work`` (or static_root)."""
    (work / f"{module}.py").write_text(
        "from tweetup.settings.production import *  # noqa: F403\n\n"
        f"STATIC_ROOT = {str(static_root or work / 'static')!r}\n"
    )


def start_gunicorn(
    application: str, *, port: int, workers: int | None, env: dict, logs: Path
) -> subprocess.Popen:
    """gunicorn serving ``application`` with the README's gunicorn.conf.py, sync workers.

    The access lines go to ``logs``/server.log, gunicorn's own to gunicorn.log;
    the options override the settings file's bind, and its workers when given.
    """
    server_log = (logs / "server.log").open("a")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            application,
            "--config=gunicorn.conf.py",
            *([f"--workers={workers}"] if workers else []),
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            f"--error-logfile={logs / 'gunicorn.log'}",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    server_log.close()
    try:
        wait_for_server(port, process)
    except BaseException:
        # Never leave a server behind that the caller does not know of.
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_cpu(pid: int) -> tuple[int, float] | None:
    """A process's parent and CPU seconds so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuSampler(threading.Thread):
    """CPU time spent by the gunicorn workers, this database's backends and this process.

    Samples twice a second, since backends come and go (CONN_MAX_AGE): a
    process's share is its last sample minus its first (or its whole time
    when it started during the run). The workers are the children of
    ``master``, counted as ``children`` (a Celery worker's pool too).
    """

    def __init__(self, master: int, database: str, *, children: str = "gunicorn"):
        super().__init__(daemon=True)
        self.master = master
        self.database = database
        self.children = children
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.done = threading.Event()

    def __enter__(self):
        import psycopg

        self.db = psycopg.connect(f"{SERVER}/{self.database}", autocommit=True)
        self.client = sum(os.times()[:2])
        self.sample(first=True)
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.done.set()
        self.join()
        self.sample()
        self.client = sum(os.times()[:2]) - self.client
        self.db.close()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def sample(self, *, first: bool = False) -> None:
        backends = [
            row[0]
            for row in self.db.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ]
        seen = {("postgres", pid): process_cpu(pid) for pid in backends}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            found = process_cpu(int(stat.parent.name))
            if found and found[0] == self.master:
                seen[(self.children, int(stat.parent.name))] = found
        for key, found in seen.items():
            if found is None:
                continue
            self.first.setdefault(key, found[1] if first else 0.0)
            self.last[key] = found[1]

    def totals(self) -> dict:
        totals = {self.children: 0.0, "postgres": 0.0, "client": self.client}
        for key, seconds in self.last.items():
            totals[key[0]] += seconds - self.first[key]
        return totals


# The load ----------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        return response.status, response.headers, content, time.perf_counter() - started
    finally:
        connection.close()


def person(tag: str, number: int) -> dict:
    """What one person types, chooses and ticks in the entry form (the honeypot stays empty)."""
    return {
        "name": f"Bench Entrant {tag} {number}",
        "email": f"{tag}.{number}@tweetup-bench.org",
        "twitter_handle": f"b_{tag}_{number}",
        "country": COUNTRIES[number % len(COUNTRIES)],
        "languages": list(LANGUAGES[number % len(LANGUAGES)]),
        "background": BACKGROUNDS[number % len(BACKGROUNDS)],
        "motivation": "I would love to see the Computing Centre and tell my followers.",
        "language": "fr" if number % 3 == 0 else "en",
        "accept_rules": True,
    }


class Visitor:
    """One person's browser: their own cookies and the language of their pages.

    Cookies are kept by name and sent back over plain HTTP, Secure ones too, as
    Chromium does on 127.0.0.1 (Python's cookie jar would hold back the
    production settings' Secure CSRF cookie).
    """

    def __init__(self, port: int, language: str) -> None:
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.accept_language = PAGE_LANGUAGES[language]
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = {"Accept-Language": self.accept_language, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        answer = request(self.port, method, path, body, headers)
        for header in answer[1].get_all("Set-Cookie") or ():
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def post_form(self, path: str, pairs: list[tuple[str, str]]):
        return self.send(
            "POST",
            path,
            urllib.parse.urlencode(pairs).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": self.origin + path,
            },
        )


def warm_page(port: int, path: str) -> None:
    """Fetch a page in each language as several visitors, so its cached parts are filled."""
    for language in PAGE_LANGUAGES:
        for _ in range(WARM_GETS):
            status = Visitor(port, language).send("GET", path)[0]
            if status != 200:
                sys.exit(f"warming {path} in {language}: answered {status}")


def classify(status: int, headers, content: bytes) -> str:
    if status == 302 and headers.get("Location", "").endswith("/thanks/"):
        return "entered"
    if status == 400 and b"Too many entries" in content:
        return "rate limited"
    if status == 403:
        return "forbidden 403"
    if status >= 500:
        return f"server error {status}"
    return f"other {status}"


def refuse_forbidden(load: dict, what: str) -> None:
    """Stop the run when any POST was refused: people could not enter."""
    forbidden = load["outcomes"].get("forbidden 403", 0)
    if forbidden:
        sys.exit(
            f"FAILED: {forbidden:,} of {load['posts']:,} POSTs in {what} were answered"
            " 403 Forbidden: people posting the entry form as their browser does cannot"
            " enter (is a stale CSRF token cached in the form?)"
        )


def submit(port: int, path: str, filled: dict, barrier: threading.Barrier | None) -> dict:
    """One person: GET the contest page, then POST what their browser posts from its form."""
    visitor = Visitor(port, filled["language"])
    status, headers, content, get_seconds = visitor.send("GET", path)
    if status != 200:
        kind = "server error" if status >= 500 else "other"
        return {"outcome": f"{kind} {status} on GET", "get": get_seconds, "post": None}
    form = BrowserForm.parse(content.decode(), "entry-form")
    pairs = form.data(filled, submitter="submit")
    if barrier is not None:
        # Both copies of a duplicate submission leave at the same moment.
        barrier.wait(timeout=120)
    status, headers, content, post_seconds = visitor.post_form(path, pairs)
    return {
        "outcome": classify(status, headers, content),
        "get": get_seconds,
        "post": post_seconds,
    }


def run_load(
    port: int, slug: str, tag: str, people: int, duplicates: float, concurrency: int
) -> dict:
    path = f"/contests/{slug}/"
    rng = random.Random(f"{slug}-{people}")
    twice = set(rng.sample(range(people), round(people * duplicates)))
    groups = []
    for number in range(people):
        form = person(tag, number)
        if number in twice:
            barrier = threading.Barrier(2)
            again = dict(
                form, email=form["email"].upper(), twitter_handle="@" + form["twitter_handle"]
            )
            groups.append([(number, form, barrier), (number, again, barrier)])
        else:
            groups.append([(number, form, None)])
    rng.shuffle(groups)
    # A pair's two halves are next to each other in the queue, so a free thread
    # always takes the second half while the first waits at the barrier.
    jobs = queue.SimpleQueue()
    for group in groups:
        for job in group:
            jobs.put(job)
    results = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                number, form, barrier = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                result = submit(port, path, form, barrier)
            except (
                OSError,
                ValueError,  # a page without the entry form, or a choice it does not offer
                http.client.HTTPException,
                threading.BrokenBarrierError,
            ) as exc:
                result = {"outcome": f"error {type(exc).__name__}", "get": None, "post": None}
            result["person"] = number
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "people": people,
        "pairs": len(twice),
        "posts": sum(1 for r in results if r["post"] is not None),
        "seconds": seconds,
        "outcomes": Counter(r["outcome"] for r in results),
        "post": [r["post"] for r in results if r["post"] is not None],
        "get": [r["get"] for r in results if r["get"] is not None],
    }


# Reports ----------------------------------------------------------------------


def percentiles(values: list[float]) -> dict:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


def git(*args: str) -> str:
    """What a git command prints about the checkout, "" when it fails."""
    return subprocess.run(
        ["git", *args], cwd=BASE_DIR, capture_output=True, text=True, check=False
    ).stdout.strip()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names, unless it exists already."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    """Django on the test settings and the database ``url``, migrated, in this process."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tweetup.settings.test"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
