"""Settings shared by every environment; values come from the environment.

A fresh checkout runs with nothing but Python: SQLite in the project folder,
mail kept in files, and Redis as the Celery broker when one answers.
"""

import logging
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from tweetup import logs
from tweetup.checks import EXAMPLE_LEGAL

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before the admin, so that its translated fields show in the admin.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.syndication",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "auditlog",
    "django_structlog",
    "tweetup",
    "notifications",
    "contests",
    "visits",
    "visitors",
]

MIDDLEWARE = [
    # /healthz, /healthz/ready and /metrics, answered before the rest (tweetup.health).
    "tweetup.health.EndpointsMiddleware",
    "tweetup.metrics.RequestMetricsMiddleware",
    # The access log line and the request id of every line (tweetup.access_log).
    "django_structlog.middlewares.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, so that its 400 page goes out with the headers of the others (CSP).
    "tweetup.middleware.RejectNulInQueryMiddleware",
]

ROOT_URLCONF = "tweetup.urls"
# One audit log for the site: django-auditlog's entries, kept in the site's own
# model (tweetup.models.AuditEntry), which names the action and its reason.
AUDITLOG_LOGENTRY_MODEL = "tweetup.AuditEntry"
# django-auditlog's migrations would make a table for its own entry model,
# which the setting above replaces: left out, nothing makes that table.
MIGRATION_MODULES = {"auditlog": None}
WSGI_APPLICATION = "tweetup.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Let concurrent writers (web, worker, beat) wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Behind PgBouncer in transaction mode a cursor cannot outlive its transaction:
# DISABLE_SERVER_SIDE_CURSORS=1 makes QuerySet.iterator() fetch on the client.
# The freeze, the draw and draw.json need no cursor either way: they page by keyset.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DISABLE_SERVER_SIDE_CURSORS", default=False
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_settings(default_url: str) -> dict:
    """CACHES from CACHE_URL, forgiving when the cache is a Redis that stops answering.

    The cache only speeds pages up and counts rate limits: while its Redis is
    down, reads miss, writes are dropped (and logged) and the limits lapse, so
    entries and the admin's login still work. Short socket timeouts keep a Redis
    that hangs from holding a request for long.
    """
    cache = env.cache("CACHE_URL", default=default_url)
    if cache["BACKEND"] == "django_redis.cache.RedisCache":
        cache.setdefault("OPTIONS", {}).update(
            {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
            }
        )
    return {"default": cache}


CACHES = cache_settings("locmemcache://tweetup")
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# A rate limit the cache cannot count lets the request through: the unique
# constraints keep one entry per person, and a cache outage must not refuse
# every entrant (or lock organizers out of the admin).
RATELIMIT_FAIL_OPEN = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
# What organizers and tour admins write (contests.translation, visits.translation)
# has a column per language; a reader whose language is empty reads the other one.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("en", "fr")}
# Slugs are made from the English title, whatever the admin's language.
MODELTRANSLATION_PREPOPULATE_LANGUAGE = "en"
# What is built from the source goes to TWEETUP_BUILD_DIR, outside the source
# tree in production (README, "Production"): the catalogues compiled by
# `manage.py compilecatalogue` and the files `collectstatic` gathers. The
# .po files stay in locale/ (first, where makemessages writes).
BUILD_DIR = Path(env("TWEETUP_BUILD_DIR", default=str(BASE_DIR / "var" / "build")))
LOCALE_PATHS = [BASE_DIR / "locale", BUILD_DIR / "locale"]
TIME_ZONE = "Europe/Zurich"
# One date and time format per language, the 24-hour clock in both (tweetup/formats).
FORMAT_MODULE_PATH = ["tweetup.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BUILD_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# What organizers upload (contest banners and their share cards,
# contests.services.banners): the default storage. Served by nginx's
# /media/ location in production (deploy/nginx.conf), by Django with DEBUG.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # The files background jobs make (CSV exports): private, never served by a
    # URL of their own, only through the job's permission-checked download.
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env("EXPORTS_ROOT", default=str(BASE_DIR / "var" / "exports")),
            "base_url": None,
        },
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Mail (Django 6.1 mailers): setting EMAIL_HOST is enough to send through that
# SMTP server; without it each mail is written to a file in EMAIL_FILE_PATH.


