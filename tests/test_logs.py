"""Logs an operator can follow: one line per request, one id from request to task.

The lines are read as the site writes them: from its console handler, in the
format LOGGING gives it, and from a real Celery worker started with
LOG_FORMAT=json, and from gunicorn run with gunicorn.conf.py.
"""

import io
import json
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contests.models import Entry
from notifications.models import OutboxMessage
from tests.factories import ContestFactory, EntryFactory, entry_form_data
from tests.support import (
    BASE_DIR,
    celery_publishing_to,
    free_port,
    port_answers,
    postgres_test_database_url,
    wait_until,
)
from tweetup import logs

ISO_8601_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


@contextmanager
def site_log(log_format: str = "json"):
    """What the site's console handler writes meanwhile, in ``log_format``."""
    spec = dict(
        logs.logging_config(log_format=log_format, level="INFO", mail_admins=False)["formatters"][
            log_format
        ]
    )
    formatter = spec.pop("()")(**spec)
    [console] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    stream = io.StringIO()
    saved_stream, saved_formatter = console.setStream(stream), console.formatter
    console.setFormatter(formatter)
    try:
        yield stream
    finally:
        console.setStream(saved_stream)
        console.setFormatter(saved_formatter)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_request_writes_one_access_line_and_every_line_of_it_carries_its_id(db):
    with site_log() as log:
        response = Client(REMOTE_ADDR="198.51.100.4").get("/no-such-page/?q=1")
    [access] = json_lines(log.getvalue())  # not Django's "Not Found" again
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert access["event"] == "request_finished"
    assert access["request"] == "GET /no-such-page/?q=1"
    assert access["code"] == 404
    assert access["request_id"] == request_id
    assert access["ip"] == "198.51.100.4"
    assert access["level"] == "warning"
    assert ISO_8601_UTC.fullmatch(access["timestamp"]), access


def test_a_line_the_site_writes_during_a_request_carries_the_request_id(db):
    contest = ContestFactory()
    # An unconfirmed entry past its hold on the handle: the next entry takes
    # the handle over, and the service says so in the log.
    stale = EntryFactory(
        contest=contest, confirmed_at=None, twitter_handle="Lucy_M", handle_normalized="lucy_m"
    )
    Entry.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=1))
    with site_log() as log:
        response = Client().post(contest.get_absolute_url(), entry_form_data())
    assert response.status_code == 302
    lines = json_lines(log.getvalue())
    [takeover] = [line for line in lines if line["logger"] == "contests.services.entries"]
    assert (
        takeover["event"] == f"Unconfirmed entries [{stale.pk}] gave their handle to a new entry."
    )
    assert takeover["request_id"] == response["X-Request-ID"]
    assert lines[-1]["event"] == "request_finished"


def test_the_plain_format_for_make_run_carries_the_same_fields(db):
    with site_log("plain") as log:
        response = Client().get("/")
    [line] = [line for line in log.getvalue().splitlines() if "request_finished" in line]
    assert ISO_8601_UTC.match(line)
    assert f"request_id={response['X-Request-ID']}" in line
    assert "code=200" in line and "request='GET /'" in line


