"""Fixtures shared by every test module."""

import os
import shutil

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
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    need(os.path.exists(path), "Debian's chromium is not installed")
    return path


@pytest.fixture
def contest(db):
    return ContestFactory()


@pytest.fixture
def entry(contest):
    return EntryFactory(contest=contest)


@pytest.fixture(autouse=True)
def _english_by_default():
    """Each test starts in English: a French request made by an earlier test
    leaves its language active in this thread."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()