def smtp_mailer(host: str, *, port: int = 25, use_tls: bool = False) -> dict:
    """A MAILERS entry for the SMTP server named by the EMAIL_* variables.

    EMAIL_TIMEOUT bounds each exchange; the answer to a mail itself may take
    EMAIL_DATA_TIMEOUT, so that a slow server is not sent the mail twice.
    """
    return {
        "BACKEND": "notifications.mail.SmtpEmailBackend",
        "OPTIONS": {
            "host": host,
            "port": env.int("EMAIL_PORT", default=port),
            "username": env("EMAIL_HOST_USER", default=""),
            "password": env("EMAIL_HOST_PASSWORD", default=""),
            "use_tls": env.bool("EMAIL_USE_TLS", default=use_tls),
            "use_ssl": env.bool("EMAIL_USE_SSL", default=False),
            "timeout": env.int("EMAIL_TIMEOUT", default=20),
            "data_timeout": env.int("EMAIL_DATA_TIMEOUT", default=600),
        },
    }


_email_host = env("EMAIL_HOST", default="")
if _email_host:
    MAILERS = {"default": smtp_mailer(_email_host)}
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {
                "file_path": env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
            },
        }
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="TweetUp <tweetup@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Absolute links in mail written outside a request (beat tasks) point here.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Celery: Redis broker; `make run` falls back to a file-system broker when no Redis answers.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# The longest task is a mail's send: EMAIL_TIMEOUT (20 s) for connecting and
# each exchange and EMAIL_DATA_TIMEOUT (600 s) for the server's answer to the
# message, about 700 s in all. The soft limit lets a task that outlasts it
# stop cleanly (SoftTimeLimitExceeded); the hard limit kills its process.
# Both stay below OUTBOX_SENDING_TIMEOUT (900 s), so the sweep never sends
# again a mail that a live task is still sending.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=780)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=840)
# Publishing gives up at the first refused connection instead of retrying for
# the connection timeout: a web process whose broker is down would otherwise
# wait 2 s per entry (BENCHMARKS.md). The outbox keeps the mail for the sweep;
# the worker's own reconnection follows CELERY_BROKER_CONNECTION_MAX_RETRIES.
# Redis gives a task that was taken and never acknowledged (its worker died)
# to another worker after `visibility_timeout`: Kombu's one hour would keep it
# waiting that long. A worker takes a message only when a process is free to
# run it (prefetch below), so the longest a live worker holds one is the hard
# time limit: a minute more than that, and never sooner, or a task still
# running would be run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
    **env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={}),
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
# A task's message is acknowledged when the task has run, not when a worker
# takes it, so a worker that dies (SIGKILL, out of memory, a lost machine)
# loses no task: Redis gives it to another worker after the visibility
# timeout, or at once when only a pool process died (reject_on_worker_lost).
# Every task may run twice this way; each one is safe to (the outbox claims
# its row, the others lock theirs).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# No prefetch: a worker takes a message only when one of its processes is free
# (Redis). A message never waits behind a long task in a busy worker's buffer
# while another worker is idle, and the visibility timeout counts from when it
# starts to run.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# (A Redis feature: `make run`'s file-system broker goes without.)
CELERY_WORKER_DISABLE_PREFETCH = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
# Processes of each worker; by default one per core.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=None)
# A task running when the worker loses the broker finishes and records its
# outcome (a mail half-sent and cancelled would be sent twice); its message,
# redelivered, finds its work done.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's Django fixup closes the database connection after every task unless
# this is set: a worker keeps it for this many tasks instead (a new connection
# costs more than sending a mail), and checks it before each task
# (tweetup.celery), so that one the database dropped is replaced, not failed on.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request never waits long on a broker that is down: the outbox keeps the
# mail and the sweep task sends it later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "notifications.tasks.send_unsent_messages",
        "schedule": timedelta(minutes=1),
    },
    "selections-expire": {
        "task": "contests.tasks.expire_overdue_selections",
        "schedule": timedelta(minutes=5),
    },
    "not-chosen-notices-resume": {
        "task": "contests.tasks.resume_not_chosen_notices",
        "schedule": timedelta(minutes=10),
    },
    "visits-stop-changes": {
        "task": "visitors.tasks.send_stop_change_digests",
        "schedule": timedelta(minutes=1),
    },
    "visits-reminders": {
        "task": "visitors.tasks.send_visit_reminders",
        "schedule": timedelta(minutes=30),
    },
    # Starts again the background jobs whose worker died, or whose task the broker lost.
    "jobs-resume": {
        "task": "tweetup.tasks.resume_stale_jobs",
        "schedule": timedelta(minutes=1),
    },
    "privacy-purge": {
        "task": "tweetup.tasks.remove_personal_data",
        "schedule": timedelta(hours=6),
    },
    # What /healthz/ready reads to tell that beat ticks (HEALTH_BEAT_MAX_AGE).
    "beat-heartbeat": {
        "task": "tweetup.tasks.beat_heartbeat",
        "schedule": timedelta(minutes=1),
    },
}
# Beat's tasks run on a queue of their own, so that a backlog of mail in the
# default queue never holds back the sweep or the expiry of offers: every
# worker consumes both (`celery -A tweetup worker -Q celery,periodic`).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_PERIODIC_QUEUE = "periodic"
CELERY_TASK_ROUTES = {
    entry["task"]: {"queue": CELERY_PERIODIC_QUEUE} for entry in CELERY_BEAT_SCHEDULE.values()
}
# Exactly one beat: with Redis, beat keeps its schedule there (celery-redbeat,
# seen by every machine) and holds a lock there while it runs; a second beat
# says that it waits, and takes over within CELERY_BEAT_LOCK_TIMEOUT seconds
# of the first one's end (at once when it stops cleanly). Without Redis (`make
# run` on the file-system broker) beat keeps its schedule in a local file.
CELERY_BEAT_SCHEDULER = env(
    "CELERY_BEAT_SCHEDULER",
    default=(
        "tweetup.celery:RedBeatScheduler"
        if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
        else "tweetup.celery:Scheduler"
    ),
)
# Beat looks at its schedule (and a waiting beat at the lock) at least this often.
CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("CELERY_BEAT_MAX_LOOP_INTERVAL", default=10)
CELERY_REDBEAT_REDIS_URL = env("CELERY_REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
CELERY_REDBEAT_REDIS_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 5}
CELERY_REDBEAT_KEY_PREFIX = env("CELERY_REDBEAT_KEY_PREFIX", default="tweetup:beat")
CELERY_REDBEAT_LOCK_TIMEOUT = env.int("CELERY_BEAT_LOCK_TIMEOUT", default=60)
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)

