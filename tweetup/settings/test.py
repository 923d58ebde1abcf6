"""Tests: the machine's PostgreSQL when it answers (always under CI), else SQLite."""

import os
import socket
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STORAGES, env

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tweetup"


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


if "DATABASE_URL" not in os.environ:
    if _postgres_answers():
        DATABASES = {"default": env.db_url_config(DEFAULT_TEST_DATABASE_URL)}
    elif env.bool("CI", default=False):
        raise ImproperlyConfigured("CI needs PostgreSQL at 127.0.0.1:5432 and none answers.")

# Django's PostgreSQL backend with a quicker flush after transactional tests
# (tests/postgresql/base.py says why).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql"  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_TASK_ALWAYS_EAGER = True
# A task that fails in a test fails the test; a test that needs a task to fail
# quietly turns it off itself (tests/conftest.py, _tasks_fail_loudly).
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="memory://")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": STORAGES["exports"],
}
SITE_URL = "http://testserver"
ENTRY_RATE_LIMIT = "1000/m"
LOGIN_RATE_LIMIT = "1000/m"
OUTBOX_RETRY_AFTER = timedelta(seconds=0)
# Serve static files from the finders; STATIC_ROOT exists only after collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
