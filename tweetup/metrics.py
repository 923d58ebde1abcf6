"""Prometheus metrics at ``/metrics``, for a scraper holding METRICS_TOKEN (README, "Watching it").

Counted by each web process as it answers (``RequestMetricsMiddleware``):

- ``tweetup_http_requests_total{method, status}`` and
  ``tweetup_http_request_duration_seconds{method}`` (a histogram).

Read from the database and the broker at each scrape (``SiteCollector``), so
any process gives the whole site's figures:

- ``tweetup_entries{state}``: entries unconfirmed, confirmed and invalidated;
- ``tweetup_outbox_messages{status}``: outbox rows by status;
- ``tweetup_outbox_oldest_unsent_age_seconds``: the oldest mail not sent yet
  (0 when none waits);
- ``tweetup_beat_heartbeat_age_seconds``: since beat's heartbeat task last ran;
- ``tweetup_celery_queue_length{queue}``: tasks waiting in each Celery queue
  (LLEN of the Redis lists, every priority counted);
- ``tweetup_metrics_source_up{source}``: 0 when a scrape could not read the
  database or the broker (their figures are then left out).

gunicorn runs several processes, each counting its own requests: with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty folder, emptied at each start)
every process writes its counts there and a scrape adds them all up
(prometheus-client's multiprocess mode).
"""

import hmac
import logging
import os
import time

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from kombu.transport.redis import PRIORITY_STEPS, Channel
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.django import PrometheusDjangoView
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# Methods a client may send are endless; labels must not be.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "tweetup_http_requests",
    "Requests answered, by method and status code.",
    ["method", "status"],
)
HTTP_DURATION = Histogram(
    "tweetup_http_request_duration_seconds",
    "Time to answer a request, by method.",
    ["method"],
)


class RequestMetricsMiddleware:
    """Count each request and time it; near the top of MIDDLEWARE, below the health endpoints."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(method, str(response.status_code)).inc()
        HTTP_DURATION.labels(method).observe(time.perf_counter() - started)
        return response


class SiteCollector(Collector):
    """The site's state, read at each scrape: a few indexed queries and one Redis pipeline."""

    def collect(self):
        up = GaugeMetricFamily(
            "tweetup_metrics_source_up",
            "Whether this scrape could read the source (1) or not (0).",
            labels=["source"],
        )
        for source, read in (("database", self._database), ("broker", self._broker)):
            try:
                families = list(read())
            except Exception:  # noqa: BLE001 - a scrape reports what it can read
                logger.warning("Metrics: could not read the %s.", source, exc_info=True)
                up.add_metric([source], 0)
            else:
                if families:
                    up.add_metric([source], 1)
                yield from families
        yield up

    def _database(self):
        from contests.models import Entry
        from notifications.models import OutboxMessage
        from notifications.selectors import unsent_oldest_created_at

        from .models import Heartbeat

        now = timezone.now()
        entries = GaugeMetricFamily("tweetup_entries", "Entries, by state.", labels=["state"])
        valid = Q(invalidated_at__isnull=True)
        counts = Entry.objects.aggregate(
            unconfirmed=Count("pk", filter=valid & Q(confirmed_at__isnull=True)),
            confirmed=Count("pk", filter=valid & Q(confirmed_at__isnull=False)),
            invalidated=Count("pk", filter=~valid),
        )
        for state, count in counts.items():
            entries.add_metric([state], count)
        yield entries

        outbox = GaugeMetricFamily(
            "tweetup_outbox_messages", "Outbox rows, by status.", labels=["status"]
        )
        by_status = dict.fromkeys(OutboxMessage.Status.values, 0)
        for row in OutboxMessage.objects.order_by().values("status").annotate(count=Count("pk")):
            by_status[row["status"]] = row["count"]
        for status, count in by_status.items():
            outbox.add_metric([status], count)
        yield outbox

        oldest = unsent_oldest_created_at()
        yield GaugeMetricFamily(
            "tweetup_outbox_oldest_unsent_age_seconds",
            "Age of the oldest mail not sent yet (pending or being sent); 0 when none waits.",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

        beat_at = (
            Heartbeat.objects.filter(source=Heartbeat.Source.BEAT)
            .values_list("beat_at", flat=True)
            .first()
        )
        if beat_at is not None:
            yield GaugeMetricFamily(
                "tweetup_beat_heartbeat_age_seconds",
                "Time since beat's heartbeat task last ran.",
                value=(now - beat_at).total_seconds(),
            )

    def _broker(self):
        from .celery import app
        from .health import is_redis_url, redis_client

        url = app.conf.broker_url
        if not is_redis_url(url):
            return
        queues = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_PERIODIC_QUEUE]
        # Kombu keeps a queue's tasks of each priority step in a list of its own.
        steps = app.conf.broker_transport_options.get("priority_steps", PRIORITY_STEPS)
        keys = {
            queue: [queue] + [f"{queue}{Channel.sep}{step}" for step in steps if step]
            for queue in queues
        }
        pipeline = redis_client(url).pipeline(transaction=False)
        for queue in queues:
            for key in keys[queue]:
                pipeline.llen(key)
        lengths = iter(pipeline.execute())
        family = GaugeMetricFamily(
            "tweetup_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for queue in queues:
            family.add_metric([queue], sum(next(lengths) for _key in keys[queue]))
        yield family


def registry() -> CollectorRegistry:
    """What a scrape reads: this process's request counts (or every process's), the site's state."""
    scraped = CollectorRegistry()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        MultiProcessCollector(scraped)
    else:
        scraped.register(REGISTRY)
    scraped.register(SiteCollector())
    return scraped


def export(request: HttpRequest) -> HttpResponse:
    """The metrics, to a request that carries ``Authorization: Bearer <METRICS_TOKEN>``."""
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    sent = request.headers.get("Authorization", "").encode()
    if not settings.METRICS_TOKEN or not hmac.compare_digest(sent, expected):
        return HttpResponseForbidden("Forbidden: send Authorization: Bearer <METRICS_TOKEN>.\n")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return PrometheusDjangoView.as_view(registry=registry())(request)