def test_a_request_id_is_taken_from_the_trusted_proxy_only(db, settings):
    client = Client(REMOTE_ADDR="10.0.0.1")
    sent = {"X-Request-ID": "4f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f", "X-Forwarded-For": "203.0.113.9"}

    settings.TRUSTED_PROXY_COUNT = 0  # clients reach the site directly: anyone could send it
    with site_log() as log:
        response = client.get("/", headers=sent)
    assert response["X-Request-ID"] != sent["X-Request-ID"]
    [access] = json_lines(log.getvalue())
    assert access["request_id"] == response["X-Request-ID"] and access["ip"] == "10.0.0.1"

    settings.TRUSTED_PROXY_COUNT = 1  # the proxy sets it (and the address it saw)
    with site_log() as log:
        response = client.get("/", headers=sent)
    assert response["X-Request-ID"] == sent["X-Request-ID"]
    [access] = json_lines(log.getvalue())
    assert access["request_id"] == sent["X-Request-ID"] and access["ip"] == "203.0.113.9"

    # Even from the proxy, an id that could break a line is replaced.
    forged = client.get("/", headers={**sent, "X-Request-ID": "a b\u2028c"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged["X-Request-ID"])


def test_the_access_line_hides_the_token_of_a_signed_link(db):
    token = "eyJlbnRyeSI6MX0:1tWxyz:SecretSignature"
    with site_log() as log:
        Client().get(reverse("contests:confirm", kwargs={"token": token}))
    text = log.getvalue()
    assert "request_finished" in text
    assert token not in text and "SecretSignature" not in text
    assert "/contests/confirm/[link hidden]/" in text


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_send_task_logs_the_request_id_that_queued_it_and_its_outbox_row(
    private_redis, smtp_server, celery_worker_factory, monkeypatch
):
    broker_url = f"redis://127.0.0.1:{private_redis.port}/0"
    monkeypatch.setenv("LOG_FORMAT", "json")
    smtp_server.sink.reset(refuse_next=1)  # so that the send task has a line of its own to log
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=broker_url)
    with celery_publishing_to(broker_url, worker.queue):
        response = Client().post(contest.get_absolute_url(), entry_form_data())
    assert response.status_code == 302
    request_id = response["X-Request-ID"]
    message = OutboxMessage.objects.get()
    wait_until(
        lambda: OutboxMessage.objects.filter(pk=message.pk, attempts=1, status="pending").exists(),
        timeout=20,
        what="the refused attempt to be recorded",
    )

    def task_lines() -> list[dict]:
        lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("request_id") == request_id]

    wait_until(
        lambda: any(line["event"] == "task_succeeded" for line in task_lines()),
        timeout=10,
        what="the worker to log the end of the task",
    )
    lines = task_lines()
    events = [line["event"] for line in lines]
    assert events[0] == "task_started" and "task_succeeded" in events, events
    refusal = f"Outbox message {message.pk} not sent (entry_confirm): "
    assert any(event.startswith(refusal) for event in events), events
    for line in lines:
        assert line["outbox_id"] == message.pk, line
        assert line["task_id"] and ISO_8601_UTC.fullmatch(line["timestamp"]), line


@pytest.mark.integration
def test_gunicorn_writes_its_lines_as_the_site_does_and_leaves_the_access_line_to_it(db):
    """gunicorn.conf.py as the Procfile runs it: gunicorn's lines in JSON, one access line."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.test",
        "DATABASE_URL": postgres_test_database_url(),
        "LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "1",
    }
    base_url = f"http://{env['GUNICORN_BIND']}"
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tweetup.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        host, port = env["GUNICORN_BIND"].rsplit(":", 1)
        wait_until(lambda: port_answers(host, int(port)), timeout=30, what="gunicorn to answer")
        token = "eyJlbnRyeSI6MX0:1tWxyz:SecretSignature"
        with urllib.request.urlopen(f"{base_url}/contests/", timeout=10) as answer:
            request_id = answer.headers["X-Request-ID"]
        try:
            urllib.request.urlopen(f"{base_url}/contests/confirm/{token}/", timeout=10)
        except urllib.error.HTTPError as refused:
            assert refused.code == 400
    finally:
        gunicorn.terminate()
        output = gunicorn.communicate(timeout=30)[0]
    lines = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    started = [line for line in lines if line["event"].startswith("Listening at: ")]
    assert started and started[0]["logger"] == "gunicorn.error"
    assert all(ISO_8601_UTC.fullmatch(line["timestamp"]) for line in lines)
    access = [line for line in lines if line["event"] == "request_finished"]
    assert [line["request"] for line in access] == [
        "GET /contests/",
        "GET /contests/confirm/[link hidden]/",
    ]
    assert access[0]["request_id"] == request_id
    assert "SecretSignature" not in output
    assert not any(line["logger"] == "gunicorn.access" for line in lines)
