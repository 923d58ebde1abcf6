"""Real services for integration tests: an SMTP server, Redis servers, a Celery worker.

Loaded as a pytest plugin by tests/conftest.py, so its fixtures are available
to every test module. Nothing here imitates the site: the SMTP server is
aiosmtpd, the worker is ``celery -A tweetup worker`` in a subprocess against
the test database, and the Redis a test may stop is one it started itself.
"""

import email
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from pytest_redis import factories

from tests.conftest import need

BASE_DIR = Path(__file__).resolve().parent.parent
MACHINE_REDIS = ("127.0.0.1", 6379)
# The machine's Redis is shared: this suite keeps to one database number and to
# queues of its own, so it never takes (or leaves) another run's tasks.
MACHINE_REDIS_URL = "redis://127.0.0.1:6379/5"


def rows_for_the_module[T](django_db_blocker, make: Callable[[], T]) -> Iterator[T]:
    """Make rows once for a module's tests, and take them away after the last one.

    For a module-scoped fixture: ``yield from rows_for_the_module(django_db_blocker,
    make)``. What ``make`` writes stays in an open transaction, and each test
    that uses the ``db`` fixture runs in a savepoint inside it, so what a test
    changes is gone for the next. On xdist, each process makes its own. Not
    for a module with transactional tests (``transaction=True``, live_server):
    they flush the database, which the open transaction forbids.
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            made = make()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        yield made
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class SmtpSink:
    """An aiosmtpd handler that keeps what it receives and can refuse the first mails.

    ``recipients`` maps an address to the answer to its RCPT (e.g. "550 5.1.1
    No such user"); ``connections`` counts the SMTP connections that sent a
    mail or tried to (each client's address and port). ``received`` holds
    each accepted mail as it came over the wire, ``messages`` the same parsed.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.received: list[bytes] = []
        self.refuse_next = 0
        self.refused = 0
        self.recipients: dict[str, str] = {}
        self.peers: set[tuple] = set()

    def reset(self, *, refuse_next: int = 0) -> None:
        with self.lock:
            self.messages.clear()
            self.received.clear()
            self.refuse_next = refuse_next
            self.refused = 0
            self.recipients = {}
            self.peers = set()

    @property
    def connections(self) -> int:
        with self.lock:
            return len(self.peers)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            self.peers.add(session.peer)
            answer = self.recipients.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.received.append(envelope.content)
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, *, timeout: float = 20) -> list[EmailMessage]:
        wait_until(
            lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} mail(s) by SMTP"
        )
        return list(self.messages)


class SmtpServer:
    def __init__(self, sink: SmtpSink, port: int) -> None:
        self.sink = sink
        self.host = "127.0.0.1"
        self.port = port

    @property
    def mailers(self) -> dict:
        """A MAILERS setting that sends through this server."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": self.host, "port": self.port, "timeout": 5},
            }
        }


@pytest.fixture(scope="session")
def _smtp_controller() -> Iterator[SmtpServer]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(sink, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(_smtp_controller) -> SmtpServer:
    """A real SMTP server (aiosmtpd) in this process; empty and accepting at each test."""
    _smtp_controller.sink.reset()
    return _smtp_controller


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# A Redis server of the test's own on a free port, which a test may stop and start.
private_redis_proc = factories.redis_proc(port=None)


@pytest.fixture
def private_redis(request):
    """A redis-server of the test's own (pytest-redis), which the test may stop and start."""
    need(bool(shutil.which("redis-server")), "the redis-server program is not installed")
    return request.getfixturevalue("private_redis_proc")


@pytest.fixture
def machine_redis_url() -> str:
    need(port_answers(*MACHINE_REDIS), "no Redis answers at 127.0.0.1:6379")
    return MACHINE_REDIS_URL


def postgres_test_database_url() -> str:
    """The URL of the test database this process uses, for a worker to share it."""
    need(connection.vendor == "postgresql", "these tests need PostgreSQL (a shared database)")
    params = connection.settings_dict
    user = quote(params["USER"] or "", safe="")
    password = f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@contextmanager
