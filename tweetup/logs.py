"""Logs an operator can follow, and error reports (README, "Watching it").

Every process (gunicorn, the Celery worker, beat, management commands) logs
in one format through structlog: the site's own lines and those of Django,
Celery and the other libraries (standard ``logging``) alike. Each line has
its time in UTC with its offset (ISO 8601), its level, its logger and what
is bound to the request or task it belongs to: ``request_id``, ``ip``,
``user_id`` (django-structlog's middleware, ``tweetup.access_log``),
``task_id`` and the ``request_id`` of the request that queued the task
(django-structlog's Celery step), ``outbox_id`` in the send task's lines.
``LOG_FORMAT=json`` writes one JSON object a line; the default is plain text,
for people reading ``make run``.

Imported by the settings: nothing here may touch Django's settings or apps
when the module is imported.
"""

import structlog

LOG_FORMATS = ("plain", "json")

# One clock for every process and machine: UTC, written with its offset.
_timestamper = structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%S.%f%:z", utc=True)


def _django_request_line(logger, method_name: str, event_dict: dict) -> dict:
    """Django's own lines about a request ("Not Found: /path"), written after it ended.

    They get the request's id, and the token of a signed link in their path
    is hidden as in the access line (``tweetup.access_log``).
    """
    record = event_dict.get("_record")
    request = getattr(record, "request", None)
    request_id = getattr(request, "request_id", None)
    if request_id:
        from .signed_links import redact_signed_links

        event_dict.setdefault("request_id", request_id)
        if isinstance(event_dict.get("event"), str):
            event_dict["event"] = redact_signed_links(event_dict["event"])
    return event_dict


# What every line gets, whether it comes from structlog or from standard logging.
_shared_processors = [
    structlog.contextvars.merge_contextvars,
    _django_request_line,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    _timestamper,
]


def configure_structlog() -> None:
    """Send structlog's lines through standard logging, where LOGGING formats them."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _formatter(*renderers) -> dict:
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": _shared_processors,
        "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
    }


def _formatters() -> dict:
    return {
        # Plain tracebacks, as in production: structlog would draw them with rich
        # when a dev tool has installed it, at a second of CPU per traceback.
        "plain": _formatter(
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        ),
        "json": _formatter(
            structlog.processors.format_exc_info, structlog.processors.JSONRenderer()
        ),
    }


def _check_format(log_format: str) -> None:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def logging_config(*, log_format: str, level: str, mail_admins: bool) -> dict:
    """The LOGGING setting: every line to standard error in ``log_format``.

    With ``mail_admins``, a request that ends in an unhandled exception, and
    a task that raises, is also mailed to ADMINS (Django's AdminEmailHandler,
    through the default mailer). A request for a host not in ALLOWED_HOSTS
    is logged but not mailed: scanners calling the server by its address
    would fill the admins' mailbox.
    """
    _check_format(log_format)
    mail = ["mail_admins"] if mail_admins else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": _formatters(),
        "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format},
            "mail_admins": {
                "class": "django.utils.log.AdminEmailHandler",
                "level": "ERROR",
                "filters": ["require_debug_false"],
            },
            "nowhere": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console", *mail], "level": level, "propagate": False},
            # Django's line on each 4xx and 5xx answer says again what the
            # access line says (with a 500's traceback): mailed, not written.
            "django.request": {"handlers": ["nowhere", *mail], "propagate": False},
            "django.security.DisallowedHost": {"handlers": ["console"], "propagate": False},
            # runserver's own request lines, likewise.
            "django.server": {"handlers": ["nowhere"], "propagate": False},
            "django.db.backends": {"level": "INFO"},
            # A task that raised, with its traceback.
            "celery.app.trace": {
                "handlers": ["console", *mail],
                "level": level,
                "propagate": False,
            },
        },
    }


def gunicorn_logconfig(*, log_format: str, level: str = "INFO") -> dict:
    """gunicorn's ``logconfig_dict``: its own lines (start, workers, timeouts) as the site's.

    Its access log is left out: the site writes one access line per request,
    with the request's id, the address the rate limits see and the token of
    a signed link hidden (``tweetup.access_log``), where gunicorn's would
    hold the token itself.
    """
    _check_format(log_format)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": _formatters(),
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "stream": "ext://sys.stderr",
            },
            "nowhere": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["nowhere"], "propagate": False},
        },
    }


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report errors to Sentry: unhandled exceptions of requests and tasks, ERROR lines.

    No personal data is sent: no cookies, user or client address
    (``send_default_pii=False``), no request body and no local variables of
    the traceback's frames, and the token of a signed link in a
    request's address is hidden, as it is in the admin's outbox.
    """
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        # Nor what a form sent, nor the values in the traceback's frames: an
        # entrant's name and address would be among them.
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=_hide_signed_links,
    )


def _hide_signed_links(event: dict, hint: dict) -> dict:
    from .signed_links import redact_signed_links

    request = event.get("request") or {}
    if request.get("url"):
        request["url"] = redact_signed_links(request["url"])
    for breadcrumb in (event.get("breadcrumbs") or {}).get("values", []):
        if isinstance(breadcrumb.get("message"), str):
            breadcrumb["message"] = redact_signed_links(breadcrumb["message"])
    return event
