"""Exactly one beat: a second one waits for the lock in Redis, says so, and takes over."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.support import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent
LOCK_TIMEOUT = 4


class Beat:
    """``celery -A tweetup beat`` in a subprocess, against the test's own Redis."""

    def __init__(self, name: str, broker_url: str, log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.beat_settings",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
            "CELERY_BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_BEAT_SCHEDULER", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tweetup", "beat", "-l", "INFO"],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sent(self) -> int:
        return self.log().count("Sending due task outbox-sweep")

    def says(self, text: str) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"beat exited ({self.process.returncode}):\n{self.log()}")
        return text in self.log()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_second_beat_waits_for_the_first_and_takes_over_when_it_dies(private_redis, tmp_path):
    broker_url = f"redis://127.0.0.1:{private_redis.port}/0"
    queue = redis.Redis(port=private_redis.port)
    first = Beat("first", broker_url, tmp_path)
    beats = [first]
    try:
        wait_until(
            lambda: first.says("Holds the lock tweetup:beat:lock"),
            timeout=30,
            what="the first beat to take the lock",
        )
        second = Beat("second", broker_url, tmp_path)
        beats.append(second)
        wait_until(
            lambda: second.says("Another beat holds the lock tweetup:beat:lock: this one waits"),
            timeout=30,
            what="the second beat to say that it waits",
        )
        sent_before = first.sent()
        time.sleep(5)
        # One beat ticks: about one task a second, each published once.
        assert second.sent() == 0, second.log()
        assert first.sent() - sent_before >= 3, first.log()
        # Each published once (the last one may not be logged yet).
        assert queue.llen("periodic") - first.sent() in (0, 1), first.log()

        # Frozen first, so that what it published is counted before it dies:
        # a task published in the instant before its log line was written
        # is in the queue but not yet in the log.
        first.process.send_signal(signal.SIGSTOP)
        published_by_first = queue.llen("periodic")
        assert published_by_first - first.sent() in (0, 1), first.log()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        killed_at = time.monotonic()
        wait_until(
            lambda: second.says("Holds the lock tweetup:beat:lock") and second.sent() >= 2,
            timeout=LOCK_TIMEOUT + 15,
            what="the second beat to take over",
        )
        # The dead beat's lock expired; the second took it then, not before.
        assert time.monotonic() - killed_at >= LOCK_TIMEOUT - 1.5
        # Frozen too, then counted: the task in flight when it stopped may be
        # logged and not yet published, or published and not yet logged.
        second.process.send_signal(signal.SIGSTOP)
        published_by_second = queue.llen("periodic") - published_by_first
        assert published_by_second - second.sent() in (-1, 0, 1), second.log()
        second.process.send_signal(signal.SIGCONT)
        assert second.log().count("Another beat holds the lock") == 1, "said once"
    finally:
        for beat in beats:
            beat.stop()
        queue.close()
