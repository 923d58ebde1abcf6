"""Entering a contest: the rules of entry_submit, entry_confirm and the resend flow,
then the same rules as the entrant meets them on the entry pages (throwaway
domains, honeypot, rate limit, expired links, escaping)."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from contests.errors import AlreadyEntered, ContestError
from contests.models import Contest, Draw, Entry
from contests.services.entries import (
    CONFIRM_SALT,
    entry_confirm,
    entry_confirm_token,
    entry_resend_confirmation,
    entry_submit,
)
from notifications.models import OutboxMessage
from tests.factories import ContestFactory, EntryFactory
from tests.factories import entry_form_data as form_data
from tweetup.settings import base as base_settings

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


def submission(contest: Contest, **overrides) -> dict:
    fields = {
        "contest": contest,
        "name": "Lucy McKenna",
        "email": "Lucy@Example.org",
        "twitter_handle": "@Lucy_M",
        "country": "IE",
        "languages": ["en", "ga", "en"],
        "background": "communication",
        "motivation": "I explain physics to children every week.",
        "language": "en",
    }
    fields.update(overrides)
    return fields


def confirm_link(message) -> str:
    match = re.search(r"http://testserver(/contests/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


class PastSigner(signing.TimestampSigner):
    """Signs as if it were ``days_ago`` days ago."""

    def __init__(self, *, days_ago: float, **kwargs):
        super().__init__(**kwargs)
        self.days_ago = days_ago

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() - self.days_ago * 86400))


def token_signed_days_ago(entry: Entry, days_ago: float) -> str:
    return PastSigner(days_ago=days_ago, salt=CONFIRM_SALT).sign(str(entry.pk))


@pytest.fixture(autouse=True)
def _empty_cache():
    """The rate limit counts in the (locmem) cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


# The state of a contest follows from its times and its draw.


def test_contest_state_follows_from_its_times():
    now = timezone.now()
    contest = ContestFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    assert contest.state == Contest.State.UPCOMING
    assert contest.state_at(contest.opens_at - timedelta(microseconds=1)) == Contest.State.UPCOMING
    assert contest.state_at(contest.opens_at) == Contest.State.OPEN
    assert contest.state_at(contest.closes_at - timedelta(microseconds=1)) == Contest.State.OPEN
    assert contest.state_at(contest.closes_at) == Contest.State.CLOSED
    assert not contest.is_open


def test_unpublished_contest_is_a_draft_whatever_its_times():
    contest = ContestFactory(published=False)
    assert contest.state == Contest.State.DRAFT
    assert contest.state_at(contest.closes_at + timedelta(days=1)) == Contest.State.DRAFT


def test_frozen_then_drawn_contest_stays_so_whatever_the_time():
    now = timezone.now()
    contest = ContestFactory(opens_at=now - timedelta(days=9), closes_at=now - timedelta(days=2))
    assert contest.state == Contest.State.CLOSED
    contest.frozen_at = now - timedelta(days=1)
    contest.save()
    assert contest.state == Contest.State.FROZEN
    Draw.objects.create(contest=contest, winners_count=5, alternates_count=5, drawn_at=now)
    contest = Contest.objects.get(pk=contest.pk)
    assert contest.state == Contest.State.DRAWN
    assert contest.state_at(now + timedelta(days=365)) == Contest.State.DRAWN


# One entry per person per contest, held by the database.


def test_database_refuses_a_second_entry_with_the_same_normalised_email(contest):
    EntryFactory(contest=contest, email="lucy@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        EntryFactory(contest=contest, email="LUCY@example.org")
    EntryFactory(contest=ContestFactory(), email="lucy@example.org")  # another contest: fine


def test_database_refuses_a_second_entry_with_the_same_normalised_handle(contest):
    EntryFactory(contest=contest, twitter_handle="Lucy_M")
    with pytest.raises(IntegrityError), transaction.atomic():
        EntryFactory(contest=contest, twitter_handle="LUCY_m")
    EntryFactory(contest=ContestFactory(), twitter_handle="Lucy_M")


def test_database_refuses_an_entry_without_the_rules_accepted(contest):
    with pytest.raises(IntegrityError), transaction.atomic():
        EntryFactory(contest=contest, rules_accepted=False)


def test_entry_submit_saves_normalised_entry_with_unconfirmed_ticket(contest):
    entry = entry_submit(**submission(contest))
    assert entry.email == "Lucy@Example.org" and entry.email_normalized == "lucy@example.org"
    assert entry.twitter_handle == "Lucy_M" and entry.handle_normalized == "lucy_m"
    assert entry.languages == ["en", "ga"]
    assert entry.confirmed_at is None and entry.rules_accepted
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", entry.ticket)
    message = OutboxMessage.objects.get()
    assert message.key == f"entry_confirm:{entry.pk}"
    assert message.to_email == "Lucy@Example.org" and message.contest_id == contest.pk


@pytest.mark.parametrize(
    ("email", "handle"),
    [
        ("LUCY@example.ORG", "someone_else"),
        ("  lucy@example.org ", "other"),
        ("other@example.org", "lucy_m"),
        ("other@example.org", "https://x.com/LUCY_M"),
    ],
)
def test_a_second_entry_of_the_same_person_reminds_the_first_and_says_nothing(
    contest, email, handle
):
    """Whoever sends the form learns nothing; the first entrant gets their own link again."""
    first = entry_submit(**submission(contest))
    Entry.objects.filter(pk=first.pk).update(confirmed_at=timezone.now())
    with pytest.raises(AlreadyEntered) as refused:
        entry_submit(**submission(contest, email=email, twitter_handle=handle))
    assert "already" in str(refused.value) and "address" not in str(refused.value)
    assert Entry.objects.count() == 1
    reminder = OutboxMessage.objects.get(key__startswith="entry_reminder:")
    assert reminder.to_email == first.email and reminder.key.startswith(
        f"entry_reminder:{first.pk}:"
    )


def _age(entry: Entry, delta: timedelta) -> None:
    Entry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - delta)


