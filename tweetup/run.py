"""`make run`: the web server, a Celery worker and beat, stopped together by Ctrl-C.

Uses the Redis at CELERY_BROKER_URL when it answers; otherwise Celery runs on
a file-system broker under var/broker so that the worker and beat still work.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
# The worker consumes the default queue (mail) and beat's own queue: the
# settings' CELERY_TASK_DEFAULT_QUEUE and CELERY_PERIODIC_QUEUE.
WORKER_QUEUES = ("celery", "periodic")


def var_dir() -> Path:
    """Where the broker's files, the mail files and beat's schedule go (TWEETUP_VAR_DIR)."""
    return Path(os.environ.get("TWEETUP_VAR_DIR") or BASE_DIR / "var")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def configure_environment() -> dict[str, str]:
    env = dict(os.environ)
    var = var_dir()
    env.setdefault("DJANGO_SETTINGS_MODULE", "tweetup.settings.local")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
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
            f"in {var / 'broker'} instead (worker and beat still run). "
            "Start Redis or set CELERY_BROKER_URL to use it.",
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


def main() -> int:
    env = configure_environment()
    port = env.get("PORT", "8000")
    python = sys.executable
    commands = [
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        [python, "-m", "celery", "-A", "tweetup", "worker", "-Q", ",".join(WORKER_QUEUES)]
        + ["-l", "INFO", "-c", "2"],
        [
            python,
            "-m",
            "celery",
            "-A",
            "tweetup",
            "beat",
            "-l",
            "INFO",
            "-s",
            str(var_dir() / "celerybeat-schedule"),
        ],
    ]
    processes = [subprocess.Popen(command, cwd=BASE_DIR, env=env) for command in commands]  # noqa: S603
    print(f"TweetUp is at http://127.0.0.1:{port}/ — Ctrl-C stops everything.", flush=True)

    def stop(*_args) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    try:
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.5)
    finally:
        stop()
    if stopping:
        print("Stopped.", flush=True)
        return 0
    print("A process stopped on its own; the others were stopped too.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
