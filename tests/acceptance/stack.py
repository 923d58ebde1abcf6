"""The production stack the acceptance suite runs the site on, as the README deploys it.

``Stack.start()`` brings up, once per test session:

- a virtual environment built from ``requirements.lock`` alone
  (``var/acceptance/venv``, rebuilt when the lock's sha256 changes): every
  site process runs from it, so a package only the test tools bring cannot
  hide a missing runtime one. The tests themselves (pytest, Playwright,
  aiosmtpd) run in the dev venv;
- a PostgreSQL database of the run's own (``tweetup_acceptance_<pid>``, so
  that two runs on one machine never share one), migrated under
  ``tweetup.settings.production``, with the compiled catalogue, the collected
  static files and ``manage.py loaddemo`` (open contest ``/contests/cern-tweetup/``,
  staff ``organizer`` and ``touradmin``, password ``tweetup-demo``);
- a ``redis-server`` of the run's own on a free port: broker in database 0 and
  cache in database 1, one Redis as the README's production defaults share;
- an SMTP server (aiosmtpd, a thread of the test process) that keeps every mail
  and can refuse, or hold, what it is sent;
- the Procfile's processes, as the README's production runs them: ``honcho
  export`` writes supervisord's programs from the Procfile (template
  ``deploy/supervisord.conf``, the stack's environment file), and Debian's
  supervisord runs gunicorn with ``gunicorn.conf.py``, one Celery worker and
  one beat (its schedule and lock in the suite's Redis), all under the
  production settings, starting again whichever of them stops. Logs go to
  ``var/acceptance/logs/run-<pid>/`` (supervisord's own in ``supervisord.log``).

Public interface (journeys in tests/acceptance/ are written against it):

``stack.base_url``
    ``http://127.0.0.1:<port>``, no trailing slash.
``stack.env``
    The environment every site process gets (production settings).
``stack.mail``
    The SMTP server: ``messages`` (every ``email.message.EmailMessage`` received),
    ``wait_for(to, subject_contains=None, timeout=60)`` (the first matching
    message no earlier ``wait_for`` returned; fails the test on timeout),
    ``count(to=None, subject_contains=None)``, ``refuse(code=451)`` (every
    DATA), ``refuse_recipient(address, answer="550 5.1.1 No such user")`` (at
    RCPT, that address only) and ``accept()`` (both undone),
    ``refused_count(to=None)`` (refusals so far), ``hold()`` and ``release()``
    (keep the sender waiting after its DATA, answering nothing), ``held``
    (senders waiting now).
``stack.manage(*args, input=None, check=True)``
    ``manage.py`` in the runtime venv with the production environment; returns
    the ``subprocess.CompletedProcess`` (text); fails the test on a non-zero
    exit when ``check``.
``stack.setting(name)``
    A setting as the site reads it, as text (``"10/h"``).
``stack.query(sql, params=())``
    Rows from the run's database (psycopg, autocommit).
``stack.redis_stop()``, ``stack.redis_start()``
    Stop the suite's Redis; start it again on the same port, empty.
``stack.worker_kill()``, ``stack.worker_start()``
    SIGKILL the Celery worker (its pool processes too), as an out-of-memory
    kill does; wait until a new one is ready (supervisord starts it again).
``stack.supervisor_log()``
    What supervisord said (each program's start and exit).
``stack.mend()``
    Mail accepted, Redis running, a live worker: what each test ends with.
``stack.forget_rate_limits()``
    Drop the rate limits' counts from the cache (the conftest does it before
    each test; see there why).
``stack.server_errors(since)``, ``stack.mark()``
    Requests the site answered with a 500 since a ``mark()`` (its access lines).
``stack.logs_tail(lines=40)``
    The end of every process's log, for a failure report.

Helpers: ``text_part(msg)``, ``links(msg)`` (absolute URLs in the text part),
``Person.unique(...)`` (someone who has not entered yet), ``fill_entry_form(page,
person)`` (and ``fill_entry_form_async``), and ``HttpVisitor`` (a visitor without a
browser: ``get``, ``post`` and ``enter``, which posts every field of the entry
form as a browser does). Fixtures (tests/acceptance/conftest.py): ``stack``, ``browser`` (also
named ``acceptance_browser``), ``new_visitor(locale="en-GB")`` and
``staff_page(username, locale="en-GB")``.
"""

