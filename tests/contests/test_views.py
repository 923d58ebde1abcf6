"""The public contest pages and the entry flow through HTTP."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from contests.forms import EntryForm
from contests.models import Contest, Entry
from contests.services.draws import contest_freeze
from contests.services.entries import entry_confirm_token
from notifications.models import OutboxMessage
from tests.builders import drawn_contest
from tests.contests import drawing
from tests.contests.drawing import add_entries, frozen_contest
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
    # Opening the link asks to confirm and changes nothing; the button confirms.
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert 'id="confirm-form"' in page.content.decode()
    entry.refresh_from_db()
    assert entry.confirmed_at is None
    page = client.post(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    entry.refresh_from_db()
    assert entry.confirmed_at is not None
    assert entry.ticket in page.content.decode()


def test_a_second_entry_gets_the_same_answer_as_a_first_one(client, contest):
    """The form does not tell anyone whether an address or a handle has entered."""
    EntryFactory(contest=contest, email="lucy@example.org", twitter_handle="other")
    response = client.post(contest.get_absolute_url(), entry_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("contests:entry_sent", args=[contest.slug])
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


def test_tampered_confirmation_link_offers_a_new_link_for_each_open_contest(client):
    """A damaged link names no contest; the entrant picks the one they entered."""
    first = ContestFactory(title="Open one")
    second = ContestFactory(title="Open two")
    closed = ContestFactory(
        opens_at=timezone.now() - timedelta(days=9), closes_at=timezone.now() - timedelta(days=1)
    )
    entry = EntryFactory(contest=first, confirmed_at=None)
    response = client.get(reverse("contests:confirm", kwargs={"token": f"{entry.pk}:abc:def"}))
    assert response.status_code == 400
    content = response.content.decode()
    assert "This confirmation link is not valid." in content
    for contest in (first, second):
        assert reverse("contests:confirm_again", args=[contest.slug]) in content
    assert reverse("contests:confirm_again", args=[closed.slug]) not in content
    entry.refresh_from_db()
    assert entry.confirmed_at is None


def test_expired_link_of_a_closed_contest_offers_no_new_link(client):
    contest = ContestFactory(
        opens_at=timezone.now() - timedelta(days=9), closes_at=timezone.now() - timedelta(days=1)
    )
    entry = EntryFactory(contest=contest, confirmed_at=None)
    response = client.get(reverse("contests:confirm", args=[entry_confirm_token(entry)]))
    assert response.status_code == 400
    content = response.content.decode()
    assert "closed before the entry was confirmed" in content
    assert reverse("contests:confirm_again", args=[contest.slug]) not in content
    assert contest.get_absolute_url() in content


def test_contest_list_pages_through_every_contest(client):
    for number in range(23):
        ContestFactory(title=f"Listed contest {number:02d}")
    first = client.get(reverse("contests:list"))
    assert first.status_code == 200
    assert first.content.decode().count("card-title") == 20
    second = client.get(reverse("contests:list"), {"page": 2})
    assert second.content.decode().count("card-title") == 3
    assert client.get(reverse("contests:list"), {"page": "x<"}).status_code == 200


def test_refused_entry_says_what_to_fix_and_keeps_everything_typed_correctly(client, contest):
    data = entry_data(
        name="Zoë <b>Dupont</b>",
        twitter_handle="@not a handle!",
        motivation="Bonjour — j'explique la physique aux enfants ✨",
        language="fr",
        accept_rules="",
    )
    del data["accept_rules"]
    response = client.post(contest.get_absolute_url(), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a handle of 1 to 15 letters, digits or underscores, like @CERN." in page
    assert "Accept the rules to enter the contest." in page
    assert 'value="Zoë &lt;b&gt;Dupont&lt;/b&gt;"' in page
    assert 'value="Lucy@Example.org"' in page
    assert 'value="@not a handle!"' in page  # shown again so it can be corrected
    assert re.search(r'<option value="IE"\s+selected>', page)
    for code in ("en", "ga"):
        assert re.search(rf'<option value="{code}"\s+selected>', page)
    assert re.search(r'<option value="communication"\s+selected>', page)
    assert re.search(r'<option value="fr"\s+selected>', page)
    assert "Bonjour — j&#x27;explique la physique aux enfants ✨</textarea>" in page
    assert not Entry.objects.exists()


def test_empty_entry_names_each_missing_field(client, contest):
    response = client.post(contest.get_absolute_url(), {})
    assert response.status_code == 400
    page = response.content.decode()
    for message in (
        "Choose the country you live in.",
        "Choose at least one language you speak.",
        "Accept the rules to enter the contest.",
    ):
        assert message in page


@pytest.mark.parametrize(("page_language", "mail_language"), [("fr", "fr"), ("en", "en")])
def test_mail_language_starts_as_the_language_of_the_page(
    client, contest, settings, page_language, mail_language
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = page_language
    response = client.get(contest.get_absolute_url())
    assert response.context["form"]["language"].value() == mail_language
    assert f'<option value="{mail_language}" selected>' in response.content.decode()


def test_mail_language_is_english_when_the_page_language_is_neither(contest):
    with translation.override("de"):
        assert EntryForm()["language"].value() == "en"


def test_mail_language_chosen_by_the_entrant_stands(client, contest, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    client.post(contest.get_absolute_url(), entry_data(language="en"))
    assert Entry.objects.get().language == "en"


def test_motivation_help_gives_its_minimum_and_maximum_length(client, contest):
    field = EntryForm().fields["motivation"]
    assert (field.min_length, field.max_length) == (10, 1000)
    page = client.get(contest.get_absolute_url()).content.decode()
    assert "Between 10 and 1000 characters." in page


def closed_contest() -> Contest:
    return ContestFactory(
        opens_at=timezone.now() - timedelta(days=9), closes_at=timezone.now() - timedelta(days=1)
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_new_link_page_of_a_closed_contest_says_so_and_offers_no_form(client, method):
    contest = closed_contest()
    entry = EntryFactory(contest=contest, confirmed_at=None)
    url = reverse("contests:confirm_again", args=[contest.slug])
    response = getattr(client, method)(url, {"email": entry.email})
    assert response.status_code == 200
    page = response.content.decode()
    assert "This contest is closed: entries can no longer be confirmed." in page
    assert 'name="email"' not in page
    assert contest.get_absolute_url() in page
    assert not OutboxMessage.objects.exists()


def test_new_link_page_of_an_upcoming_contest_offers_no_form(client):
    contest = ContestFactory(opens_at=timezone.now() + timedelta(days=1))
    page = client.get(reverse("contests:confirm_again", args=[contest.slug])).content.decode()
    assert "This contest is not open yet: there is no entry to confirm." in page
    assert 'name="email"' not in page


def test_new_link_page_of_an_open_contest_offers_the_form(client, contest):
    page = client.get(reverse("contests:confirm_again", args=[contest.slug])).content.decode()
    assert 'name="email"' in page


def _form_fields(html: str) -> dict[str, list[str]]:
    """Every named input a browser would submit from the entry form (hidden ones included)."""
    form = html.split('id="entry-form"', 1)[1].split("</form>", 1)[0]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    return fields


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_visitor_gets_a_token_of_their_own_when_the_form_is_cached(contest, language):
    """Several distinct visitors, one after another with the form's cache warm,
    each get one CSRF token (their own) and each can enter."""
    from django.core.cache import cache
    from django.test import Client

    cache.clear()
    for number in range(3):
        visitor = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
        page = visitor.get(contest.get_absolute_url()).content.decode()
        tokens = _form_fields(page)["csrfmiddlewaretoken"]
        assert len(tokens) == 1, f"visitor {number} was given {len(tokens)} tokens"
        data = entry_data(email=f"visitor{number}@example.org", twitter_handle=f"visitor_{number}")
        response = visitor.post(
            contest.get_absolute_url(), {**data, "csrfmiddlewaretoken": tokens[0]}
        )
        assert response.status_code == 302, f"visitor {number} got {response.status_code}"
    assert Entry.objects.filter(contest=contest).count() == 3


def test_a_form_sent_back_opens_on_its_error_summary_which_is_never_cached(client, contest):
    """The summary leads to each mistake's field and the page reloads at the form;
    the next visitor gets the cached empty form, without anybody's mistakes."""
    from django.core.cache import cache

    cache.clear()
    client.get(contest.get_absolute_url())  # Warms the cache with the empty form.
    response = client.post(contest.get_absolute_url(), entry_data(name="", twitter_handle="a b"))
    assert response.status_code == 400
    page = response.content.decode()
    assert '<form method="post" id="entry-form" action="#entry-form" novalidate>' in page
    summary = page.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert 'role="alert" tabindex="-1"' in page.split("data-error-summary", 1)[0][-300:]
    assert re.findall(r'<a href="#(\w+)">', summary) == ["id_name", "id_twitter_handle"]
    assert "Your name: This field is required." in summary
    assert 'value="a b"' in page
    assert len(_form_fields(page)["csrfmiddlewaretoken"]) == 1

    fresh = client.get(contest.get_absolute_url()).content.decode()
    assert "data-error-summary" not in fresh and 'value="a b"' not in fresh
    assert len(_form_fields(fresh)["csrfmiddlewaretoken"]) == 1


