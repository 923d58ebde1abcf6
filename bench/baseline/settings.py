"""Settings of the baseline project: the site's stack, none of its settings.

This module imports nothing of the site: every setting is written here, with
the values tweetup/settings/production.py gives (read from the same
environment variables), so that what differs is only what the views do.
What is the same, on purpose:

- MIDDLEWARE: the site's list of class paths, copied; library and site
  middleware alike (tests/test_bench.py checks that the lists are equal).
  The site's middleware loads its apps' models when imported (the health
  endpoints read the outbox), so INSTALLED_APPS is the site's list too: the
  apps are loaded, their tables never read (the baseline's database holds
  only its own table and Django's).
- TEMPLATES: the same engine and context processors over the site's
  templates folder, with the site's ``visits_tags`` replaced by a fixed one
  (``baseline.templatetags.fixed_visits``); the site's catalogues and static
  manifest (STATIC_ROOT where ``bench/run.py`` collected them).
- The cache (django-redis with the site's options), PostgreSQL with the
  production connection settings, the security settings and the logging.
"""

from pathlib import Path

import environ
from django.utils.csp import CSP

SITE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "baseline",
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
AUDITLOG_LOGENTRY_MODEL = "tweetup.AuditEntry"
MIGRATION_MODULES = {"auditlog": None}

# The site's MIDDLEWARE (tweetup/settings/base.py), class path for class path.
MIDDLEWARE = [
    "tweetup.health.EndpointsMiddleware",
    "tweetup.metrics.RequestMetricsMiddleware",
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
    "tweetup.middleware.RejectNulInQueryMiddleware",
]

ROOT_URLCONF = "baseline.urls"
WSGI_APPLICATION = "baseline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
            # The home page's visits come from a fixed list, not the database.
            "libraries": {"visits_tags": "baseline.templatetags.fixed_visits"},
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL")}
CACHES["default"].setdefault("OPTIONS", {}).update(
    {
        "IGNORE_EXCEPTIONS": True,
        "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
        "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
    }
)
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
RATELIMIT_FAIL_OPEN = True

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
BUILD_DIR = Path(env("TWEETUP_BUILD_DIR", default=str(SITE_DIR / "var" / "build")))
LOCALE_PATHS = [SITE_DIR / "locale", BUILD_DIR / "locale"]
TIME_ZONE = "Europe/Zurich"
# The site's date formats (a module path, as the site sets it), so dates print alike.
FORMAT_MODULE_PATH = ["tweetup.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("BASELINE_STATIC_ROOT", default=str(BUILD_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # The site's job model names this storage; the baseline never writes to it.
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(SITE_DIR / "var" / "bench" / "exports"), "base_url": None},
    },
}
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Production's security settings.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
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

# What the site's middleware and apps read.
METRICS_TOKEN = ""
HEALTH_CHECK_TIMEOUT = 0.5
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10  # logging.DEBUG

# The site's logging (structlog through standard logging, LOG_FORMAT and
# LOG_LEVEL), so that the access line of each request costs the same.
LOGGING_CONFIG = "baseline.logs.configure"
LOGGING = {
    "log_format": env("LOG_FORMAT", default="plain"),
    "level": env("LOG_LEVEL", default="INFO"),
}
