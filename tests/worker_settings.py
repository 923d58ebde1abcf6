"""Settings of the Celery worker that the integration tests start (see tests/support.py).

The development settings, read from the environment that the test gives the
worker (test database, broker, SMTP server), plus a queue of the test's own.
"""

from tweetup.settings.local import *  # noqa: F403
from tweetup.settings.local import CELERY_TASK_ROUTES, env

CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE")
# Beat's tasks go to a periodic queue of the test's own, which the worker consumes too.
CELERY_PERIODIC_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-periodic"
CELERY_TASK_ROUTES = {name: {"queue": CELERY_PERIODIC_QUEUE} for name in CELERY_TASK_ROUTES}
