"""`make run`'s launcher (tweetup/run.py): Redis or not, mail or not, Ctrl-C stops everything."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import alive, descendants, procfile_programs
from tests.support import free_port, wait_until
from tweetup import run

PROCFILE_NAMES = ("web", "worker", "beat")

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def launcher_env(tmp_path, monkeypatch):
    """The environment of a fresh clone: nothing set but the launcher's folder."""
    for name in ("CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "EMAIL_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("EMAIL_FILE_PATH", raising=False)
    monkeypatch.setenv("TWEETUP_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_without_redis_tasks_go_through_a_file_broker_and_it_says_so_once(
    launcher_env, monkeypatch, capsys
):
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    env = run.configure_environment()
    out = capsys.readouterr().out
    assert out.count("No Redis answers") == 1
    assert str(launcher_env / "broker") in out
    assert env["CELERY_BROKER_URL"] == "filesystem://"
    options = json.loads(env["CELERY_BROKER_TRANSPORT_OPTIONS"])
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_dir()
        assert Path(options[key]).is_relative_to(launcher_env)
    # Without EMAIL_HOST each mail is a file in a folder named on start-up.
    assert env["EMAIL_FILE_PATH"] == str(launcher_env / "mail")
    assert f"each mail is written to {launcher_env / 'mail'}" in out


def test_with_redis_answering_it_is_the_broker(
    launcher_env, machine_redis_url, monkeypatch, capsys
):
    monkeypatch.setenv("CELERY_BROKER_URL", machine_redis_url)
    env = run.configure_environment()
    assert env["CELERY_BROKER_URL"] == machine_redis_url
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" not in env
    assert "No Redis answers" not in capsys.readouterr().out


def test_email_host_alone_sends_mail_through_that_smtp_server(launcher_env, monkeypatch, capsys):
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.org")
    env = run.configure_environment()
    assert "Mail is sent through smtp.example.org:25." in capsys.readouterr().out
    assert "EMAIL_FILE_PATH" not in env
    # The settings `make run` uses pick the SMTP mailer from that variable alone.
    code = "import django; django.setup(); from django.conf import settings; " + (
        "import json; print(json.dumps(settings.MAILERS['default']))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "tweetup.settings.local"},
        capture_output=True,
        text=True,
        check=True,
    )
    mailer = json.loads(result.stdout.strip().splitlines()[-1])
    assert mailer["BACKEND"] == "notifications.mail.SmtpEmailBackend"
    assert (mailer["OPTIONS"]["host"], mailer["OPTIONS"]["port"]) == ("smtp.example.org", 25)


def interrupt_like_a_terminal(launcher: subprocess.Popen) -> None:
    """Ctrl-C: SIGINT to the whole foreground process group."""
    os.killpg(launcher.pid, signal.SIGINT)


def terminate_the_launcher_only(launcher: subprocess.Popen) -> None:
    """`kill PID` or a process manager: SIGTERM to the launcher alone, which stops the rest."""
    launcher.terminate()


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database migrated once for the module's launches, which each copy it."""
    path = tmp_path_factory.mktemp("make-run-db") / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{path}",
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.local",
    }
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    return path


@contextlib.contextmanager
def make_run_launcher(launcher_env, tmp_path, migrated_sqlite):
    """`python -m tweetup.run` on a migrated database, once the site answers; killed at the end.

    Yields the launcher, its log's path and the pids of the Procfile's three
    programs (by name).
    """
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.local",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "TWEETUP_VAR_DIR": str(launcher_env),
    }
    shutil.copyfile(migrated_sqlite, tmp_path / "db.sqlite3")
    log_path = tmp_path / "run.log"
    log = log_path.open("wb")
    launcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tweetup.run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:

        def programs() -> dict[str, int]:
            if launcher.poll() is not None:
                pytest.fail(f"the launcher stopped:\n{log_path.read_text()}")
            found = procfile_programs(launcher.pid)
            return found if len(found) == 3 else {}

        def site_answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:  # noqa: S310
                    return page.status == 200
            except OSError:
                return False

        wait_until(site_answers, timeout=60, what="the site to answer")
        started = wait_until(programs, timeout=30, what="the server, the worker and beat")
        wait_until(
            lambda: all(
                text in log_path.read_text()
                for text in ("TweetUp is at", " ready.", "beat: Starting...")
            ),
            timeout=60,
            what="the site's address, the worker ready and beat started",
        )
        yield launcher, log_path, started
    finally:
        # Whatever happened, leave no process of this test behind.
        for pid in [launcher.pid, *descendants(launcher.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=10)
        log.close()


@pytest.mark.integration
@pytest.mark.parametrize("stop", [interrupt_like_a_terminal, terminate_the_launcher_only])
def test_stopping_make_run_stops_the_server_the_worker_and_beat(
    launcher_env, tmp_path, migrated_sqlite, stop
):
    with make_run_launcher(launcher_env, tmp_path, migrated_sqlite) as (launcher, log_path, _):
        everything = descendants(launcher.pid)
        stop(launcher)
        assert launcher.wait(timeout=30) == 0
        wait_until(
            lambda: not any(alive(pid) for pid in everything),
            timeout=15,
            what="every process to stop",
        )
    output = log_path.read_text()
    assert output.count("No Redis answers") == 1
    assert "Stopped." in output
    # The Procfile's processes, each line prefixed with its name; the address last.
    for name in PROCFILE_NAMES:
        assert re.search(rf"^\d\d:\d\d:\d\d {name} +\| ", output, re.MULTILINE), name
    assert "TweetUp is at http://127.0.0.1:" in output


@pytest.mark.integration
def test_a_process_that_dies_stops_make_run_loudly(launcher_env, tmp_path, migrated_sqlite):
    """Nothing keeps running half-dead: the others stop, and the output names the dead one."""
    with make_run_launcher(launcher_env, tmp_path, migrated_sqlite) as (
        launcher,
        log_path,
        programs,
    ):
        everything = descendants(launcher.pid)
        os.kill(programs["worker"], signal.SIGKILL)
        assert launcher.wait(timeout=30) == 1
        wait_until(
            lambda: not any(alive(pid) for pid in everything),
            timeout=15,
            what="the other processes to stop",
        )
    output = log_path.read_text()
    assert "*** The worker process stopped on its own (killed by SIGKILL)" in output
    assert "Stopped." not in output


def test_make_run_gives_its_processes_the_local_settings_when_none_are_set():
    """Importing the launcher imports the tweetup package (and its Celery app)
    first: nothing on the way may set a settings module of its own."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "from tweetup import run; "
            "print('settings:', run.configure_environment()['DJANGO_SETTINGS_MODULE'])",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "settings: tweetup.settings.local" in result.stdout