def test_an_unconfirmed_handle_is_held_for_its_address_during_the_hold(contest, settings):
    settings.ENTRY_HANDLE_HOLD = timedelta(minutes=60)
    entry_submit(**submission(contest, email="lucy@exmaple.org"))
    with pytest.raises(AlreadyEntered):
        entry_submit(**submission(contest, email="lucy@example.org"))
    assert list(Entry.objects.values_list("email", flat=True)) == ["lucy@exmaple.org"]
    # The holder of the handle is reminded, at their own address.
    reminder = OutboxMessage.objects.get(key__startswith="entry_reminder:")
    assert reminder.to_email == "lucy@exmaple.org"


def test_after_the_hold_a_new_address_takes_over_an_unconfirmed_handle(
    contest, settings, django_capture_on_commit_callbacks
):
    """A mistyped address (or someone else's) does not keep the handle out of the draw."""
    settings.ENTRY_HANDLE_HOLD = timedelta(minutes=60)
    mistyped = entry_submit(**submission(contest, email="lucy@exmaple.org"))
    _age(mistyped, timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        entry = entry_submit(**submission(contest, email="lucy@example.org"))
    assert list(Entry.objects.all()) == [entry]
    assert entry.handle_normalized == "lucy_m"
    assert [m.to for m in mail.outbox][-1] == ["lucy@example.org"]
    entry_confirm(token=entry_confirm_token(entry))
    with pytest.raises(ContestError, match="no longer exists"):
        entry_confirm(token=entry_confirm_token(mistyped))


@pytest.mark.parametrize("state", ["confirmed", "invalidated"])
def test_a_confirmed_or_invalidated_entry_keeps_its_handle_after_the_hold(contest, settings, state):
    settings.ENTRY_HANDLE_HOLD = timedelta(minutes=60)
    first = entry_submit(**submission(contest))
    Entry.objects.filter(pk=first.pk).update(**{f"{state}_at": timezone.now()})
    _age(first, timedelta(days=3))
    with pytest.raises(AlreadyEntered):
        entry_submit(**submission(contest, email="other@example.org"))
    assert list(Entry.objects.all()) == [first]
    # An invalidated entry gets no reminder: its link leads nowhere.
    reminders = OutboxMessage.objects.filter(key__startswith="entry_reminder:").count()
    assert reminders == (1 if state == "confirmed" else 0)


def test_entering_before_the_contest_opens_is_refused():
    now = timezone.now()
    contest = ContestFactory(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    with pytest.raises(ContestError, match="not open yet"):
        entry_submit(**submission(contest))
    assert not Entry.objects.exists()


def test_entering_after_the_contest_closes_is_refused():
    now = timezone.now()
    contest = ContestFactory(opens_at=now - timedelta(days=2), closes_at=now - timedelta(seconds=1))
    with pytest.raises(ContestError, match="closed"):
        entry_submit(**submission(contest))
    assert not Entry.objects.exists()


def test_entering_a_draft_or_frozen_contest_is_refused():
    draft = ContestFactory(published=False)
    frozen = ContestFactory(frozen_at=timezone.now())
    for contest in (draft, frozen):
        with pytest.raises(ContestError):
            entry_submit(**submission(contest))
    assert not Entry.objects.exists()


# Confirmation links.


def test_confirmation_link_confirms_once_and_again_harmlessly(contest):
    entry = entry_submit(**submission(contest))
    token = entry_confirm_token(entry)
    confirmed = entry_confirm(token=token)
    assert confirmed.pk == entry.pk and confirmed.confirmed_at is not None
    again = entry_confirm(token=token)
    assert again.confirmed_at == confirmed.confirmed_at


def test_tampered_confirmation_link_is_refused(contest):
    entry = entry_submit(**submission(contest))
    token = entry_confirm_token(entry)
    other = EntryFactory(contest=contest, confirmed_at=None)
    forged = token.replace(f"{entry.pk}:", f"{other.pk}:", 1)
    for bad in (forged, token[:-1], "", "abc", f"{entry.pk}"):
        with pytest.raises(ContestError, match="not valid"):
            entry_confirm(token=bad)
    other.refresh_from_db()
    assert other.confirmed_at is None


def test_expired_confirmation_link_is_refused(contest, settings):
    entry = entry_submit(**submission(contest))
    assert settings.ENTRY_CONFIRM_MAX_AGE == timedelta(days=7)
    still_valid = token_signed_days_ago(entry, 6.9)
    expired = token_signed_days_ago(entry, 7.1)
    with pytest.raises(ContestError, match="expired"):
        entry_confirm(token=expired)
    entry.refresh_from_db()
    assert entry.confirmed_at is None
    assert entry_confirm(token=still_valid).confirmed_at is not None


def test_confirming_after_the_contest_closed_is_refused(contest):
    entry = entry_submit(**submission(contest))
    Contest.objects.filter(pk=contest.pk).update(closes_at=timezone.now())
    with pytest.raises(ContestError, match="closed before the entry was confirmed"):
        entry_confirm(token=entry_confirm_token(entry))
    entry.refresh_from_db()
    assert entry.confirmed_at is None


def test_resend_sends_a_new_working_link_at_most_once_an_hour(
    contest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = entry_submit(**submission(contest))
        entry_resend_confirmation(contest=contest, email="LUCY@example.org ")
        entry_resend_confirmation(contest=contest, email="lucy@example.org")
    keys = sorted(OutboxMessage.objects.values_list("key", flat=True))
    assert len(keys) == 2
    assert keys[0] == f"entry_confirm:{entry.pk}"
    assert keys[1].startswith(f"entry_confirm_again:{entry.pk}:")
    assert len(mail.outbox) == 2
    entry_confirm(token=confirm_link(mail.outbox[1]).split("/")[-2])
    entry.refresh_from_db()
    assert entry.confirmed_at is not None


def test_resend_is_silent_for_unknown_or_confirmed_addresses(contest):
    EntryFactory(contest=contest, email="confirmed@example.org")
    entry_resend_confirmation(contest=contest, email="confirmed@example.org")
    entry_resend_confirmation(contest=contest, email="nobody@example.org")
    assert not OutboxMessage.objects.exists()


def test_mail_goes_out_in_the_entrants_language(contest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry_submit(**submission(contest, language="fr"))
    assert OutboxMessage.objects.get().language == "fr"
    assert len(mail.outbox) == 1


# The same rules through the entry pages.


def test_entry_page_saves_the_entry_and_mails_a_link_that_shows_the_ticket(
    client, contest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(contest.get_absolute_url(), form_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("contests:entry_sent", args=[contest.slug])
    entry = Entry.objects.get()
    page = client.post(confirm_link(mail.outbox[0]))
    assert page.status_code == 200
    assert entry.ticket in page.content.decode()


def test_throwaway_mail_domain_is_refused_with_a_message(client, contest):
    response = client.post(contest.get_absolute_url(), form_data(email="lucy@mailinator.com"))
    assert response.status_code == 400
    assert "throwaway mail services are not accepted" in response.content.decode()
    assert not Entry.objects.exists()


def test_honeypot_entry_looks_accepted_but_is_dropped(client, contest):
    response = client.post(contest.get_absolute_url(), form_data(website="http://spam.example"))
    assert response.status_code == 302
    assert not Entry.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_hidden_honeypot_is_in_the_form_and_empty_honeypot_lets_people_in(client, contest):
    page = client.get(contest.get_absolute_url()).content.decode()
    assert 'name="website"' in page and "hp-field" in page
    response = client.post(contest.get_absolute_url(), form_data(website=""))
    assert response.status_code == 302
    assert Entry.objects.count() == 1


def test_entries_from_one_address_are_rate_limited(client, contest, settings):
    settings.ENTRY_RATE_LIMIT = "2/d"
    url = contest.get_absolute_url()
    assert client.post(url, form_data(email="a@example.org", twitter_handle="a")).status_code == 302
    assert client.post(url, form_data(email="b@example.org", twitter_handle="b")).status_code == 302
    response = client.post(url, form_data(email="c@example.org", twitter_handle="c"))
    assert response.status_code == 400
    assert "Too many entries from your network" in response.content.decode()
    assert sorted(Entry.objects.values_list("handle_normalized", flat=True)) == ["a", "b"]
    # Another address is not held back; reading the page is never limited.
    other = client.post(
        url, form_data(email="d@example.org", twitter_handle="d"), REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 302
    assert client.get(url).status_code == 200


def test_forms_sent_back_with_mistakes_do_not_use_up_the_rate_limit(client, contest, settings):
    """Someone who corrects a typo, or a crowd behind one address, is not held back by errors."""
    settings.ENTRY_RATE_LIMIT = "2/d"
    url = contest.get_absolute_url()
    for _ in range(5):
        mistake = client.post(url, form_data(email="a@example.org", twitter_handle="not valid!"))
        assert mistake.status_code == 400
        assert "Too many entries" not in mistake.content.decode()
    assert client.post(url, form_data(email="a@example.org", twitter_handle="a")).status_code == 302
    assert client.post(url, form_data(email="b@example.org", twitter_handle="b")).status_code == 302
    response = client.post(url, form_data(email="c@example.org", twitter_handle="c"))
    assert "Too many entries from your network" in response.content.decode()
    assert Entry.objects.count() == 2


@override_settings(
    ENTRY_RATE_LIMIT=base_settings.ENTRY_RATE_LIMIT,
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "crowd-behind-one-address",
        }
    },
)
def test_a_crowd_behind_one_address_all_enter_under_the_default_limit(client, contest):
    """A lab's network or a venue's Wi-Fi shows one address for everyone behind it
    (one NAT): on a launch day dozens of colleagues enter from it within the hour."""
    cache.clear()
    url = contest.get_absolute_url()
    for number in range(30):
        data = form_data(
            email=f"colleague{number}@example.org", twitter_handle=f"colleague_{number}"
        )
        response = client.post(url, data, REMOTE_ADDR="192.0.2.10")
        assert response.status_code == 302, f"colleague {number} was refused"
    assert Entry.objects.filter(contest=contest).count() == 30


def test_entry_page_refuses_entries_before_opening_and_after_closing(client):
    now = timezone.now()
    upcoming = ContestFactory(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    closed = ContestFactory(opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=1))
    for contest, message in ((upcoming, "not open yet"), (closed, "closed")):
        page = client.get(contest.get_absolute_url()).content.decode()
        assert 'name="accept_rules"' not in page
        assert message in page
        response = client.post(contest.get_absolute_url(), form_data())
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Entry.objects.exists()


def test_expired_link_shows_a_clear_page_with_the_way_to_a_new_link(client, contest):
    entry = entry_submit(**submission(contest))
    url = reverse("contests:confirm", args=[token_signed_days_ago(entry, 8)])
    response = client.get(url)
    assert response.status_code == 400
    content = response.content.decode()
    assert "This confirmation link has expired." in content
    assert reverse("contests:confirm_again", args=[contest.slug]) in content
    entry.refresh_from_db()
    assert entry.confirmed_at is None


def test_expired_link_with_zero_max_age(client, contest, settings):
    settings.ENTRY_CONFIRM_MAX_AGE = timedelta(0)
    entry = entry_submit(**submission(contest))
    time.sleep(0.01)
    response = client.get(reverse("contests:confirm", args=[entry_confirm_token(entry)]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_confirm_again_page_sends_a_new_link_that_confirms(
    client, contest, django_capture_on_commit_callbacks
):
    entry = entry_submit(**submission(contest))
    url = reverse("contests:confirm_again", args=[contest.slug])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"email": "LUCY@example.org"}, follow=True)
    assert response.status_code == 200
    assert "a new confirmation link is on its way" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["Lucy@Example.org"]
    page = client.post(confirm_link(message))
    assert page.status_code == 200 and entry.ticket in page.content.decode()


def test_confirm_again_says_the_same_for_an_unknown_address(
    client, contest, django_capture_on_commit_callbacks
):
    url = reverse("contests:confirm_again", args=[contest.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"email": "nobody@example.org"}, follow=True)
    assert "a new confirmation link is on its way" in response.content.decode()
    assert mail.outbox == []


def test_html_in_name_and_motivation_is_escaped_on_pages_and_in_mail(
    client, contest, django_capture_on_commit_callbacks
):
    data = form_data(name=SCRIPT, motivation=f"{SCRIPT} <b>bold</b> & more")
    # Refused (no languages): the form shows back what was typed, escaped.
    response = client.post(contest.get_absolute_url(), {**data, "languages": []})
    assert response.status_code == 400
    page = response.content.decode()
    assert SCRIPT not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(contest.get_absolute_url(), data).status_code == 302
    entry = Entry.objects.get()
    assert entry.name == SCRIPT  # kept as typed, escaped when shown
    [message] = mail.outbox
    html = message.alternatives[0].content
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
    assert f"Hello {SCRIPT}," in message.body  # text/plain is never interpreted
    confirmed = client.get(confirm_link(message)).content.decode()
    assert SCRIPT not in confirmed
