"""The public contest pages and the entry flow through HTTP."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests.models import Entry
from notifications.models import OutboxMessage
from tests.factories import ContestFactory, EntryFactory
from tests.factories import entry_form_data as entry_data

pytestmark = pytest.mark.django_db


def test_home_lists_open_and_past_contests(client):
    ContestFactory(title="Open one")
    ContestFactory(
        title="Past one",
        opens_at=timezone.now() - timedelta(days=30),
        closes_at=timezone.now() - timedelta(days=20),
    )
    response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Open one" in content and "Past one" in content


def test_contest_page_shows_commitment_and_form(client, contest):
    response = client.get(contest.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert contest.commitment in content
    assert len(contest.commitment) == 64
    for field in (
        "name",
        "email",
        "twitter_handle",
        "country",
        "languages",
        "background",
        "motivation",
        "language",
        "accept_rules",
    ):
        assert f'name="{field}"' in content
    assert 'property="og:title"' in content and 'name="twitter:card"' in content


def test_unknown_contest_is_404(client):
    assert client.get("/contests/no-such-contest/").status_code == 404


def test_entry_creates_unconfirmed_entry_and_sends_confirmation(
    client, contest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(contest.get_absolute_url(), entry_data())
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert entry.email_normalized == "lucy@example.org"
    assert entry.twitter_handle == "Lucy_M" and entry.handle_normalized == "lucy_m"
    assert entry.confirmed_at is None
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver/contests/confirm/\S+/", mail.outbox[0].body).group(0)
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    entry.refresh_from_db()
    assert entry.confirmed_at is not None
    assert entry.ticket in page.content.decode()


def test_second_entry_of_same_person_gets_clear_message(client, contest):
    EntryFactory(contest=contest, email="lucy@example.org", twitter_handle="other")
    response = client.post(contest.get_absolute_url(), entry_data())
    assert response.status_code == 400
    assert "already entered" in response.content.decode()
    assert "Lucy McKenna" in response.content.decode()  # what was typed is kept
    assert Entry.objects.count() == 1


def test_entry_refused_when_contest_closed(client):
    contest = ContestFactory(
        opens_at=timezone.now() - timedelta(days=3), closes_at=timezone.now() - timedelta(days=1)
    )
    response = client.post(contest.get_absolute_url(), entry_data())
    assert response.status_code == 400
    assert Entry.objects.count() == 0


def test_tampered_confirmation_link_gets_clear_page(client):
    response = client.get(reverse("contests:confirm", kwargs={"token": "1:abc:def"}))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_contest_list_pages_through_every_contest(client):
    for number in range(23):
        ContestFactory(title=f"Listed contest {number:02d}")
    first = client.get(reverse("contests:list"))
    assert first.status_code == 200
    assert first.content.decode().count("card-title") == 20
    second = client.get(reverse("contests:list"), {"page": 2})
    assert second.content.decode().count("card-title") == 3
    assert client.get(reverse("contests:list"), {"page": "x<"}).status_code == 200
