"""Defences that span the apps: login throttling, client addresses, headers."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from visitors.models import VisitorProfile
from visitors.services.links import visitor_profile_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _guess(client, password="wrong", **headers):
    return client.post(
        reverse("admin:login"), {"username": "organizer", "password": password}, **headers
    )


def test_the_admin_login_refuses_password_guesses_past_the_limit(client, settings):
    User.objects.create_user("organizer", password="right-password", is_staff=True)
    settings.LOGIN_RATE_LIMIT = "3/m"
    for _attempt in range(3):
        assert _guess(client).status_code == 200
    refused = _guess(client, password="right-password")
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    # Another address still logs in.
    assert _guess(client, password="right-password", REMOTE_ADDR="10.9.8.7").status_code == 302


def test_a_client_behind_the_proxy_cannot_dodge_the_limit_with_x_forwarded_for(client, settings):
    settings.LOGIN_RATE_LIMIT = "2/m"
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy appends the address it saw; whatever the client wrote stays on the left.
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        assert _guess(client, HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.5").status_code == 200
    assert _guess(client, HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.5").status_code == 429
    assert _guess(client, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200


INLINE_CODE = re.compile(r"<[^>]*\s(on[a-z]+|style)\s*=", re.IGNORECASE)


@pytest.fixture
def demo_clients(db):
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    clients = {"anonymous": Client()}
    for username in ("organizer", "touradmin"):
        clients[username] = Client()
        clients[username].force_login(User.objects.get(username=username))
    return clients


def _demo_pages() -> list[tuple[str, str]]:
    profile = VisitorProfile.objects.order_by("pk").first()
    token = visitor_profile_token(profile)
    drawn = "first-cern-tweetup-2012"
    return [
        ("anonymous", "/"),
        ("anonymous", "/contests/cern-tweetup/"),
        ("anonymous", f"/contests/{drawn}/results/"),
        ("anonymous", f"/contests/{drawn}/live/"),
        ("anonymous", "/visits/cern-tweetup/"),
        ("anonymous", "/visits/cern-tweetup/live/"),
        ("anonymous", "/visits/cern-tweetup/print/"),
        ("anonymous", reverse("visitors:badge", kwargs={"token": token})),
        ("anonymous", reverse("visitors:visitor_itinerary_print", kwargs={"token": token})),
        ("anonymous", reverse("visitors:profile", kwargs={"token": token})),
        ("organizer", f"/contests/{drawn}/dashboard/"),
        ("organizer", "/contests/cern-tweetup/dashboard/"),
        ("organizer", "/admin/contests/contest/add/"),
        ("touradmin", "/visits/cern-tweetup-2012/check-in/"),
        ("touradmin", "/admin/visits/visit/add/"),
    ]


def test_every_page_is_sent_with_a_policy_that_refuses_inline_code(demo_clients):
    for user, path in _demo_pages():
        response = demo_clients[user].get(path)
        assert response.status_code == 200, (user, path, response.status_code)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy, path
        assert "style-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        # The policy would refuse them: event handlers and style attributes live in
        # static/js/site.js and static/css/site.css.
        html = response.content.decode()
        assert not INLINE_CODE.search(html), (path, INLINE_CODE.search(html).group(0))


def test_the_500_page_has_no_inline_style():
    html = render_to_string("500.html")
    assert not INLINE_CODE.search(html)


def test_the_500_page_asks_to_send_again_rather_than_promise_nothing_was_lost():
    """A server error may come before anything was saved (a database or cache
    outage): the page must not tell the person their form was kept."""
    html = render_to_string("500.html")
    assert "lost" not in html
    assert "send it again" in html and "renvoyez-le" in html
