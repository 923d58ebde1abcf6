"""Health endpoints for load balancers and monitoring (README, "Watching it").

``/healthz`` (liveness) answers 200 while the process answers requests, and
touches nothing else. ``/healthz/ready`` (readiness) checks what the site
needs and answers 200, or 503 naming what fails, in JSON:

- ``database``: one query, which also reads the oldest unsent mail;
- ``outbox``: that mail is younger than HEALTH_OUTBOX_MAX_AGE;
- ``beat``: beat's ``beat-heartbeat`` task ran less than HEALTH_BEAT_MAX_AGE
  ago (one query): beat sends its tasks and a worker runs the periodic queue;
- ``cache``: the cache answers (a PING to its Redis, or a value written and
  read back from another backend);
- ``broker``: the Celery broker answers (a PING to its Redis, or a connection).

Each check names an exception by its type only: the answer is public and
holds no address, host or personal data; the full error goes to the log,
once each time the set of failing checks changes. A check waits at most
HEALTH_CHECK_TIMEOUT seconds on Redis.

``EndpointsMiddleware`` answers these (and ``/metrics``) before any other
middleware: a load balancer calls by address, over plain HTTP, every few
seconds, so these answers skip ALLOWED_HOSTS, the HTTPS redirect, sessions,
rate limits and the access log.
"""

import functools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from django_redis.cache import RedisCache

from notifications.selectors import unsent_oldest_created_at

from . import metrics
from .models import Heartbeat

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/healthz/ready"


class ProbeFailed(Exception):
    """A check found its service answering, but not as it should."""


def heartbeat_record(*, source: str = Heartbeat.Source.BEAT) -> None:
    """Record that ``source`` runs now (one row per source, updated in place)."""
    Heartbeat.objects.update_or_create(source=source, defaults={"beat_at": timezone.now()})


# Checks --------------------------------------------------------------------


def _run(check: Callable[[], dict | None]) -> tuple[dict, Exception | None]:
    started = time.perf_counter()
    error = None
    try:
        result = {"ok": True, **(check() or {})}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        error = exc
        detail = str(exc) if isinstance(exc, ProbeFailed) else type(exc).__name__
        result = {"ok": False, "error": detail}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result, error


def _age_seconds(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(int((now - moment).total_seconds()), 0)


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """A client of the Redis at ``url`` that waits at most HEALTH_CHECK_TIMEOUT seconds."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def is_redis_url(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def check_cache() -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # django-redis turns an outage into misses (IGNORE_EXCEPTIONS): ask its Redis.
        backend.client.get_client(write=True).ping()
        return
    key = f"tweetup:healthz:{uuid.uuid4().hex}"
    backend.set(key, "ok", timeout=5)
    if backend.get(key) != "ok":
        raise ProbeFailed("the cache keeps nothing")


def check_broker() -> None:
    from .celery import app

    url = app.conf.broker_url
    if is_redis_url(url):
        redis_client(url).ping()
        return
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=settings.HEALTH_CHECK_TIMEOUT)


def readiness_checks() -> dict[str, dict]:
    """Every check's result: ``ok`` (true, false, or null when not made), details, ``ms``."""
    now = timezone.now()
    checks: dict[str, dict] = {}
    errors: dict[str, Exception] = {}

    # One query answers for the database and the outbox.
    checks["database"], errors["database"] = _run(
        lambda: {"oldest_unsent": unsent_oldest_created_at()}
    )
    oldest = checks["database"].pop("oldest_unsent", None)
    if checks["database"]["ok"]:
        age = _age_seconds(oldest, now)
        limit = int(settings.HEALTH_OUTBOX_MAX_AGE.total_seconds())
        checks["outbox"] = {
            "ok": age is None or age <= limit,
            "oldest_unsent_seconds": age,
            "max_seconds": limit,
        }

        def beat() -> dict:
            beat_at = (
                Heartbeat.objects.filter(source=Heartbeat.Source.BEAT)
                .values_list("beat_at", flat=True)
                .first()
            )
            age = _age_seconds(beat_at, now)
            limit = int(settings.HEALTH_BEAT_MAX_AGE.total_seconds())
            return {
                "ok": age is not None and age <= limit,
                "last_beat_seconds": age,
                "max_seconds": limit,
            }

        checks["beat"], errors["beat"] = _run(beat)
    else:
        checks["outbox"] = {"ok": None, "error": "needs the database"}
        checks["beat"] = {"ok": None, "error": "needs the database"}

    checks["cache"], errors["cache"] = _run(check_cache)
    checks["broker"], errors["broker"] = _run(check_broker)
    _log_changes(checks, errors)
    return checks


_last_failing: tuple[str, ...] = ()


def _log_changes(checks: dict[str, dict], errors: dict[str, Exception | None]) -> None:
    """Log the failing checks once each time they change, not at every probe."""
    global _last_failing
    failing = tuple(name for name, result in checks.items() if result["ok"] is False)
    if failing == _last_failing:
        return
    _last_failing = failing
    if not failing:
        logger.info("Readiness: every check passes again.")
        return
    for name in failing:
        error = errors.get(name)
        logger.warning(
            "Readiness: %s fails: %s",
            name,
            f"{type(error).__name__}: {error}" if error else checks[name],
        )


# Views -----------------------------------------------------------------------


def _answer(payload: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@require_safe
def liveness(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is looked at."""
    return _answer({"status": "ok"})


@require_safe
def readiness(request: HttpRequest) -> HttpResponse:
    """200 when every check passes; 503 with the names of those that fail."""
    checks = readiness_checks()
    failing = [name for name, result in checks.items() if result["ok"] is False]
    return _answer(
        {"status": "fail" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )


class EndpointsMiddleware:
    """Answer ``/healthz``, ``/healthz/ready`` and ``/metrics`` before any other middleware.

    First in MIDDLEWARE: the load balancer and Prometheus call each process
    by its address (no host from ALLOWED_HOSTS), over plain HTTP, every few
    seconds. The answers name no host and build no link, so they skip the
    host check, the HTTPS redirect, sessions, rate limits, the request
    metrics and the access log. ``/metrics`` is answered only when
    METRICS_TOKEN is set; otherwise it is a page like any other (a 404).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/") or "/"
        if path == LIVENESS_PATH:
            return liveness(request)
        if path == READINESS_PATH:
            return readiness(request)
        if path == metrics.METRICS_PATH and settings.METRICS_TOKEN:
            return metrics.export(request)
        return self.get_response(request)
