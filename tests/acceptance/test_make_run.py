"""`make run` on a fresh clone, as a newcomer runs it: it serves, mails and stops.

tests/test_make_run.py drives the launcher in-process, in the dev virtual
environment, where a package that only the test tools bring hides a missing
runtime one. Here the committed HEAD is cloned into a temporary folder (no
.venv, no var/, no db.sqlite3), `make run` builds its own virtual environment
from requirements.lock, and the site is used over HTTP as a browser uses it,
once with the machine's Redis as the broker and once with no Redis at all.
"""

import contextlib
import email
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import redis

from contests.forms import EntryForm
from tests.conftest import need
from tests.html_forms import BrowserForm
from tests.processes import alive, command_line, descendants, parent, procfile_programs
from tests.support import MACHINE_REDIS, free_port, port_answers, wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
SERVING_SECONDS = 60
CONTEST_PATH = "/contests/cern-tweetup/"
# The machine's Redis is shared: `make run` gets a database number no other
# suite uses, flushed before and after.
MACHINE_REDIS_DB = 11
# What a new terminal passes on: where programs and Pythons are and pip's
# configuration, nothing of this project's own environment (settings module,
# database, broker, virtual environment).
PASSED_ON = {"HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"}
PASSED_ON_PREFIXES = ("PIP_", "PYENV", "SSL_CERT_")
# Django's file mail backend separates the messages of one file with this line.
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory) -> Path:
    """The committed HEAD, cloned once per session so that `make run` builds .venv once."""
    need(bool(shutil.which("git") and shutil.which("make")), "git and make are not installed")
    clone = tmp_path_factory.mktemp("fresh-clone") / "tweetup"
    subprocess.run(["git", "clone", "--quiet", str(BASE_DIR), str(clone)], check=True)
    return clone


def new_terminal_environment(**variables: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name in PASSED_ON or name.startswith(PASSED_ON_PREFIXES)
    }
    # No virtual environment is active in a new terminal.
    env["PATH"] = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not (Path(folder).parent / "pyvenv.cfg").exists()
    )
    return {**env, **variables}


def process_group(pgid: int) -> dict[int, int]:
    """The live (not zombie) processes of a process group: pid -> parent pid."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            state, ppid, group = fields[0], int(fields[1]), int(fields[2])
            if group == pgid and state != "Z":
                members[int(stat.parent.name)] = ppid
    return members


class MakeRun:
    """`make run` in its own process group, as in a terminal, its output in a file."""

    def __init__(self, clone: Path, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.make = subprocess.Popen(
                ["make", "run"],
                cwd=clone,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self) -> str:
        return "\n--- make run's output, last lines ---\n" + self.output[-4000:]

    def still_running(self) -> None:
        if self.make.poll() is not None:
            pytest.fail(f"make run stopped by itself (exit {self.make.returncode}){self.tail()}")

    def interrupt(self) -> None:
        """Ctrl-C in the terminal: SIGINT to the whole process group."""
        os.killpg(self.make.pid, signal.SIGINT)

    def kill(self) -> None:
        # honcho runs each Procfile line in a session of its own, outside make's group.
        below = descendants(self.make.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.make.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.make.wait(timeout=10)


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as page:  # noqa: S310
            return page.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code
    except OSError:
        return 0


def enter_the_open_contest(site: str, address: str) -> None:
    """Enter the demo's open contest as a person does in a browser, with its own cookies."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page_url = site + CONTEST_PATH
    with browser.open(page_url, timeout=10) as page:
        form = BrowserForm.parse(page.read().decode(), "entry-form")
    tokens = form.values("csrfmiddlewaretoken")
    assert len(tokens) == 1, f"the entry form holds {len(tokens)} CSRF tokens"
    data = form.data(
        {
            "name": "Nora Newcomer",
            "email": address,
            "twitter_handle": "@nora_newcomer",
            "country": "CH",
            "languages": ["en", "fr"],
            "background": "engineering",
            "motivation": "I set the site up from a fresh clone and want to see the LHC.",
            "language": "en",
            "publish_handle": True,
            "accept_rules": True,
        },
        submitter="submit",
    )
    assert set(EntryForm.base_fields) <= {name for name, _ in data}
    assert dict(data)["website"] == "", "the honeypot is left empty"
    request = urllib.request.Request(
        page_url,
        data=urllib.parse.urlencode(data).encode(),
        headers={"Origin": site, "Referer": page_url},
    )
    try:
        with browser.open(request, timeout=20) as answer:
            landed = answer.url
    except urllib.error.HTTPError as error:
        with contextlib.closing(error):
            pytest.fail(f"the entry was answered {error.code}: {error.read()[:2000]!r}")
    assert landed == page_url + "thanks/", f"the entry landed on {landed}"