# The outbox (README, "Mail: the outbox"). A mail refused for good (5xx) fails
# at once; after a transient failure the sweep tries again, one attempt per
# step, after a wait that doubles from OUTBOX_RETRY_AFTER up to
# OUTBOX_RETRY_MAX, and the mail fails after OUTBOX_MAX_ATTEMPTS attempts: with
# the defaults an SMTP server may be down for 6 h 3 min (21,780 s) of waits.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=12)
OUTBOX_RETRY_AFTER = timedelta(seconds=env.int("OUTBOX_RETRY_AFTER_SECONDS", default=60))
OUTBOX_RETRY_MAX = timedelta(seconds=env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600))
# A row a worker claimed and never recorded (the worker died) is sent again
# after this: longer than any SMTP conversation (EMAIL_TIMEOUT per exchange,
# EMAIL_DATA_TIMEOUT for the message), or `manage.py check` warns.
# A running background job writes a heartbeat every JOB_HEARTBEAT_SECONDS; one
# silent for JOB_STALE_SECONDS lost its worker and is started again. A job
# queued JOB_STALE_SECONDS ago and not started is queued again.
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=120)
OUTBOX_SENDING_TIMEOUT = timedelta(seconds=env.int("OUTBOX_SENDING_TIMEOUT_SECONDS", default=900))
# A send task still waiting in the queue after this is presumed lost (a broker
# that lost its data) and the sweep queues the row again.
OUTBOX_REQUEUE_AFTER = timedelta(seconds=env.int("OUTBOX_REQUEUE_AFTER_SECONDS", default=3600))
# A press on "Resend" that does not say which state of the row it saw (the
# admin's action) is ignored this soon after the last resend of that row.
OUTBOX_RESEND_INTERVAL = timedelta(seconds=env.int("OUTBOX_RESEND_INTERVAL_SECONDS", default=60))
# How many rows one send task takes, all sent over one connection to the mail
# server; a bulk mail and the sweep queue as many such tasks as they need.
OUTBOX_SEND_BATCH = env.int("OUTBOX_SEND_BATCH", default=200)
# Where the report of mail that failed for good goes; empty: no report by mail.
ORGANIZERS_EMAIL = env("ORGANIZERS_EMAIL", default="")

