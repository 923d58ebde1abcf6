"""Queue a Celery task by its name, once the transaction that asked for it commits.

Services say which task should run next, by the name Celery knows it by
(the name beat's schedule and the routes use too); they never import the
tasks modules, which import the services. Each app that has tasks queued
this way registers them when Django starts (its ``AppConfig.ready``), so
every process, web or worker, knows the name.
"""

import logging
from collections.abc import Callable

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def task_named(name: str) -> Task:
    """The registered Celery task called ``name``; KeyError for a name no app registered."""
    return current_app.tasks[name]


def task_after_commit(name: str, *args, on_refused: Callable[[], None] | None = None) -> None:
    """Queue the task ``name`` with ``args`` once the current transaction commits.

    Nothing is queued when the transaction rolls back. When the broker refuses
    the task (it is down), ``on_refused`` runs instead; whatever the task was
    to do is then left to the beat task that sweeps for it. An unknown name
    raises KeyError at once, inside the transaction.
    """
    task = task_named(name)

    def publish() -> None:
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 - any broker failure is left to the sweep
            if on_refused is not None:
                on_refused()
            else:
                logger.warning("Broker unavailable; %s%s waits for beat.", name, args)

    transaction.on_commit(publish)
