"""Whatever is sent to the entry pages, the answer is never a server error.

Hypothesis sends arbitrary text (unicode, control characters, NUL bytes,
very long strings), lists where one value is expected and missing fields,
both on their own and mixed into an otherwise valid entry so that the
input reaches the services and the database.
"""

from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from contests.models import Entry
from notifications.models import OutboxMessage
from tests.factories import ContestFactory, entry_form_data

pytestmark = pytest.mark.django_db

FIELDS = (
    "name",
    "email",
    "twitter_handle",
    "country",
    "languages",
    "background",
    "background_other",
    "motivation",
    "language",
    "publish_handle",
    "accept_rules",
    "website",
)

VALID = entry_form_data(email="lucy@example.org")

PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a browser can send (no lone surrogates): any code point, control
# characters and NUL included, short or very long.
any_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=3000),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\r\n", "\u202e", "İ" * 300, "🎉" * 500]),
)
# Any character a person may type: letters, marks, symbols, emoji, spaces.
printable = st.characters(exclude_categories=["Cs", "Cc", "Co", "Cn"])
# Addresses that pass or nearly pass validation, with unicode domains whose
# lower case is longer than what was typed.
domain_label = st.one_of(
    st.text(alphabet="abİßΣ", min_size=1, max_size=63),
    st.integers(min_value=40, max_value=63).map(lambda n: "İ" * n),
)
near_emails = st.one_of(
    st.emails(),
    st.builds(
        lambda local, labels: f"{local}@{'.'.join(labels)}.com",
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
        st.lists(domain_label, min_size=2, max_size=3),
    ),
)
near_handles = st.one_of(
    st.from_regex(r"@?[A-Za-z0-9_]{1,15}", fullmatch=True),
    st.builds(lambda h: f"https://x.com/{h}", st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)),
)
odd_handles = st.one_of(
    near_handles,
    st.builds(lambda h: f"https://x.com/{h}", st.from_regex(r"[A-Za-z0-9_]{0,20}", fullmatch=True)),
)
field_value = st.one_of(
    any_text,
    st.lists(any_text, min_size=0, max_size=4),
    st.sampled_from(["on", "true", "other", "fr", "en", "CH", "science", "zz"]),
)


def clean_cache() -> None:
    cache.clear()


def post(client, url: str, data: dict):
    # Django's client refuses None; a missing field is simply left out.
    return client.post(url, {key: value for key, value in data.items() if value is not None})


@pytest.fixture
def contest():
    return ContestFactory(slug="property")


@PROPERTY_SETTINGS
@given(data=st.dictionaries(st.sampled_from(FIELDS + ("extra", "")), field_value, max_size=14))
def test_arbitrary_form_data_never_gives_a_server_error(client, contest, data):
    response = post(client, contest.get_absolute_url(), data)
    assert response.status_code in (302, 400), response.status_code


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(FIELDS),
    value=st.one_of(field_value, st.none(), near_emails, odd_handles),
    suffix=st.integers(min_value=0, max_value=10**9),
)
def test_one_odd_field_in_a_valid_entry_never_gives_a_server_error(
    client, contest, field, value, suffix
):
    clean_cache()
    data = {
        **VALID,
        "email": f"lucy{suffix}@example.org",
        "twitter_handle": f"l{suffix}",
        field: value,
    }
    entries_before = Entry.objects.count()
    response = post(client, contest.get_absolute_url(), data)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert Entry.objects.count() == entries_before  # nothing half-saved
    # Every saved entry has its confirmation mail queued with it (a form sent again
    # for an entry gets its holder a reminder instead).
    confirmations = OutboxMessage.objects.filter(key__startswith="entry_confirm:")
    assert confirmations.count() == Entry.objects.count()


@PROPERTY_SETTINGS
@given(
    email=near_emails,
    handle=near_handles,
    name=st.text(alphabet=printable, min_size=1, max_size=100).filter(str.strip),
    motivation=st.text(alphabet=printable, min_size=10, max_size=1000).filter(
        lambda text: len(text.strip()) >= 10
    ),
)
def test_odd_but_plausible_entries_are_saved_or_refused_cleanly(
    client, contest, email, handle, name, motivation
):
    clean_cache()
    # Each example starts with no entries, so none is refused as a second entry.
    OutboxMessage.objects.all().delete()
    Entry.objects.all().delete()
    # Steer towards addresses whose lower case grows (İ → i̇).
    target(len(email.lower()) - len(email))
    data = {
        **VALID,
        "email": email,
        "twitter_handle": handle,
        "name": name,
        "motivation": motivation,
    }
    response = post(client, contest.get_absolute_url(), data)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        entry = Entry.objects.get(email=email.strip())
        assert len(entry.email_normalized) <= 254


@PROPERTY_SETTINGS
@given(token=any_text)
def test_arbitrary_confirmation_links_never_give_a_server_error(client, token):
    response = client.get(f"/contests/confirm/{quote(token, safe='')}/")
    assert response.status_code in (400, 404), response.status_code


@PROPERTY_SETTINGS
@given(data=st.dictionaries(st.sampled_from(("email", "submit", "")), field_value, max_size=3))
def test_arbitrary_confirm_again_requests_never_give_a_server_error(client, contest, data):
    clean_cache()
    response = post(client, reverse("contests:confirm_again", args=[contest.slug]), data)
    assert response.status_code in (200, 302), response.status_code