def test_background_is_not_chosen_for_the_entrant(client, contest):
    """The background starts empty, and an entry without one is refused by name."""
    page = client.get(contest.get_absolute_url()).content.decode()
    select = page.split('name="background"', 1)[1].split("</select>", 1)[0]
    assert re.search(r'<option value="" selected>', select)
    assert len(re.findall(r"\bselected\b", select)) == 1
    response = client.post(contest.get_absolute_url(), entry_data(background=""))
    assert response.status_code == 400
    assert "Choose the background closest to yours." in response.content.decode()
    assert not Entry.objects.exists()


def test_links_in_the_description_and_rules_are_clickable_and_the_rest_stays_text(client):
    contest = ContestFactory(
        description="Read https://home.cern/about first. <script>alert(1)</script>",
        rules="Full rules: https://example.org/rules <b>bold</b>",
    )
    page = client.get(reverse("contests:detail", kwargs={"slug": contest.slug})).content.decode()
    assert '<a href="https://home.cern/about" rel="nofollow">https://home.cern/about</a>' in page
    assert '<a href="https://example.org/rules" rel="nofollow">' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_the_french_entry_form_asks_its_question_without_a_gender():
    """The French "Pourquoi devriez-vous être présent ?" spoke to men only; it is
    worded so that it needs no agreement."""
    with translation.override("fr"):
        label = str(EntryForm().fields["motivation"].label)
    assert label == "Pourquoi devriez-vous faire partie de la visite ?"


