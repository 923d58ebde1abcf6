"""Settings of the beats that tests/test_beat.py starts: one task due every second.

The development settings, with the broker the test gives (its own Redis) and a
schedule fast enough to count in seconds.
"""

from datetime import timedelta

from tweetup.settings.local import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "notifications.tasks.send_unsent_messages",
        "schedule": timedelta(seconds=1),
    },
}
CELERY_TASK_ROUTES = {"notifications.tasks.send_unsent_messages": {"queue": "periodic"}}
