"""Defences that span the apps: login throttling, client addresses, headers."""

import pytest
from django.core.cache import cache
from django.urls import reverse

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
    from django.contrib.auth.models import User

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
