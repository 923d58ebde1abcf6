"""Benchmark: 10,000 notices through the outbox and a real Celery worker, against raw smtplib.

Usage (from the project folder; PostgreSQL and Redis on this machine)::

    .venv/bin/python bench/bench_mail.py [--mails 10000] [--repeat 3]

Both sides send the same 10,000 mails, as bytes, to the same aiosmtpd sink
(a process of its own that only counts what it receives and the connections
it was sent through), alternating, ``--repeat`` times each, median and spread:

- **raw**: one ``smtplib.SMTP`` connection, ``sendmail`` in a loop over the
  mails already built (the floor: nothing but SMTP);
- **outbox, send**: the rows are in the outbox, unsent and not queued (as
  after a broker outage); the clock starts when the sweep
  (``messages_due_queue``) queues them and stops when the sink has the last
  mail. The worker is ``celery -A tweetup worker`` as the Procfile starts
  it (production settings, default concurrency: one process per core, INFO
  logs to a file), consuming a queue of the benchmark's own;
- **outbox, write + send** (when the site has ``mail_enqueue_many``): the
  clock starts before the rows are rendered and written (in this process, in
  batches, each queued as it commits) and stops when the sink has the last mail.

Each figure prints its ratio to raw; the target is ≥ 0.5×, and the CPU time
each side spent per mail (this process for raw, the worker's processes and
the database's backends for the outbox, the sink for both), which the
machine's other work changes less than the rates. The database
(``--database``, created when missing) keeps its tables between runs; the
outbox is emptied (TRUNCATE) before each repetition, so that no repetition
reads the dead rows of the ones before (autovacuum may be off).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from multiprocessing import Event, Process, Value
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from harness import CpuSampler, ensure_database, process_cpu  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/tweetup_mail"
BROKER = "redis://127.0.0.1:6379/7"
FROM = "TweetUp <tweetup@localhost>"


# The sink -------------------------------------------------------------------


def run_sink(port: int, received, connections, ready) -> None:
    """An aiosmtpd server that accepts everything and counts it; runs until killed."""
    import signal

    from aiosmtpd.controller import Controller

    peers = set()

    class Counting:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            if session.peer not in peers:
                peers.add(session.peer)
                with connections.get_lock():
                    connections.value += 1
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            with received.get_lock():
                received.value += 1
            return "250 Message accepted for delivery"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.sigwait({signal.SIGTERM})
    controller.stop()


class Sink:
    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.received = Value("q", 0)
        self.connections = Value("q", 0)
        ready = Event()
        self.process = Process(
            target=run_sink, args=(self.port, self.received, self.connections, ready), daemon=True
        )
        self.process.start()
        ready.wait(10)

    def reset(self) -> None:
        with self.received.get_lock():
            self.received.value = 0
        with self.connections.get_lock():
            self.connections.value = 0

    def wait_for(self, count: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while self.received.value < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: the sink has {self.received.value} of {count} mails")
            time.sleep(0.005)
        return time.perf_counter()

    def cpu(self) -> float:
        found = process_cpu(self.process.pid)
        return found[1] if found else 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# The site -------------------------------------------------------------------


def site_environment(database_url: str, sink: Sink) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.production",
        "SECRET_KEY": "bench-mail-" + "x" * 50,
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": "locmemcache://",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
        "DEFAULT_FROM_EMAIL": FROM,
        "PYTHONUNBUFFERED": "1",
    }


def setup_django(environment: dict) -> None:
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_worker(environment: dict, queue: str, log_path: Path) -> subprocess.Popen:
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tweetup",
            "worker",
            "-Q",
            queue,
            f"--hostname=bench-{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=BASE_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return process


def notices(count: int, contest):
    from notifications.models import OutboxMessage
    from notifications.services import outbox

    return [
        outbox.Mail(
            key=f"bench:{n}",
            kind=OutboxMessage.Kind.NOT_CHOSEN,
            to=f"entrant-{n}@example.org",
            language="fr" if n % 3 == 0 else "en",
            template="contests/mail/not_chosen",
            context={
                "entry": {"name": f"Entrant {n}"},
                "contest": contest,
                "contest_url": "https://tweetup.example.org/contests/bench/",
            },
        )
        for n in range(count)
    ]


def rendered_rows(count: int, contest) -> list:
    """Outbox rows as a bulk mail writes them: rendered, pending, not queued.

    Rendered once per language with a stand-in for the name, which each row
    then carries (the rendering is not what this part measures).
    """
    from django.template.loader import render_to_string
    from django.utils import translation

    from notifications.models import OutboxMessage

    context = {
        "entry": {"name": "ENTRANT-NAME"},
        "contest": contest,
        "contest_url": "https://tweetup.example.org/contests/bench/",
    }
    rendered = {}
    for language in ("en", "fr"):
        with translation.override(language):
            rendered[language] = [
                render_to_string(f"contests/mail/not_chosen{suffix}", context)
                for suffix in ("_subject.txt", ".txt", ".html")
            ]
    rows = []
    for n in range(count):
        language = "fr" if n % 3 == 0 else "en"
        subject, text, html = rendered[language]
        rows.append(
            OutboxMessage(
                key=f"bench:{n}",
                kind=OutboxMessage.Kind.NOT_CHOSEN,
                to_email=f"entrant-{n}@example.org",
                language=language,
                subject=" ".join(subject.split()),
                body_text=text.replace("ENTRANT-NAME", f"Entrant {n}"),
                body_html=html.replace("ENTRANT-NAME", f"Entrant {n}"),
            )
        )
    return rows


def mail_bytes(rows) -> list[tuple[str, bytes]]:
    """The mails of these rows as the site's backend puts them on the wire."""
    import email.policy

    try:
        from notifications.mail import OutboxEmail as EmailMultiAlternatives
    except ImportError:  # Before the outbox built its own MIME.
        from django.core.mail import EmailMultiAlternatives

    prepared = []
    for row in rows:
        message = EmailMultiAlternatives(
            subject=row.subject,
            body=row.body_text,
            from_email=FROM,
            to=[row.to_email],
            headers={"X-TweetUp-Key": row.key},
        )
        message.attach_alternative(row.body_html, "text/html")
        prepared.append((row.to_email, message.message(policy=email.policy.SMTP).as_bytes()))
    return prepared


