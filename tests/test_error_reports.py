"""Errors reach someone: Sentry when SENTRY_DSN is set, else a mail to ADMINS.

The error is a real one (the database does not answer), and the Sentry
report is a real envelope, posted by sentry-sdk in a site process of its own
to an HTTP server the test runs.
"""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from django.test import Client

from tests.outages import database_unreachable
from tests.support import BASE_DIR, free_port
from tweetup import logs


@pytest.mark.django_db(transaction=True)
def test_an_unhandled_error_in_a_page_is_mailed_to_the_admins(settings, mailoutbox):
    settings.ADMINS = ["Site Ops <ops@example.org>"]
    with database_unreachable():
        response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert response["X-Request-ID"]
    [report] = mailoutbox
    assert report.to == ["Site Ops <ops@example.org>"]
    assert report.subject.endswith("Internal Server Error: /")
    assert "OperationalError" in report.body


@pytest.mark.django_db
def test_a_request_for_a_host_not_served_is_not_mailed(settings, mailoutbox):
    settings.ADMINS = ["Site Ops <ops@example.org>"]
    assert Client().get("/", HTTP_HOST="203.0.113.7").status_code == 400
    assert mailoutbox == []


def site_process(code: str, **environ: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a process of its own with the test settings and ``environ``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENTRY_", "ADMINS", "PYTEST_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="tweetup.settings.test", **environ)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_admins_are_read_from_the_environment():
    result = site_process(
        "import django; django.setup(); from django.conf import settings; "
        "print('|'.join(settings.ADMINS))",
        ADMINS="Site Ops <ops@example.org>,Ada <ada@example.org>",
    )
    assert result.stdout.strip() == "Site Ops <ops@example.org>|Ada <ada@example.org>"


def test_sentry_is_off_without_a_dsn():
    assert not sentry_sdk.get_client().is_active()


class SentryIngest(BaseHTTPRequestHandler):
    """Sentry's envelope endpoint, keeping the items it is sent."""

    items: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.paths.append(self.path)
        for line in body.splitlines():
            if line.strip().startswith(b"{"):
                self.server.items.append(json.loads(line))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_ingest():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryIngest)
    server.items, server.paths = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# An entry posted while the database is down, served as gunicorn serves it:
# through the site's WSGI application.
ENTRY_WITH_THE_DATABASE_DOWN = """
import io
import sentry_sdk
from wsgiref.util import setup_testing_defaults
from tweetup.wsgi import application
print("active", sentry_sdk.get_client().is_active())
token = "A" * 32
body = f"csrfmiddlewaretoken={token}&name=Ada+Lovelace&email=ada%40example.org".encode()
environ = {
    "REQUEST_METHOD": "POST",
    "PATH_INFO": "/contests/cern-tweetup/",
    "HTTP_HOST": "localhost",
    "HTTP_COOKIE": f"csrftoken={token}; sessionid=a-session-that-must-not-travel",
    "HTTP_USER_AGENT": "report-test",
    "REMOTE_ADDR": "192.0.2.44",
    "CONTENT_TYPE": "application/x-www-form-urlencoded",
    "CONTENT_LENGTH": str(len(body)),
    "wsgi.input": io.BytesIO(body),
}
setup_testing_defaults(environ)
statuses = []
b"".join(application(environ, lambda status, headers, *args: statuses.append(status)))
print("status", statuses[0])
sentry_sdk.flush(timeout=10)
"""


def test_an_unhandled_error_is_reported_to_sentry_without_personal_data(sentry_ingest):
    dsn = f"http://publickey@127.0.0.1:{sentry_ingest.server_address[1]}/42"
    result = site_process(
        ENTRY_WITH_THE_DATABASE_DOWN,
        SENTRY_DSN=dsn,
        SENTRY_ENVIRONMENT="test-run",
        DATABASE_URL=f"postgres://tweetup@127.0.0.1:{free_port()}/tweetup",
    )
    assert "active True" in result.stdout and "status 500" in result.stdout, result.stderr

    assert sentry_ingest.paths and set(sentry_ingest.paths) == {"/api/42/envelope/"}
    events = [item for item in sentry_ingest.items if "exception" in item]
    assert events, sentry_ingest.items
    event = events[0]
    assert event["environment"] == "test-run"
    assert event["exception"]["values"][-1]["type"] == "OperationalError"
    assert event["request"]["url"] == "http://localhost/contests/cern-tweetup/"
    assert event["request"]["headers"]["User-Agent"] == "report-test"
    sent = json.dumps(sentry_ingest.items)
    for personal in ("a-session-that-must-not-travel", "ada@example.org", "Ada", "192.0.2.44"):
        assert personal not in sent


@pytest.mark.django_db
def test_a_report_hides_the_token_of_a_signed_link():
    event = {
        "request": {"url": "https://tweetup.example.org/contests/confirm/abc:def:Signature/"},
        "breadcrumbs": {"values": [{"message": "GET /visits/profile/xyz:Sig2/badge/"}]},
    }
    cleaned = logs._hide_signed_links(event, {})
    assert cleaned["request"]["url"].endswith("/contests/confirm/[link hidden]/")
    assert cleaned["breadcrumbs"]["values"][0]["message"] == (
        "GET /visits/profile/[link hidden]/badge/"
    )