import asyncio
import contextlib
import email
import fcntl
import getpass
import hashlib
import itertools
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from honcho.environ import parse_procfile

from tests.conftest import need
from tests.html_forms import BrowserForm
from tests.support import free_port, port_answers, text_part, wait_until

__all__ = [
    "Answer",
    "HttpVisitor",
    "Mailbox",
    "Person",
    "Stack",
    "fill_entry_form",
    "fill_entry_form_async",
    "links",
    "text_part",
]

BASE_DIR = Path(__file__).resolve().parents[2]
ACCEPTANCE_DIR = BASE_DIR / "var" / "acceptance"
VENV = ACCEPTANCE_DIR / "venv"
# Compiled catalogues and collected static files (TWEETUP_BUILD_DIR), shared by
# the runs and made under the set-up lock, as a deploy's build folder.
BUILD_DIR = ACCEPTANCE_DIR / "build"
PROCFILE = BASE_DIR / "Procfile"
# In the environment of every supervised process, to find what a kill orphaned.
RUN_MARK = "TWEETUP_ACCEPTANCE_RUN"
LOCK_FILE = BASE_DIR / "requirements.lock"
# The machine's PostgreSQL, as the test settings use it; the suite makes a
# database of its own there.
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DATABASE_PREFIX = "tweetup_acceptance_"
DEMO_PASSWORD = "tweetup-demo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
URL = re.compile(r"https?://[^\s<>\"')]+")


def procfile_command(name: str) -> list[str]:
    """The command line of the Procfile's process ``name``, split as a shell would."""
    return shlex.split(parse_procfile(PROCFILE.read_text()).processes[name])


def links(message: EmailMessage) -> list[str]:
    """The absolute URLs in a mail's text part, in order."""
    return URL.findall(text_part(message))


def _recipients(message: EmailMessage, envelope: list[str]) -> set[str]:
    headers = [str(value) for value in message.get_all("To", [])]
    return {address.lower() for _, address in getaddresses(headers)} | {
        address.lower() for address in envelope
    }