def empty_outbox() -> None:
    from django.db import connection

    from notifications.models import OutboxMessage

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{OutboxMessage._meta.db_table}"')


class Cpu:
    """CPU seconds per mail of the worker (its main process and pool), the database and the sink."""

    def __init__(self, worker: subprocess.Popen | None, database: str, sink: Sink) -> None:
        self.worker, self.sink = worker, sink
        self.sampler = (
            CpuSampler(worker.pid, database.rsplit("/", 1)[1], children="pool") if worker else None
        )

    def __enter__(self):
        self.start = {"sink": self.sink.cpu(), "client": sum(os.times()[:2])}
        if self.sampler:
            self.start["main"] = process_cpu(self.worker.pid)[1]
            self.sampler.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = {
            "sink": self.sink.cpu() - self.start["sink"],
            "client": sum(os.times()[:2]) - self.start["client"],
        }
        if self.sampler:
            self.sampler.__exit__(*exc_info)
            totals = self.sampler.totals()
            main = process_cpu(self.worker.pid)[1] - self.start["main"]
            self.seconds.update(worker=totals["pool"] + main, postgres=totals["postgres"])

    def per_mail(self, count: int) -> dict[str, float]:
        """Milliseconds per mail."""
        return {name: seconds * 1000 / count for name, seconds in self.seconds.items()}


def all_sent(count: int, timeout: float = 120) -> None:
    from notifications.models import OutboxMessage

    deadline = time.monotonic() + timeout
    while OutboxMessage.objects.filter(status="sent").count() < count:
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the rows to be recorded sent")
        time.sleep(0.2)


# The runs -------------------------------------------------------------------


def run_raw(sink: Sink, prepared, database: str) -> tuple[float, dict]:
    import smtplib

    sink.reset()
    with Cpu(None, database, sink) as cpu:
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for to, data in prepared:
                smtp.sendmail(FROM, [to], data)
        end = sink.wait_for(len(prepared), 60)
    return len(prepared) / (end - start), cpu.per_mail(len(prepared))