def confirmation_mail(folder: Path, address: str, site: str) -> EmailMessage | None:
    """The entry's confirmation mail to ``address`` among the mail files, if it is there."""
    for path in sorted(folder.glob("*")):
        for raw in path.read_bytes().split(MAIL_SEPARATOR):
            message = email.message_from_bytes(raw.strip(), policy=default_policy)
            if message["To"] != address:
                continue
            if not str(message["X-TweetUp-Key"] or "").startswith("entry_confirm:"):
                continue
            text = message.get_body(preferencelist=("plain",))
            if text is not None and f"{site}/contests/confirm/" in text.get_content():
                return message
    return None


@pytest.fixture
def machine_redis_broker():
    need(port_answers(*MACHINE_REDIS), "no Redis answers at 127.0.0.1:6379")
    url = f"redis://127.0.0.1:6379/{MACHINE_REDIS_DB}"
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    try:
        yield url
    finally:
        connection.flushdb()
        connection.close()


@pytest.fixture
def no_redis_broker():
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.acceptance
@pytest.mark.timeout(480)  # the first run builds the virtual environment
@pytest.mark.parametrize(
    "broker", ["machine_redis_broker", "no_redis_broker"], ids=["machine-redis", "no-redis"]
)
def test_make_run_on_a_fresh_clone_serves_mails_and_stops_on_ctrl_c(
    fresh_clone, broker, request, tmp_path
):
    broker_url = request.getfixturevalue(broker)
    # A fresh clone, but for the virtual environment an earlier run built.
    subprocess.run(["git", "clean", "-fdxq", "-e", ".venv"], cwd=fresh_clone, check=True)
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    run = MakeRun(
        fresh_clone,
        tmp_path / "make-run.log",
        new_terminal_environment(PORT=str(port), CELERY_BROKER_URL=broker_url),
    )
    try:

        def serving() -> bool:
            run.still_running()
            return get_status(site + "/") == 200

        wait_until(serving, timeout=300, what="make run to build, set up and serve the site")
        output = run.output
        if broker == "no_redis_broker":
            assert output.count("No Redis answers") == 1, run.tail()
        else:
            assert f"Celery broker: {broker_url}" in output, run.tail()
        found = re.search(r"each mail is written to (\S+)", output)
        assert found, f"make run does not say where mail goes{run.tail()}"
        mail_folder = Path(found.group(1))

        launchers = [
            pid for pid in process_group(run.make.pid) if "tweetup.run" in command_line(pid)
        ]
        # honcho forks a watcher of each process from the launcher, with its command line.
        (launcher,) = [pid for pid in launchers if parent(pid) not in launchers]

        def programs() -> dict[str, int]:
            run.still_running()
            found = procfile_programs(launcher)
            return found if len(found) == 3 else {}

        processes = {
            "launcher": launcher,
            **wait_until(programs, timeout=30, what="the Procfile's three processes"),
        }

        address = f"nora.{broker.removesuffix('_broker').replace('_', '-')}@example.org"
        enter_the_open_contest(site, address)
        mail = None
        started = time.monotonic()
        while time.monotonic() - started < SERVING_SECONDS:
            run.still_running()
            stopped = [name for name, pid in processes.items() if not alive(pid)]
            seconds = time.monotonic() - started
            assert not stopped, f"stopped after {seconds:.0f} s: {stopped}{run.tail()}"
            for path in ("/", CONTEST_PATH):
                status = get_status(site + path)
                assert status == 200, f"{path} answered {status or 'nothing'}{run.tail()}"
            mail = mail or confirmation_mail(mail_folder, address, site)
            time.sleep(1)
        assert mail is not None, f"no confirmation mail to {address} in {mail_folder}{run.tail()}"
        # The address, said once everything had started.
        assert f"TweetUp is at {site}/" in run.output, run.tail()

        everything = descendants(run.make.pid)
        run.interrupt()
        run.make.wait(timeout=30)
        wait_until(
            lambda: not process_group(run.make.pid) and not any(alive(pid) for pid in everything),
            timeout=15,
            what="every process of make run to stop",
        )
        assert "Stopped." in run.output, run.tail()
    finally:
        # Whatever happened, leave no process of this test behind.
        run.kill()
