"""Settings of the Celery worker that the integration tests start (see tests/support.py).

The development settings, read from the environment that the test gives the
worker (test database, broker, SMTP server), plus a queue of the test's own.
"""

from tweetup.settings.local import *  # noqa: F403
from tweetup.settings.local import env

CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE")