# Entries
ENTRY_CONFIRM_MAX_AGE = timedelta(days=env.int("ENTRY_CONFIRM_DAYS", default=7))
ENTRY_RATE_LIMIT = env("ENTRY_RATE_LIMIT", default="200/h")
# An unconfirmed entry holds its handle this long; then a new entry may take it over.
ENTRY_HANDLE_HOLD = timedelta(minutes=env.int("ENTRY_HANDLE_HOLD_MINUTES", default=60))
# The organizer dashboard's breakdowns of the entries (per day, country,
# background, language) are recomputed in the background once they are older
# than this; the page shows them with their time (README, "The organizer dashboard").
DASHBOARD_STATISTICS_MAX_AGE = timedelta(
    seconds=env.int("DASHBOARD_STATISTICS_MAX_AGE_SECONDS", default=60)
)
# The home page's lists of contests and visits are rendered once per language
# and kept this long at most (README, "The public side"): a contest's number of
# confirmed entries there is at most this old. Saving a contest, its draw or a
# visit, and the time a contest opens or closes, renew them at once.
HOME_PAGE_CACHE_SECONDS = env.int("HOME_PAGE_CACHE_SECONDS", default=60)
RATELIMIT_VIEW = "tweetup.views.ratelimited"
# Rate limits count per client address; behind N trusted proxies the address is
# the Nth from the right of X-Forwarded-For (each proxy appends the one it saw).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_IP_META_KEY = "tweetup.http.client_ip"
VOTE_RATE_LIMIT = env("VOTE_RATE_LIMIT", default="60/h")
# Password attempts on the admin's login form, per client address.
LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", default="20/10m")

# Visits
QUESTION_RATE_LIMIT = env("QUESTION_RATE_LIMIT", default="5/10m")
# Edits of the stops within this many quiet minutes reach the visitors as one mail.
VISIT_CHANGES_QUIET_MINUTES = env.int("VISIT_CHANGES_QUIET_MINUTES", default=5)
# Privacy: personal data of entries that hold no place goes this many days after the
# draw (README, "Privacy"), visitors' private data this many days after the visit.
PRIVACY_ENTRY_RETENTION_DAYS = env.int("PRIVACY_ENTRY_RETENTION_DAYS", default=30)
PRIVACY_VISITOR_RETENTION_DAYS = env.int("PRIVACY_VISITOR_RETENTION_DAYS", default=30)
# The exports' files (entries with their personal data) are deleted this long after they were made.
PRIVACY_EXPORT_RETENTION_DAYS = env.int("PRIVACY_EXPORT_RETENTION_DAYS", default=7)

