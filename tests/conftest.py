"""Fixtures shared by every test module."""

import os
import sys

import pytest

from tests.factories import ContestFactory, EntryFactory

# Real services for integration tests: SMTP server, Redis servers, Celery worker.
pytest_plugins = ["tests.support", "tests.browser"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, reason: str) -> None:
    """Skip when a real service is missing on a developer's machine; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture
def contest(db):
    return ContestFactory()


@pytest.fixture
def entry(contest):
    return EntryFactory(contest=contest)


@pytest.fixture(autouse=True)
def _tasks_fail_loudly():
    """A task that fails in a test fails the test.

    The test settings run tasks eagerly and propagate their errors, but the
    site publishes tasks inside ``except`` blocks meant for a broker outage,
    where an eager task's error would pass for one. A test in which a task
    must fail quietly turns ``task_eager_propagates`` off itself (monkeypatch
    ``tweetup.celery.app.conf``), saying why.
    """
    from celery import signals

    from tweetup.celery import app

    failures = []

    def record(sender=None, args=None, state=None, **kwargs):
        # An eager task whose error propagates ends without a state; its
        # error is still on its way up.
        if state is None and app.conf.task_eager_propagates:
            failures.append(f"{sender.name}{tuple(args or ())}: {sys.exc_info()[1]!r}")

    signals.task_postrun.connect(record, weak=False)
    yield
    signals.task_postrun.disconnect(record)
    if failures:
        pytest.fail("A task failed during the test:\n" + "\n".join(failures))


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache, as its database starts empty: the
    home page's lists (contests.home_page) kept by an earlier test would name
    contests its rolled-back transaction took away."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default():
    """Each test starts in English: a French request made by an earlier test
    leaves its language active in this thread."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()
