"""gunicorn.conf.py: workers, threads and timeouts from the environment, logs as the site's."""

import runpy
from pathlib import Path

from gunicorn.config import Config

BASE_DIR = Path(__file__).resolve().parent.parent


def load(monkeypatch, **variables: str) -> Config:
    """The configuration gunicorn builds from the file, with ``variables`` set."""
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for name, value in runpy.run_path(str(BASE_DIR / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_workers_threads_and_timeouts_come_from_the_environment(monkeypatch):
    config = load(
        monkeypatch,
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="45",
        GUNICORN_GRACEFUL_TIMEOUT="25",
        GUNICORN_BIND="127.0.0.1:9000",
    )
    assert (config.workers, config.threads, config.timeout) == (3, 4, 45)
    assert config.graceful_timeout == 25
    assert config.address == [("127.0.0.1", 9000)]
    # More than one thread runs gthread workers.
    assert config.worker_class_str == "gthread"


def test_by_default_sync_workers_two_per_core_logging_as_the_site(monkeypatch):
    config = load(monkeypatch)
    assert config.threads == 1 and config.worker_class_str == "sync"
    assert 3 <= config.workers <= 12
    assert config.timeout == 30
    # gunicorn's lines in the site's format; the site writes the access line
    # of every request (tests/test_logs.py runs it).
    assert config.logconfig_dict["loggers"]["gunicorn.error"]["handlers"] == ["console"]