def celery_publishing_to(broker_url: str, queue: str) -> Iterator[None]:
    """Make this process's Celery app publish to a real broker instead of running eagerly.

    The test settings run tasks eagerly; here ``.delay()`` goes through the
    broker, the way the web processes do in production.
    """
    from tweetup.celery import app

    saved = {
        key: app.conf[key]
        for key in ("broker_url", "task_always_eager", "task_default_queue", "task_routes")
    }
    reconnect_celery()
    app.conf.update(
        broker_url=broker_url,
        task_always_eager=False,
        task_default_queue=queue,
        task_routes={name: {"queue": periodic_queue(queue)} for name in saved["task_routes"]},
    )
    try:
        yield
    finally:
        reconnect_celery()
        app.conf.update(saved)


def periodic_queue(queue: str) -> str:
    """The queue of beat's tasks that goes with a test's own default queue."""
    return f"{queue}-periodic"


def reconnect_celery() -> None:
    """Forget pooled broker connections and the cached routing (e.g. after a broker restart)."""
    from kombu import pools

    from tweetup.celery import app

    pools.reset()
    app._pool = None
    app.__dict__.pop("amqp", None)


class CeleryWorker:
    """``celery -A tweetup worker`` in a subprocess, sharing the test database."""

    def __init__(self, *, broker_url: str, queue: str, smtp: SmtpServer, log_path: Path) -> None:
        self.queue = queue
        self.broker_url = broker_url
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "TEST_CELERY_QUEUE": queue,
            "DATABASE_URL": postgres_test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "5",
            "OUTBOX_RETRY_AFTER_SECONDS": "0",
            "SITE_URL": "http://testserver",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tweetup",
            "worker",
            "--pool=solo",
            f"--queues={queue},{periodic_queue(queue)}",
            f"--hostname={queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"The Celery worker exited ({self.process.returncode}):\n{self.log()}")
            return " ready." in self.log()

        wait_until(ready, timeout=timeout, what="the Celery worker to start")

    @property
    def hostname(self) -> str:
        """The node name given by ``--hostname``, as Celery expands it."""
        return f"{self.queue}@{socket.gethostname()}"

    def wait_idle(self, timeout: float = 20) -> None:
        """Return once the worker has done every task published so far, and holds none.

        Idle means: nothing waits in its queues in Redis, and the worker
        itself answers that it runs, holds and schedules nothing. A solo
        worker answers only between tasks, so an answer also means that the
        task it took last has finished. Proves that a mail did not come
        without guessing how long it could take.
        """
        import redis
        from celery import Celery

        # A client of the worker's broker of its own: the site's app may publish
        # elsewhere (eagerly, or to the memory broker) outside celery_publishing_to.
        control = Celery("tests.support", broker=self.broker_url, set_as_current=False)
        client = redis.Redis.from_url(self.broker_url)

        def queued() -> int:
            # Kombu keeps a list per queue, and per priority step with a suffix.
            keys = client.scan_iter(match=f"{self.queue}*", _type="list")
            return sum(client.llen(key) for key in keys)

        def idle() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"The Celery worker exited ({self.process.returncode}):\n{self.log()}")
            if queued():
                return False
            inspect = control.control.inspect(destination=[self.hostname], timeout=1, limit=1)
            for held in (inspect.active, inspect.reserved, inspect.scheduled):
                answer = held()
                if not answer or any(answer.values()):
                    return False
            return not queued()

        try:
            wait_until(idle, timeout=timeout, what="the Celery worker to be idle")
        finally:
            control.close()
            client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture
def celery_worker_factory(tmp_path, smtp_server) -> Iterator[Callable[..., CeleryWorker]]:
    """Start Celery workers sending mail to ``smtp_server``; stopped after the test.

    Call it with the broker URL; it returns once the worker is ready. Tasks
    published by this process while ``celery_publishing_to`` is active reach it.
    """
    workers: list[CeleryWorker] = []

    def start(*, broker_url: str, queue: str | None = None) -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=broker_url,
            queue=queue or f"integ-{uuid.uuid4().hex[:12]}",
            smtp=smtp_server,
            log_path=tmp_path / f"worker-{len(workers)}.log",
        )
        workers.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
            # Shown by pytest when the test fails.
            print(f"--- Celery worker log ({worker.queue}) ---\n{worker.log()}")
            forget_queue(worker.broker_url, worker.queue)
            forget_queue(worker.broker_url, periodic_queue(worker.queue))


def forget_queue(broker_url: str, queue: str) -> None:
    """Remove what Kombu keeps in Redis for a queue of the test's own."""
    import redis

    try:
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=1)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()
    except redis.RedisError:
        pass