# What a closed contest's page says comes next, and its counts --------------------------


def test_a_closed_contest_says_the_draw_follows_without_links_yet(client):
    contest = closed_contest()
    page = client.get(contest.get_absolute_url()).content.decode()
    assert "the list of tickets in the draw is frozen and the draw follows" in page
    assert 'id="draw-links"' not in page


def test_a_frozen_contest_explains_its_badge_and_links_the_ticket_check_and_live_draw(client):
    contest = frozen_contest(entries=3)
    page = client.get(contest.get_absolute_url()).content.decode()
    badge = re.search(r'<span [^>]*id="contest-state"[^>]*>', page).group(0)
    assert 'title="Entries are closed and the list of tickets in the draw is fixed' in badge
    assert "its list of tickets is frozen: the tickets in the draw can no longer change" in page
    assert f'href="{reverse("contests:results", args=[contest.slug])}"' in page
    assert f'href="{reverse("contests:live_draw", args=[contest.slug])}"' in page
    assert "draw.json" not in page and "is published after the draw" in page


def test_a_drawn_contest_shows_its_seed_and_links_results_replay_and_audit_record(client):
    contest, _draw = drawn_contest()
    page = client.get(contest.get_absolute_url()).content.decode()
    assert "is published after the draw" not in page
    assert "the seed is now published too" in page
    assert f'<p class="hash" id="seed">{bytes(contest.seed).hex()}</p>' in page
    for name, text in (
        ("results", "See the results"),
        ("live_draw", "Watch the draw again"),
        ("draw_json", "Audit record (draw.json)"),
    ):
        assert f'href="{reverse(f"contests:{name}", args=[contest.slug])}">{text}</a>' in page


def test_cards_of_a_frozen_contest_count_the_tickets_in_the_draw_as_its_page_does(client):
    contest = drawing.closed_contest(title="Frozen one")
    entries = add_entries(contest, 4)
    Entry.objects.filter(pk=entries[0].pk).update(
        invalidated_at=timezone.now() - timedelta(hours=1), invalid_reason="Duplicate."
    )
    contest = contest_freeze(contest=contest, actor=None)
    assert contest.tickets_count == 3
    detail = client.get(contest.get_absolute_url()).content.decode()
    assert "3 tickets in the draw" in detail
    for path in ("/", reverse("contests:list")):
        page = client.get(path).content.decode()
        assert "3 tickets in the draw" in page and "4 confirmed entries" not in page


# The languages of the entry form -----------------------------------------------------------


def test_common_languages_are_checkboxes_and_the_others_a_list_both_sent_as_languages(client):
    contest = ContestFactory()
    page = client.get(contest.get_absolute_url()).content.decode()
    assert "Ctrl or ⌘ to choose several" not in page
    assert re.search(
        r'<input class="form-check-input" type="checkbox" name="languages" value="en"', page
    )
    assert re.search(
        r'<input class="form-check-input" type="checkbox" name="languages" value="fr"', page
    )
    other = re.search(r'<select [^>]*name="languages"[^>]*multiple[^>]*>(.*?)</select>', page, re.S)
    assert other and 'value="br"' in other.group(1) and 'value="en"' not in other.group(1)
    response = client.post(
        contest.get_absolute_url(), entry_data(languages=["fr", "br"], email="two@example.org")
    )
    assert response.status_code == 302
    assert sorted(Entry.objects.get(email="two@example.org").languages) == ["br", "fr"]


def test_an_entry_with_no_language_ticked_or_chosen_keeps_its_error_and_choices(client):
    contest = ContestFactory()
    data = entry_data()
    del data["languages"]
    response = client.post(contest.get_absolute_url(), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose at least one language you speak." in page
    assert '<a href="#id_languages">Languages you speak: Choose at least one' in page
    assert re.search(r'<input class="form-check-input is-invalid"[^>]*id="id_languages"', page)
    response = client.post(
        contest.get_absolute_url(), {**data, "name": "", "languages": ["de", "br"]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'value="de" id="id_languages_2" checked>', page)
    assert not re.search(r'value="fr" id="id_languages_1" checked>', page)
    assert '<option value="br" selected>' in page