def run_send(sink: Sink, rows, worker, database: str) -> tuple[float, int, dict]:
    from notifications.models import OutboxMessage
    from notifications.services import sending

    empty_outbox()
    OutboxMessage.objects.bulk_create(rows, batch_size=1000)
    sink.reset()
    with Cpu(worker, database, sink) as cpu:
        start = time.perf_counter()
        sending.messages_due_queue()
        end = sink.wait_for(len(rows), 600)
        all_sent(len(rows))
    return len(rows) / (end - start), sink.connections.value, cpu.per_mail(len(rows))


def run_write_send(sink: Sink, count: int, contest) -> tuple[float, int]:
    from notifications.services import outbox

    empty_outbox()
    mails = notices(count, contest)
    sink.reset()
    start = time.perf_counter()
    outbox.mail_enqueue_many(mails=mails)
    end = sink.wait_for(count, 600)
    all_sent(count)
    return count / (end - start), sink.connections.value


def cpu_line(cpu: dict[str, float], names) -> str:
    return " + ".join(f"{name} {cpu[name]:.2f}" for name in names)


def median_cpu(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def summary(name: str, rates: list[float], raw: float | None, extra: str = "") -> None:
    median = statistics.median(rates)
    spread = f"{min(rates):.0f}–{max(rates):.0f}"
    ratio = f"{median / raw:.2f}× raw" if raw else ""
    print(f"{name:<22} {median:7.0f} mails/s  (spread {spread}) {ratio} {extra}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    )
    args = parser.parse_args()

    ensure_database(args.database)
    sink = Sink()
    environment = site_environment(args.database, sink)
    setup_django(environment)
    from django.conf import settings
    from django.db import connection

    from notifications.services import outbox
    from tweetup.celery import app

    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    log_path = BASE_DIR / "var" / f"bench-mail-worker-{queue}.log"
    log_path.parent.mkdir(exist_ok=True)
    worker = start_worker(environment, queue, log_path)
    contest = {"title": "CERN TweetUp"}
    rows = rendered_rows(args.mails, contest)
    prepared = mail_bytes(rows)
    size = statistics.mean(len(data) for _to, data in prepared)
    # The commit of this checkout; "?" for a copy of another commit unpacked in it.
    git = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--show-toplevel", "--short", "HEAD"],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    code = git[1] if len(git) == 2 and Path(git[0]) == BASE_DIR else "?"
    processes = os.environ.get("CELERY_WORKER_CONCURRENCY") or os.cpu_count()
    print(
        f"{args.mails} mails of {size:.0f} bytes, {args.repeat} repetitions, code {code}, "
        f"worker: production settings, {processes} processes, "
        f"{settings.OUTBOX_SEND_BATCH} rows a task, PostgreSQL "
        f"{connection.pg_version // 10000}"
    )
    raw, send, write = [], [], []
    raw_cpu, send_cpu = [], []
    send_connections = write_connections = 0
    try:
        for repetition in range(args.repeat):
            rate, cpu = run_raw(sink, prepared, args.database)
            raw.append(rate)
            raw_cpu.append(cpu)
            rate, send_connections, cpu = run_send(sink, [*rows], worker, args.database)
            for row in rows:
                row.pk = None
            send.append(rate)
            send_cpu.append(cpu)
            if hasattr(outbox, "mail_enqueue_many"):
                rate, write_connections = run_write_send(sink, args.mails, contest)
                write.append(rate)
            print(
                f"  repetition {repetition + 1}: raw {raw[-1]:.0f}, send {send[-1]:.0f}"
                + (f", write + send {write[-1]:.0f}" if write else "")
                + " mails/s; CPU ms per mail: raw "
                + cpu_line(raw_cpu[-1], ("client", "sink"))
                + ", send "
                + cpu_line(send_cpu[-1], ("worker", "postgres", "sink")),
                flush=True,
            )
    finally:
        worker.terminate()
        worker.wait(30)
        sink.stop()
    raw_median = statistics.median(raw)
    summary("raw smtplib", raw, None, "(1 connection)")
    summary("outbox, send", send, raw_median, f"({send_connections} SMTP connections)")
    if write:
        summary(
            "outbox, write + send", write, raw_median, f"({write_connections} SMTP connections)"
        )
    print(
        "CPU ms per mail (median): raw "
        + cpu_line(median_cpu(raw_cpu), ("client", "sink"))
        + "; outbox, send "
        + cpu_line(median_cpu(send_cpu), ("worker", "postgres", "sink"))
    )
    print("target: ≥ 0.50× raw")


if __name__ == "__main__":
    main()
