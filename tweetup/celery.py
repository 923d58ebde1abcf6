"""The Celery application; configuration comes from Django settings (CELERY_*)."""

from pathlib import Path

import redis
from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import setup_logging, task_prerun
from celery.utils.log import get_logger
from django_structlog.celery.steps import DjangoStructLogInitStep
from redbeat import schedulers as redbeat
from redis.exceptions import LockNotOwnedError

# No default for DJANGO_SETTINGS_MODULE here: every import of the tweetup
# package runs this module first, so a default set here would win over the
# one of whoever imports it (manage.py and make run choose the local settings,
# wsgi.py production). A worker or beat is given the variable by the Procfile's
# environment (make run, supervisord), and Celery says so when it is missing.

app = Celery("tweetup")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's lines carry its id and the request id of the request that queued it.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def _log_as_the_site(**kwargs) -> None:
    """The worker and beat log through Django's LOGGING (tweetup.logs), not Celery's format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _check_database_connections(sender=None, **kwargs) -> None:
    """Replace a database connection kept from an earlier task if it no longer answers.

    CELERY_DB_REUSE_MAX keeps a worker's connection across tasks; the
    database may have closed it since (a restart, a failover, an idle
    timeout). What CONN_HEALTH_CHECKS does before a request, done before a task.
    """
    if getattr(sender.request, "is_eager", False):
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()


logger = get_logger("celery.beat")
HOLDS = "beat: Holds the lock %s: this beat sends the periodic tasks."


class Scheduler(PersistentScheduler):
    """Celery's file-backed beat scheduler, which makes the folder of its file.

    A fresh clone or a new server has no var/ yet, and beat would stop at start.
    Used without Redis (`make run` on the file-system broker): nothing then
    keeps a second beat from running.
    """

    def setup_schedule(self):
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


class RedBeatScheduler(redbeat.RedBeatScheduler):
    """celery-redbeat's scheduler, holding its lock so that exactly one beat sends tasks.

    The schedule (each entry's last run) lives in Redis, where every machine
    sees it. The beat that holds the lock (``CELERY_REDBEAT_KEY_PREFIX:lock``)
    sends the periodic tasks and renews it at each tick; any other beat says
    once that it waits, and looks again at each tick, so it takes over as soon
    as the first stops (which frees the lock) or dies (the lock expires after
    ``CELERY_BEAT_LOCK_TIMEOUT`` seconds). redbeat's own handling of the lock
    is replaced: it waits in silence at start, and ends beat when Redis
    answers no more or comes back empty. Here beat rides an outage out,
    takes the lock again, and stores its schedule again if Redis lost it.
    """

    def __init__(self, app, **kwargs):
        # redbeat looks for its settings by their own names, which the CELERY_
        # namespace of Django's settings hides from it: it would warn, and
        # pass no option to its Redis client.
        for name in ("redbeat_redis_url", "redbeat_redis_options"):
            app.conf[name] = app.conf.get(name)
        super().__init__(app, **kwargs)
        # Hidden from redbeat, whose start-up signal handler and tick would use it.
        self.beat_lock_key, self.lock_key = self.lock_key, None
        self._said = ""

    def tick(self, **kwargs):
        try:
            if not self._hold_lock():
                return self.max_interval
            self._restore_schedule()
            return super().tick(**kwargs)
        except redis.RedisError as error:
            self._say(
                "warning",
                "beat: Redis does not answer (%s): no periodic task is sent until it does.",
                error,
            )
            return self.max_interval

    def _hold_lock(self) -> bool:
        if self.lock is not None:
            try:
                self.lock.reacquire()
            except LockNotOwnedError:
                self._say(
                    "warning",
                    "beat: Lost the lock %s (Redis came back empty, or this beat stalled "
                    "for over %s s): taking it again if no other beat holds it.",
                    self.beat_lock_key,
                    self.lock_timeout,
                )
                self.lock = None
            else:
                self._say("info", HOLDS, self.beat_lock_key)
                return True
        lock = redbeat.get_redis(self.app).lock(self.beat_lock_key, timeout=self.lock_timeout)
        if lock.acquire(blocking=False):
            self.lock = lock
            self._say("info", HOLDS, self.beat_lock_key)
            return True
        self._say(
            "warning",
            "beat: Another beat holds the lock %s: this one waits, and takes over when "
            "that one stops (within %s s if it dies).",
            self.beat_lock_key,
            self.lock_timeout,
        )
        return False

    def _restore_schedule(self) -> None:
        conf = self.app.redbeat_conf
        if conf.schedule and not redbeat.get_redis(self.app).exists(conf.schedule_key):
            logger.warning(
                "beat: The schedule is gone from Redis (restarted empty?): storing it again."
            )
            self.setup_schedule()

    def _say(self, level: str, message: str, *args) -> None:
        """Log a state of the lock or of Redis once, not at every tick it lasts."""
        if message != self._said:
            self._said = message
            getattr(logger, level)(message, *args)

    def close(self):
        try:
            super().close()
        except redis.RedisError:
            # Redis is gone: the lock expires by itself.
            self.lock = None

    @property
    def info(self):
        return (
            f"{super().info}\n       . lock -> `{self.beat_lock_key}` "
            f"(expires {self.lock_timeout} s after its holder's last tick)"
        )