@dataclass
class _Received:
    message: EmailMessage
    recipients: set[str]
    returned: bool = False

    def matches(self, to: str | None, subject_contains: str | None) -> bool:
        if to is not None and to.lower() not in self.recipients:
            return False
        return subject_contains is None or subject_contains in str(self.message["Subject"])


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps what it accepts; it may refuse or hold mail."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._lock = threading.Lock()
        self._received: list[_Received] = []
        self._refuse: int | None = None
        self._refused_recipients: dict[str, str] = {}
        # The recipients of each mail refused, at RCPT or at DATA.
        self._refusals: list[set[str]] = []
        self._holding = False
        self.held = 0
        self.refused = 0
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._running = False

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        self.release()
        if self._running:
            self._controller.stop()
            self._running = False

    async def handle_RCPT(  # noqa: N802 - aiosmtpd API
        self, server, session, envelope, address, rcpt_options
    ) -> str:
        with self._lock:
            answer = self._refused_recipients.get(address.lower())
            if answer is not None:
                self._refusals.append({address.lower()})
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        with self._lock:
            refuse = self._refuse
        if refuse is not None:
            with self._lock:
                self.refused += 1
                self._refusals.append({address.lower() for address in envelope.rcpt_tos})
            return f"{refuse} 4.3.0 Try again later"
        if self._holding:
            with self._lock:
                self.held += 1
            try:
                while self._holding:
                    await asyncio.sleep(0.05)
            finally:
                with self._lock:
                    self.held -= 1
            if server.transport is None or server.transport.is_closing():
                # The sender went away before the server took the mail: it is
                # not delivered, as with any SMTP server.
                return "421 4.4.2 Connection lost"
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self._received.append(_Received(message, _recipients(message, envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [received.message for received in self._received]

    def count(self, to: str | None = None, subject_contains: str | None = None) -> int:
        with self._lock:
            return sum(received.matches(to, subject_contains) for received in self._received)

    def wait_for(
        self, to: str, subject_contains: str | None = None, timeout: float = 60
    ) -> EmailMessage:
        """The first mail to ``to`` (and with that subject) that no earlier call returned."""

        def take() -> EmailMessage | None:
            with self._lock:
                for received in self._received:
                    if not received.returned and received.matches(to, subject_contains):
                        received.returned = True
                        return received.message
            return None

        about = f" about {subject_contains!r}" if subject_contains else ""
        return wait_until(take, timeout=timeout, what=f"a new mail to {to}{about}")

    def refuse(self, code: int = 451) -> None:
        """Answer every DATA with ``code`` (a transient refusal by default)."""
        with self._lock:
            self._refuse = code

    def refuse_recipient(self, address: str, answer: str = "550 5.1.1 No such user") -> None:
        """Answer ``answer`` to RCPT TO this address (a permanent refusal by default)."""
        with self._lock:
            self._refused_recipients[address.lower()] = answer

    def refused_count(self, to: str | None = None) -> int:
        """How many mails (to ``to``) the server refused, at RCPT or at DATA."""
        with self._lock:
            return sum(to is None or to.lower() in refusal for refusal in self._refusals)

    def accept(self) -> None:
        """Take every mail again: undo ``refuse`` and ``refuse_recipient``."""
        with self._lock:
            self._refuse = None
            self._refused_recipients.clear()

    def hold(self) -> None:
        """Keep each sender waiting after its DATA, until ``release()``."""
        self._holding = True

    def release(self) -> None:
        self._holding = False


@dataclass
class Person:
    """Someone who enters the contest: an address and a handle no one has used yet."""

    name: str
    email: str
    handle: str
    country: str = "CH"
    languages: list[str] = field(default_factory=lambda: ["en", "fr"])
    background: str = "science"
    motivation: str = "I run the physics club of my school and would share every stop."
    language: str = "en"

    _numbers = itertools.count(1)

    @classmethod
    def unique(cls, name: str = "Ada Lovelace", *, language: str = "en", **fields) -> "Person":
        number = next(cls._numbers)
        tag = f"{uuid.uuid4().hex[:6]}{number}"
        first = re.sub(r"[^a-z]", "", name.split()[0].lower())
        return cls(
            name=name,
            email=f"{first}.{tag}@example.org",
            handle=f"{first[:6]}_{tag}"[:15],
            language=language,
            **fields,
        )

    def form_fields(self) -> dict[str, str | list[str] | bool]:
        """What the person types, chooses and ticks in the entry form, by field name."""
        return {
            "name": self.name,
            "email": self.email,
            "twitter_handle": f"@{self.handle}",
            "country": self.country,
            "languages": self.languages,
            "background": self.background,
            "motivation": self.motivation,
            "language": self.language,
            "accept_rules": True,
        }


SELECTS = {"country", "background", "language"}


def _languages_chosen(form, languages: list[str]) -> tuple[list, list[str]]:
    """The common languages' checkboxes to tick, and the other languages to choose in the list."""
    boxes = [form.locator(f'input[name="languages"][value="{code}"]') for code in languages]
    others = [code for code, box in zip(languages, boxes, strict=True) if not box.count()]
    return [box for box in boxes if box.count()], others


def fill_entry_form(page, person: Person) -> None:
    """Click, type, choose and tick in the entry form as a person does (a sync Playwright page)."""
    form = page.locator("#entry-form")
    for name, value in person.form_fields().items():
        control = form.locator(f'[name="{name}"]')
        if name == "languages":
            boxes, others = _languages_chosen(form, value)
            for box in boxes:
                box.check()
            if others:
                form.locator('select[name="languages"]').select_option(others)
        elif value is True:
            control.check()
        elif name in SELECTS:
            control.select_option(value)
        else:
            control.click()
            control.press_sequentially(value)


async def fill_entry_form_async(page, person: Person) -> None:
    """``fill_entry_form`` for a page of Playwright's async API."""
    form = page.locator("#entry-form")
    for name, value in person.form_fields().items():
        control = form.locator(f'[name="{name}"]')
        if name == "languages":
            others = []
            for code in value:
                box = form.locator(f'input[name="languages"][value="{code}"]')
                if await box.count():
                    await box.check()
                else:
                    others.append(code)
            if others:
                await form.locator('select[name="languages"]').select_option(others)
        elif value is True:
            await control.check()
        elif name in SELECTS:
            await control.select_option(value)
        else:
            await control.click()
            await control.press_sequentially(value)


@dataclass
class Answer:
    """What the site answered a request: status, where it redirects, and the page."""

    status: int
    location: str
    text: str


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpVisitor:
    """A visitor without a browser: urllib, keeping cookies as Chromium does on 127.0.0.1.

    Python's cookie jar never sends a Secure cookie over http://, where Chromium
    does on 127.0.0.1 (a potentially trustworthy origin); this visitor keeps its
    cookies by name, like the browser. Redirects are not followed: ``Answer``
    says where they lead.
    """

    def __init__(self, base_url: str, *, language: str = "en-GB,en;q=0.8") -> None:
        self.base_url = base_url
        self.language = language
        self.cookies: dict[str, str] = {}
        self._opener = urllib.request.build_opener(_KeepRedirects)

    def get(self, path: str) -> Answer:
        return self._send(urllib.request.Request(self.base_url + path))

    def post(self, path: str, pairs: list[tuple[str, str]]) -> Answer:
        body = urllib.parse.urlencode(pairs).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Origin", self.base_url)
        request.add_header("Referer", self.base_url + path)
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Answer:
        request.add_header("Accept-Language", self.language)
        request.add_header("User-Agent", "TweetUp acceptance suite")
        if self.cookies:
            cookies = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            request.add_header("Cookie", cookies)
        try:
            response = self._opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Answer(
                status=response.status,
                location=response.headers.get("Location", ""),
                text=response.read().decode(errors="replace"),
            )

    def enter(self, contest_path: str, person: "Person") -> Answer:
        """Open the contest's page, fill in every field of its entry form and send it."""
        page = self.get(contest_path)
        if page.status != 200:
            return page
        form = BrowserForm.parse(page.text, "entry-form")
        tokens = set(form.values("csrfmiddlewaretoken"))
        assert len(tokens) == 1, f"the entry form carries {len(tokens)} CSRF tokens"
        return self.post(contest_path, form.data(person.form_fields(), submitter="submit"))


class Process:
    """A site process with its log file; its own process group, so a kill takes its children."""

    def __init__(
        self, name: str, command: list[str], *, env: dict, log_dir: Path, log_name: str
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{log_name}.log"
        self._log = self.log_path.open("ab")
        # setpriv gives the process SIGTERM if the test process dies (a killed
        # pytest, a CI timeout), so an interrupted run leaves nothing running.
        setpriv = shutil.which("setpriv")
        prefix = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
        self.popen = subprocess.Popen(  # noqa: S603
            prefix + command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self, ready, *, timeout: float, what: str) -> None:
        def check() -> bool:
            if not self.alive:
                pytest.fail(
                    f"{self.name} exited ({self.popen.returncode}) while waiting for {what}:\n"
                    f"{self.tail(60)}"
                )
            return ready()

        wait_until(check, timeout=timeout, what=what)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, as a process manager stops it: gunicorn and Celery stop their children."""
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=20)
        self._close()

    def _close(self) -> None:
        # Pool processes of the group may outlive their parent by a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log.close()


class Program:
    """A Procfile process run by the stack's supervisord (``tweetup:<name>-1``).

    Offers what ``Process`` offers; supervisord starts it again when it stops.
    """

    def __init__(self, name: str, program: str, *, supervisor: "Supervisor") -> None:
        self.name = name
        self.program = program
        self.supervisor = supervisor
        self.log_path = supervisor.log_dir / f"{program}.log"
        self._pid = 0

    @property
    def pid(self) -> int:
        """The running program's pid, 0 when none runs."""
        if not (self._pid and _running(self._pid)):
            answer = self.supervisor.ctl("pid", f"tweetup:{self.program}").strip()
            self._pid = int(answer) if answer.isdigit() else 0
        return self._pid

    @property
    def alive(self) -> bool:
        return self.pid > 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self, ready, *, timeout: float, what: str) -> None:
        def check() -> bool:
            if not self.supervisor.alive:
                pytest.fail(
                    f"supervisord exited while waiting for {what}:\n{self.supervisor.tail()}"
                )
            return ready()

        wait_until(check, timeout=timeout, what=what)

    def start(self) -> None:
        self.supervisor.ctl("start", f"tweetup:{self.program}")

    def stop(self, timeout: float = 20) -> None:
        self.supervisor.ctl("stop", f"tweetup:{self.program}")

    def kill(self) -> None:
        """SIGKILL the program and every process below it."""
        pid = self.pid
        for victim in [pid, *_descendants(pid)] if pid else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not _running(pid), timeout=20, what=f"{self.name} to die")


class Supervisor(Process):
    """supervisord with the programs ``honcho export`` wrote from the Procfile."""

    def __init__(self, *, env: dict, log_dir: Path) -> None:
        self.log_dir = log_dir
        folder = log_dir / "supervisor"
        folder.mkdir(parents=True, exist_ok=True)
        search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin"])
        self.supervisord = shutil.which("supervisord", path=search)
        self.supervisorctl = shutil.which("supervisorctl", path=search)
        need(
            bool(self.supervisord and self.supervisorctl),
            "Debian's supervisor is not installed (apt-get install supervisor)",
        )
        # The site's environment file, as README "Production" writes /etc/tweetup/env.
        env_file = folder / "env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
        _run(
            [str(VENV / "bin" / "honcho"), "export", "-f", "Procfile", "-d", str(BASE_DIR)]
            + ["-e", str(env_file), "-a", "tweetup", "-u", getpass.getuser()]
            + ["-l", str(log_dir), "-t", "deploy", "supervisord", str(folder / "conf.d")],
            env=env,
            what="honcho export",
        )
        self.config = folder / "supervisord.conf"
        self.config.write_text(
            # What Debian's /etc/supervisor/supervisord.conf holds, in the run's folder.
            f"[supervisord]\nnodaemon=true\nlogfile={log_dir / 'supervisord.log'}\n"
            f"pidfile={folder / 'supervisord.pid'}\nchildlogdir={folder}\n\n"
            f"[unix_http_server]\nfile={folder / 'supervisor.sock'}\nchmod=0700\n\n"
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[supervisorctl]\nserverurl=unix://{folder / 'supervisor.sock'}\n\n"
            f"[include]\nfiles = {folder / 'conf.d'}/*.conf\n"
        )
        self.mark = f"{RUN_MARK}={log_dir}"
        super().__init__(
            "supervisord",
            [self.supervisord, "-c", str(self.config)],
            env={"PATH": env["PATH"], "LANG": "C.UTF-8", RUN_MARK: str(log_dir)},
            log_dir=log_dir,
            log_name="supervisord-output",
        )

    def ctl(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [self.supervisorctl, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        return result.stdout

    def said(self) -> str:
        path = self.log_dir / "supervisord.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 60) -> None:
        """Stop the programs as a deploy does (SIGTERM, then supervisord), leaving nothing."""
        if self.alive:
            self.ctl("stop", "all")
        super().stop(timeout=timeout)
        # A program's children a SIGKILL orphaned, started with the run's mark.
        for pid in _marked(self.mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """A live process (not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found.extend(frontier)
    return found


def _marked(mark: str) -> list[int]:
    """The processes whose environment holds ``mark`` (NAME=value)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if mark.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return [pid for pid in found if pid != os.getpid()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    return True


def _run(command: list[str], *, env: dict | None = None, what: str) -> None:
    result = subprocess.run(  # noqa: S603
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def _setup_lock():
    """One run at a time builds the venv, compiles the catalogue and collects static files."""
    ACCEPTANCE_DIR.mkdir(parents=True, exist_ok=True)
    with (ACCEPTANCE_DIR / "setup.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def runtime_python() -> str:
    """The interpreter the dev venv was made from (the same Python version)."""
    base = getattr(sys, "_base_executable", "") or ""
    if base and Path(base).exists():
        return base
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = shutil.which(version)
    need(bool(found), f"{version} is not on the PATH")
    return found


def use_runtime_venv():
    """``var/acceptance/venv`` from ``requirements.lock`` alone, made again when the lock changes.

    Returns an open lock file: the run holds it shared while its processes run
    from the venv, so that another run with a changed lock waits for it before
    making the venv again. Call it under ``_setup_lock()``.
    """
    digest = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    stamp_text = f"{digest} {sys.version_info.major}.{sys.version_info.minor}\n"
    stamp = VENV / ".requirements.lock.sha256"
    in_use = (ACCEPTANCE_DIR / "venv.lock").open("w")
    if stamp.exists() and stamp.read_text() == stamp_text:
        fcntl.flock(in_use, fcntl.LOCK_SH)
        return in_use
    fcntl.flock(in_use, fcntl.LOCK_EX)
    try:
        shutil.rmtree(VENV, ignore_errors=True)
        _run([runtime_python(), "-m", "venv", str(VENV)], what="Making the runtime venv")
        _run(
            [
                str(VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",
                "-r",
                str(LOCK_FILE),
            ],
            what="Installing requirements.lock into the runtime venv",
        )
        stamp.write_text(stamp_text)
    except BaseException:
        in_use.close()
        raise
    fcntl.flock(in_use, fcntl.LOCK_SH)
    return in_use


class Stack:
    """The site on its production stack; see the module's docstring."""

    def __init__(self) -> None:
        need(bool(shutil.which("redis-server")), "the redis-server program is not installed")
        need(
            port_answers(POSTGRES["host"], POSTGRES["port"]),
            "no PostgreSQL answers at 127.0.0.1:5432",
        )
        self.run_id = f"run-{os.getpid()}"
        self.log_dir = ACCEPTANCE_DIR / "logs" / self.run_id
        self.database = f"{DATABASE_PREFIX}{os.getpid()}"
        self.port = free_port()
        self.redis_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.mail = Mailbox()
        self.processes: dict[str, Process | Program] = {}
        self.supervisor: Supervisor | None = None
        self._ready_before_kill = 0
        self._venv_in_use = None
        self.env: dict[str, str] = {}

    # Start and stop

    def start(self) -> "Stack":
        self._forget_old_runs()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.mail.start()
        self.redis_start()
        with _setup_lock():
            self._venv_in_use = use_runtime_venv()
            self.env = self._environment(VENV)
            self.manage("compilecatalogue")
            self.manage("collectstatic", "--noinput", "-v0")
        self._create_database()
        self.manage("migrate", "--noinput")
        # The demo under production settings, which loaddemo refuses without this flag:
        # this database is the run's own, and the journeys log in as its staff.
        self.manage("loaddemo", "--yes-on-a-production-database")
        self.supervisor = Supervisor(
            env={**self.env, RUN_MARK: str(self.log_dir)}, log_dir=self.log_dir
        )
        for name, program in (("gunicorn", "web-1"), ("worker", "worker-1"), ("beat", "beat-1")):
            self.processes[name] = Program(name, program, supervisor=self.supervisor)
        self.processes["gunicorn"].wait_ready(
            self._site_answers, timeout=60, what="gunicorn to answer"
        )
        self.worker_start()
        self.processes["beat"].wait_ready(
            lambda: "beat: Starting..." in self.processes["beat"].log(),
            timeout=60,
            what="Celery beat to start",
        )
        return self

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for name in ("beat", "worker", "gunicorn"):
            self.processes.pop(name, None)
        process = self.processes.pop("redis", None)
        if process is not None:
            process.stop()
        self.mail.stop()
        self._drop_database(self.database)
        if self._venv_in_use is not None:
            self._venv_in_use.close()
            self._venv_in_use = None

    def _environment(self, venv: Path) -> dict[str, str]:
        """The production environment, from nothing: no variable of the test process leaks in."""
        return {
            "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "tweetup.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": (
                f"postgres://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/"
                f"{self.database}"
            ),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CACHE_URL": f"rediscache://127.0.0.1:{self.redis_port}/1",
            "EMAIL_HOST": self.mail.host,
            "EMAIL_PORT": str(self.mail.port),
            "EMAIL_USE_TLS": "0",
            "SITE_URL": self.base_url,
            # Browsers reach gunicorn directly over plain HTTP: no TLS proxy in
            # front to redirect to or to trust. Chromium keeps the Secure session
            # and CSRF cookies on http://127.0.0.1 (a potentially trustworthy
            # origin), so production's cookie settings stay as they are.
            "SECURE_SSL_REDIRECT": "0",
            "TRUSTED_PROXY_COUNT": "0",
            # The sweep leaves a mail younger than this to its own task and waits
            # this long before its first retry: a minute by default; ten seconds
            # here, so that a fault ends in delivery within one or two of beat's
            # one-minute sweeps rather than several.
            "OUTBOX_RETRY_AFTER_SECONDS": "10",
            # A mail a dead worker was sending is sent again after the sending
            # timeout (15 minutes by default); 45 seconds here, and SMTP
            # waits short enough that no conversation outlasts it (the
            # outbox's system check asks for that), so a killed worker's mail
            # comes within a sweep or two.
            "OUTBOX_SENDING_TIMEOUT_SECONDS": "45",
            "EMAIL_TIMEOUT": "3",
            "EMAIL_DATA_TIMEOUT": "10",
            "TWEETUP_BUILD_DIR": str(BUILD_DIR),
            # The processes read no .env of the checkout: all they get is here.
            "PORT": str(self.port),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            # More than one worker, so that state kept in one process's memory
            # (a cache, a count) shows up as a defect; few enough for two cores
            # that run Chromium too.
            "WEB_CONCURRENCY": "3",
        }

    def _start(self, name: str, command: list[str], *, log_name: str | None = None) -> Process:
        process = Process(
            name,
            [shutil.which(command[0]), *command[1:]],
            env=self.env,
            log_dir=self.log_dir,
            log_name=log_name or name,
        )
        self.processes[name] = process
        return process

    def _site_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/", timeout=5) as page:  # noqa: S310
                return page.status == 200
        except OSError:
            return False

    def _forget_old_runs(self) -> None:
        """Drop the databases and logs of earlier runs whose process is gone."""
        for name in self._databases():
            pid = name.removeprefix(DATABASE_PREFIX)
            if pid.isdigit() and not _pid_alive(int(pid)):
                self._drop_database(name)
        runs = sorted(
            (ACCEPTANCE_DIR / "logs").glob("run-*"), key=lambda path: path.stat().st_mtime
        )
        finished = [run for run in runs if not _pid_alive(int(run.name.removeprefix("run-")))]
        # Keep the last few runs' logs to read after a failure.
        for run in finished[:-3]:
            shutil.rmtree(run, ignore_errors=True)

    # PostgreSQL

    def _admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(**POSTGRES, dbname="postgres", autocommit=True)

    def _databases(self) -> list[str]:
        with self._admin_connection() as connection:
            rows = connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (DATABASE_PREFIX + "%",),
            ).fetchall()
        return [name for (name,) in rows]

    def _create_database(self) -> None:
        self._drop_database(self.database)
        with self._admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')

    def _drop_database(self, name: str) -> None:
        with self._admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def query(self, sql: str, params=()) -> list[tuple]:
        """Rows from the run's database (autocommit); an empty list for a statement."""
        with psycopg.connect(**POSTGRES, dbname=self.database, autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    # The site's processes

    def manage(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        """``manage.py`` from the runtime venv under the production settings."""
        result = subprocess.run(  # noqa: S603
            [str(VENV / "bin" / "python"), "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and result.returncode:
            pytest.fail(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def setting(self, name: str) -> str:
        """A setting as the site's processes read it (text), through ``manage.py shell``."""
        code = f"from django.conf import settings; print('setting=' + str(settings.{name}))"
        output = self.manage("shell", "-c", code).stdout
        return output.rsplit("setting=", 1)[1].strip()

    def worker_start(self) -> None:
        """Return once a Celery worker started since the last ``worker_kill`` is ready.

        supervisord starts the worker again by itself; this starts it if
        supervisord gave up on it.
        """
        worker = self.processes["worker"]
        if not worker.alive:
            worker.start()
        worker.wait_ready(
            lambda: worker.log().count(" ready.") > self._ready_before_kill,
            timeout=90,
            what="the Celery worker to be ready",
        )

    def mend(self) -> None:
        """Undo what a test broke: mail accepted again, Redis and a live worker running."""
        self.mail.accept()
        self.mail.release()
        process = self.processes.get("redis")
        if process is None or not process.alive:
            if process is not None:
                self.processes.pop("redis").stop()
            self.redis_start()
        self.worker_start()

    def worker_kill(self) -> None:
        """SIGKILL the worker and its pool processes, as an out-of-memory kill does."""
        worker = self.processes["worker"]
        self._ready_before_kill = worker.log().count(" ready.")
        worker.kill()

    def supervisor_log(self) -> str:
        """What supervisord said: each program's start, exit and start again."""
        return self.supervisor.said() if self.supervisor else ""

    def redis_start(self) -> None:
        """The suite's Redis on its port, empty (nothing saved, nothing appended)."""
        self._start(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.log_dir),
            ],
        )
        self.processes["redis"].wait_ready(
            self._redis_answers, timeout=20, what="the suite's Redis to answer"
        )

    def redis_stop(self) -> None:
        self.processes.pop("redis").stop()
        wait_until(
            lambda: not port_answers("127.0.0.1", self.redis_port),
            timeout=10,
            what="the suite's Redis to stop",
        )

    def _redis(self, db: int) -> redis.Redis:
        return redis.Redis(port=self.redis_port, db=db, socket_connect_timeout=1)

    def _redis_answers(self) -> bool:
        try:
            with self._redis(0) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def forget_rate_limits(self) -> None:
        """Drop django-ratelimit's counts (keys ``rl:…`` of the cache's database)."""
        if "redis" not in self.processes:
            return
        with self._redis(1) as client:
            keys = list(client.scan_iter(match="*rl:*"))
            if keys:
                client.delete(*keys)

    # What the processes said

    def mark(self) -> int:
        """A point in gunicorn's log, for ``server_errors``."""
        return self.processes["gunicorn"].log_path.stat().st_size

    def server_errors(self, since: int) -> list[str]:
        """The site's access lines of requests answered with a 500 since ``mark()``."""
        with self.processes["gunicorn"].log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        # request_failed or request_finished, plain (code=500) or JSON ("code": 500).
        return [line for line in text.splitlines() if re.search(r'\bcode(=|": )500\b', line)]

    def logs_tail(self, lines: int = 40) -> str:
        parts = [f"Logs in {self.log_dir}"]
        for name, process in self.processes.items():
            parts.append(f"--- {name} ({process.log_path.name}) ---\n{process.tail(lines)}")
        said = "\n".join(self.supervisor_log().splitlines()[-lines:])
        parts.append(f"--- supervisord (supervisord.log) ---\n{said}")
        return "\n".join(parts)
