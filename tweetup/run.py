"""`make run`: the Procfile's web server, Celery worker and beat, through honcho.

Uses the Redis at CELERY_BROKER_URL when it answers; otherwise Celery runs on
a file-system broker under var/broker (and beat on its file scheduler), so
that the worker and beat still work. Each process's lines are printed with its
name; Ctrl-C stops them all. A process that stops on its own stops the others
too, loudly: `make run` is for a developer, who restarts it (production keeps
its processes running under a supervisor, README "Production").
"""

import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

BASE_DIR = Path(__file__).resolve().parent.parent
PROCFILE = BASE_DIR / "Procfile"
STOPPED = re.compile(r"^(?P<name>\S+) stopped \(rc=(?P<rc>-?\d+)\)")


def var_dir() -> Path:
    """Where the broker's files, the mail files and beat's schedule go (TWEETUP_VAR_DIR)."""
    return Path(os.environ.get("TWEETUP_VAR_DIR") or BASE_DIR / "var")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def procfile() -> dict[str, str]:
    """The Procfile's processes: name -> command line."""
    return dict(parse_procfile(PROCFILE.read_text()).processes)


def configure_environment() -> dict[str, str]:
    env = dict(os.environ)
    var = var_dir()
    # The Procfile names programs (gunicorn, celery): those of this interpreter's venv.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("DJANGO_SETTINGS_MODULE", "tweetup.settings.local")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    # The Procfile's gunicorn, for one developer: on this machine only, two processes.
    env.setdefault("GUNICORN_BIND", f"127.0.0.1:{port}")
    env.setdefault("WEB_CONCURRENCY", "2")
    env.setdefault("CELERY_WORKER_CONCURRENCY", "2")
    env.setdefault("CELERY_BEAT_SCHEDULE_FILENAME", str(var / "celerybeat-schedule"))
    # Compiled catalogues and collected files of `make run` (tweetup.settings.base).
    env.setdefault("TWEETUP_BUILD_DIR", str(var / "build"))
    broker = env.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    if broker.startswith("redis") and not redis_answers(broker):
        folders = {name: var / "broker" / name for name in ("in", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CELERY_BROKER_TRANSPORT_OPTIONS"] = json.dumps(
            {
                "data_folder_in": str(folders["in"]),
                "data_folder_out": str(folders["in"]),
                "processed_folder": str(folders["processed"]),
                "control_folder": str(folders["control"]),
                "store_processed": False,
            }
        )
        print(
            f"No Redis answers at {broker}: Celery tasks go through a file-system broker "
            f"in {var / 'broker'} instead (worker and beat still run; beat keeps its "
            f"schedule in {env['CELERY_BEAT_SCHEDULE_FILENAME']}, and nothing stops a second "
            "beat). Start Redis or set CELERY_BROKER_URL to use it.",
            flush=True,
        )
    else:
        print(f"Celery broker: {broker}", flush=True)
    if env.get("EMAIL_HOST"):
        print(f"Mail is sent through {env['EMAIL_HOST']}:{env.get('EMAIL_PORT', '25')}.")
    else:
        mail_dir = env.setdefault("EMAIL_FILE_PATH", str(var / "mail"))
        Path(mail_dir).mkdir(parents=True, exist_ok=True)
        print(
            f"Mail is not sent (no EMAIL_HOST): each mail is written to {mail_dir} "
            "and listed in the admin's outbox.",
            flush=True,
        )
    return env


class RunPrinter(Printer):
    """honcho's printer, plain (no colours), which notes what the manager said.

    It records the first process that stopped before anyone asked (a crash)
    and, once everything has started, prints the site's address when it
    answers.
    """

    def __init__(self, site: str) -> None:
        super().__init__(sys.stdout, colour=False)
        self.site = site
        self.interrupted = False
        self.crashed: tuple[str, str] | None = None
        self._announcer: threading.Thread | None = None
        self._lock = threading.Lock()

    def write(self, message) -> None:
        if message.name == "system" and isinstance(message.data, str):
            if message.data.endswith(" received\n"):
                self.interrupted = True
            found = STOPPED.match(message.data)
            if found and not self.interrupted and self.crashed is None:
                self.crashed = (found["name"], found["rc"])
        if self._announcer is None:
            # Started after honcho forked its processes: a thread before a fork is unsafe.
            self._announcer = threading.Thread(target=self._announce, daemon=True)
            self._announcer.start()
        with self._lock:
            super().write(message)

    def _announce(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (self.interrupted or self.crashed):
            try:
                with urllib.request.urlopen(self.site, timeout=2):  # noqa: S310 - our own site
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.5)
        else:
            return
        with self._lock:
            print(
                f"\n    TweetUp is at {self.site} (admin: {self.site}admin/). "
                "Ctrl-C stops everything.\n",
                file=self.output,
                flush=True,
            )


def how_it_ended(returncode: int) -> str:
    """An exit status in words; the shell running a Procfile line reports a signal as 128+N."""
    number = -returncode if returncode < 0 else returncode - 128
    if number > 0 and returncode not in range(1, 129):
        return f"killed by {signal.Signals(number).name}"
    return f"exit status {returncode}"


def main() -> int:
    env = configure_environment()
    site = f"http://127.0.0.1:{env.get('PORT', '8000')}/"
    printer = RunPrinter(site)
    manager = Manager(printer=printer)
    for name, command in procfile().items():
        manager.add_process(name, command, env=env, cwd=str(BASE_DIR))
    manager.loop()
    if printer.crashed is None:
        print("Stopped.", flush=True)
        return 0
    name, returncode = printer.crashed
    print(
        f"\n*** The {name} process stopped on its own ({how_it_ended(int(returncode))}): "
        f"make run stopped the others too. Its last lines above, prefixed '{name}', say "
        "why. ***",
        file=sys.stderr,
        flush=True,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
