"""Celery tuned for loss and speed: what a dead worker costs, and how long a task may run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SECRETS = {
    "SECRET_KEY": "celery-settings-test-0123456789abcdefghijklmnopqrstuvwxyz-0123456789",
    "ALLOWED_HOSTS": "tweetup.example.org",
    "DATABASE_URL": "sqlite://:memory:",
    "EMAIL_HOST": "smtp.example.org",
}


def celery_conf(**variables: str) -> dict:
    """Celery's configuration as a production process reads it from ``variables``."""
    code = (
        "import django, json; django.setup(); from tweetup.celery import app; "
        "names = ('broker_transport_options', 'task_acks_late', 'task_reject_on_worker_lost', "
        "'worker_prefetch_multiplier', 'worker_disable_prefetch', 'task_soft_time_limit', "
        "'task_time_limit', 'beat_scheduler', 'worker_concurrency', 'beat_max_loop_interval', "
        "'redbeat_lock_timeout'); "
        "print(json.dumps({name: app.conf[name] for name in names}))"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            **environment,
            **SECRETS,
            "DJANGO_SETTINGS_MODULE": "tweetup.settings.production",
            **variables,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production() -> dict:
    return celery_conf()


def test_a_dead_workers_task_runs_again_after_the_longest_task_not_after_an_hour(production):
    visibility = production["broker_transport_options"]["visibility_timeout"]
    # Acknowledged once run, so a worker that dies loses nothing...
    assert production["task_acks_late"] and production["task_reject_on_worker_lost"]
    # ...and Redis hands its task on once no live worker could still be running it.
    assert production["task_time_limit"] < visibility <= production["task_time_limit"] + 120
    assert visibility < 3600, "Kombu's default keeps a dead worker's task an hour"


def test_no_task_outlives_the_outbox_sending_timeout(production):
    """The sweep sends again a mail left `sending` that long: no live task may still hold it."""
    assert production["task_soft_time_limit"] < production["task_time_limit"]
    assert production["task_time_limit"] < 900  # OUTBOX_SENDING_TIMEOUT_SECONDS' default
    # The longest task, a send, fits in the soft limit: each exchange and the answer to the data.
    assert 5 * 20 + 600 < production["task_soft_time_limit"]


def test_a_worker_takes_a_task_only_when_a_process_is_free(production):
    assert production["worker_prefetch_multiplier"] == 1
    assert production["worker_disable_prefetch"] is True


def test_broker_options_from_the_environment_are_added_to_the_sites(production):
    assert production["broker_transport_options"]["max_retries"] == 0
    given = celery_conf(
        CELERY_BROKER_TRANSPORT_OPTIONS=json.dumps({"visibility_timeout": 1200, "x": 1}),
        CELERY_TASK_TIME_LIMIT="1100",
        CELERY_WORKER_CONCURRENCY="3",
    )
    assert given["broker_transport_options"] == {
        "max_retries": 0,
        "visibility_timeout": 1200,
        "x": 1,
    }
    assert given["task_time_limit"] == 1100 and given["worker_concurrency"] == 3


def test_beat_keeps_its_schedule_and_lock_in_redis_and_in_a_file_without_it(production):
    assert production["beat_scheduler"] == "tweetup.celery:RedBeatScheduler"
    # A waiting beat looks at the lock every 10 s; a dead holder's lock lapses in a minute.
    assert production["beat_max_loop_interval"] == 10
    assert production["redbeat_lock_timeout"] == 60
    assert celery_conf(CELERY_BROKER_URL="filesystem://")["beat_scheduler"] == (
        "tweetup.celery:Scheduler"
    )
