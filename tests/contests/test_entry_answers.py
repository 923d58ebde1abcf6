"""What the confirmation link and the entry form tell, and to whom.

A confirmation link confirms only when its page's button is pressed (mail
scanners open links nobody read). The entry form answers "check your mailbox"
whether or not the address or the handle had entered: the existing entrant
gets a reminder with their own link instead, once a day at most.
"""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests.models import Entry
from contests.services.entries import entry_confirm_token, entry_from_confirm_token
from notifications.models import OutboxMessage
from tests.factories import ContestFactory, EntryFactory
from tests.factories import entry_form_data as form_data

pytestmark = pytest.mark.django_db


def confirm_url(entry: Entry) -> str:
    return reverse("contests:confirm", args=[entry_confirm_token(entry)])


# Confirming by the button ----------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head"])
def test_opening_the_confirmation_link_confirms_nothing(client, method):
    entry = EntryFactory(confirmed_at=None)
    response = getattr(client, method)(confirm_url(entry))
    assert response.status_code == 200
    if method == "get":
        page = response.content.decode()
        assert 'id="confirm-form"' in page and "Confirm my entry" in page
        assert entry.ticket not in page
    entry.refresh_from_db()
    assert entry.confirmed_at is None


def test_pressing_the_button_confirms_and_shows_the_ticket_and_share_links(client):
    entry = EntryFactory(confirmed_at=None)
    response = client.post(confirm_url(entry))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your entry is confirmed" in page and entry.ticket in page and "Mastodon" in page
    entry.refresh_from_db()
    assert entry.confirmed_at is not None


def test_a_confirmed_entrys_link_shows_its_ticket_at_once(client):
    entry = EntryFactory()
    page = client.get(confirm_url(entry)).content.decode()
    assert entry.ticket in page and 'id="confirm-form"' not in page


def test_the_link_of_an_unconfirmed_entry_says_on_opening_that_the_contest_closed(client):
    now = timezone.now()
    contest = ContestFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(hours=1))
    entry = EntryFactory(contest=contest, confirmed_at=None)
    response = client.get(confirm_url(entry))
    assert response.status_code == 400
    assert "closed before the entry was confirmed" in response.content.decode()


# The form tells nobody who entered ---------------------------------------------------


def page(client, url: str) -> str:
    """The page as a person reads it: without its per-response token and nonce."""
    text = client.get(url).content.decode()
    return re.sub(r'(nonce|name="csrfmiddlewaretoken" value)="[^"]*"', "", text)


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


@pytest.mark.parametrize(
    "second",
    [
        {"email": "LUCY@example.org", "twitter_handle": "someone_else"},
        {"email": "other@example.org", "twitter_handle": "@lucy_m"},
    ],
    ids=["same address", "same handle"],
)
def test_the_form_answers_alike_whether_or_not_the_person_had_entered(
    client, contest, second, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(contest.get_absolute_url(), form_data())
    entry = Entry.objects.get()
    Entry.objects.filter(pk=entry.pk).update(confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(contest.get_absolute_url(), form_data(**second))
    assert again.status_code == first.status_code == 302
    assert again["Location"] == first["Location"]
    assert page(client, again["Location"]) == page(client, first["Location"])
    assert "Check your mailbox" in page(client, again["Location"])
    assert Entry.objects.count() == 1
    # Whoever sent the form got nothing; the entrant got their own link again.
    assert not sent_to(second["email"]) or second["email"].lower() == entry.email.lower()
    [reminder] = [m for m in mail.outbox if "entered already" in m.subject]
    assert reminder.to == [entry.email]
    link = re.search(r"http://testserver(/contests/confirm/[^/\s]+/)", reminder.body).group(1)
    # The entrant's own link: a fresh signature of the same entry (its time may differ).
    token = link.split("/confirm/", 1)[1].rstrip("/")
    assert entry_from_confirm_token(token=token) == entry
    assert "Your entry is confirmed" in reminder.body
    assert entry.ticket in client.get(link).content.decode()


def test_the_entrant_is_reminded_once_a_day_at_most(
    client, contest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(contest.get_absolute_url(), form_data())
        for _press in range(5):
            client.post(contest.get_absolute_url(), form_data())
    entry = Entry.objects.get()
    reminders = OutboxMessage.objects.filter(key__startswith=f"entry_reminder:{entry.pk}:")
    assert reminders.count() == 1
    # The reminder of an unconfirmed entry carries its confirmation link.
    assert "not confirmed yet" in reminders.get().body_text
    tomorrow = timezone.now() + timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=tomorrow):
        client.post(contest.get_absolute_url(), form_data())
    assert reminders.count() == 2
    assert Entry.objects.count() == 1


def test_an_invalidated_entrant_is_not_reminded(client, contest):
    EntryFactory(
        contest=contest, email="lucy@example.org", invalidated_at=timezone.now(), in_draw=False
    )
    response = client.post(contest.get_absolute_url(), form_data())
    assert response.status_code == 302
    assert not OutboxMessage.objects.filter(key__startswith="entry_reminder:").exists()
