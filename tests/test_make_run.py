"""`make run`'s launcher (tweetup/run.py): Redis or not, mail or not, Ctrl-C stops everything."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support import free_port, wait_until
from tweetup import run

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


def children_of(pid: int) -> list[int]:
    result = subprocess.run(  # noqa: S603
        ["ps", "-o", "pid=", "--ppid", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(line) for line in result.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def interrupt_like_a_terminal(launcher: subprocess.Popen) -> None:
    """Ctrl-C: SIGINT to the whole foreground process group."""
    os.killpg(launcher.pid, signal.SIGINT)


def terminate_the_launcher_only(launcher: subprocess.Popen) -> None:
    """`kill PID` or a process manager: SIGTERM to the launcher alone, which stops the rest."""
    launcher.terminate()


@pytest.mark.integration
@pytest.mark.parametrize("stop", [interrupt_like_a_terminal, terminate_the_launcher_only])
def test_stopping_make_run_stops_the_server_the_worker_and_beat(launcher_env, tmp_path, stop):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.local",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "TWEETUP_VAR_DIR": str(launcher_env),
    }
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    log = (tmp_path / "run.log").open("wb")
    launcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tweetup.run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        children = wait_until(
            lambda: len(children_of(launcher.pid)) == 3 and children_of(launcher.pid),
            timeout=30,
            what="the server, the worker and beat to start",
        )

        def site_answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:  # noqa: S310
                    return page.status == 200
            except OSError:
                return False

        wait_until(site_answers, timeout=60, what="the site to answer")
        stop(launcher)
        assert launcher.wait(timeout=30) == 0
        wait_until(
            lambda: not any(alive(pid) for pid in children),
            timeout=15,
            what="every process to stop",
        )
    finally:
        # Whatever happened, leave no process of this test behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=10)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert output.count("No Redis answers") == 1
    assert "Stopped." in output