# Visitors' site-access details (identity document) go this many days after the visit.
SITE_ACCESS_RETENTION_DAYS = env.int("SITE_ACCESS_RETENTION_DAYS", default=7)
# Who holds the data and whom to write to, for the privacy notice and the imprint
# (/privacy/, /imprint/). The defaults are examples for `make run`; `check --deploy`
# warns while production keeps any of them (tweetup.W003).
PRIVACY_CONTROLLER_NAME = env(
    "PRIVACY_CONTROLLER_NAME", default=EXAMPLE_LEGAL["PRIVACY_CONTROLLER_NAME"]
)
PRIVACY_CONTROLLER_ADDRESS = env(
    "PRIVACY_CONTROLLER_ADDRESS", default=EXAMPLE_LEGAL["PRIVACY_CONTROLLER_ADDRESS"]
)
PRIVACY_CONTACT_EMAIL = env("PRIVACY_CONTACT_EMAIL", default=EXAMPLE_LEGAL["PRIVACY_CONTACT_EMAIL"])
IMPRINT_PUBLISHER = env("IMPRINT_PUBLISHER", default=EXAMPLE_LEGAL["IMPRINT_PUBLISHER"])
IMPRINT_ADDRESS = env("IMPRINT_ADDRESS", default=EXAMPLE_LEGAL["IMPRINT_ADDRESS"])
IMPRINT_EMAIL = env("IMPRINT_EMAIL", default=EXAMPLE_LEGAL["IMPRINT_EMAIL"])
IMPRINT_RESPONSIBLE = env("IMPRINT_RESPONSIBLE", default=EXAMPLE_LEGAL["IMPRINT_RESPONSIBLE"])
# Optional: a phone number for the imprint; empty shows none.
IMPRINT_PHONE = env("IMPRINT_PHONE", default="")
# Visitors' signed profile and check-in links stop working after this long.
VISITOR_LINK_MAX_AGE = timedelta(days=env.int("VISITOR_LINK_DAYS", default=180))

# Watching it (README): health endpoints, logs, error reports, metrics.
# /healthz/ready fails when the oldest unsent mail is older than this, or when
# beat's heartbeat task last ran longer ago than this; it waits this long on Redis.
HEALTH_OUTBOX_MAX_AGE = timedelta(seconds=env.int("HEALTH_OUTBOX_MAX_AGE_SECONDS", default=900))
HEALTH_BEAT_MAX_AGE = timedelta(seconds=env.int("HEALTH_BEAT_MAX_AGE_SECONDS", default=300))
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=0.5)
# /metrics answers only a request sending "Authorization: Bearer <METRICS_TOKEN>";
# empty: no metrics (a 404).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Errors go to Sentry when SENTRY_DSN is set; otherwise they are mailed to
# ADMINS ("Name <address>,Other <address>"; empty: to nobody).
ADMINS = env.list("ADMINS", default=[])
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    logs.sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
# One format for every process (tweetup.logs): plain text, or JSON with LOG_FORMAT=json.
logs.configure_structlog()
LOGGING = logs.logging_config(
    log_format=env("LOG_FORMAT", default="plain"),
    level=env("LOG_LEVEL", default="INFO"),
    mail_admins=not SENTRY_DSN,
)
# The request id and the client's address travel with the tasks a request queues.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# tweetup.access_log binds the client's address as the rate limits read it.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# One access line per request, when it is answered.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
CSRF_FAILURE_VIEW = "tweetup.views.csrf_failure"

# Content-Security-Policy: the pages load scripts, styles, images and data from
# the site only, with no inline script, style attribute or event handler, so
# text that slipped through as markup could not run. Bootstrap's icons are data:
# images. Pages that need an inline <script> or <style> give it
# nonce="{{ csp_nonce }}".
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
