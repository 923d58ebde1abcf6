"""The back office for contests, entries and the outbox, as the staff groups see it."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import display_for_value
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests import selectors
from contests.models import Contest, Entry
from contests.services.entries import entry_resend_confirmation
from notifications.models import OutboxMessage
from tests.contests.drawing import frozen_contest
from tests.factories import ContestFactory, EntryFactory, staff_user
from tweetup.roles import ORGANIZERS, TOUR_ADMINS

pytestmark = pytest.mark.django_db

ENTRIES = reverse("admin:contests_entry_changelist")


def listed(client, **params) -> set[str]:
    response = client.get(ENTRIES, params)
    assert response.status_code == 200
    return {entry.ticket for entry in response.context["cl"].result_list}


def test_organizers_search_entries_by_name_email_handle_and_ticket(organizer_client):
    ada = EntryFactory(
        name="Ada Lovelace", email="ada@example.org", twitter_handle="ada_l", ticket="AAAA-1111"
    )
    EntryFactory(contest=ada.contest, name="Marie Curie", ticket="BBBB-2222")
    for term in ("Lovelace", "ada@example", "ada_l", "AAAA-1111"):
        assert listed(organizer_client, q=term) == {"AAAA-1111"}, term


def test_organizers_filter_entries_by_contest_confirmed_country_language_and_background(
    organizer_client,
):
    contest = ContestFactory()
    other = ContestFactory()
    swiss = EntryFactory(
        contest=contest,
        ticket="CH00-0001",
        country="CH",
        languages=["fr", "de"],
        background="science",
        language="fr",
    )
    unconfirmed = EntryFactory(
        contest=contest,
        ticket="IE00-0002",
        country="IE",
        languages=["en", "ga"],
        background="other",
        language="en",
        confirmed_at=None,
    )
    EntryFactory(contest=other, ticket="OT00-0003", country="CH", languages=["de"])

    assert listed(organizer_client, contest__id__exact=contest.pk) == {
        swiss.ticket,
        unconfirmed.ticket,
    }
    assert listed(organizer_client, contest__id__exact=contest.pk, confirmed="no") == {
        unconfirmed.ticket
    }
    assert listed(organizer_client, contest__id__exact=contest.pk, confirmed="yes") == {
        swiss.ticket
    }
    assert listed(organizer_client, country="CH") == {swiss.ticket, "OT00-0003"}
    assert listed(organizer_client, speaks="ga") == {unconfirmed.ticket}
    assert listed(organizer_client, speaks="de") == {swiss.ticket, "OT00-0003"}
    assert listed(organizer_client, background__exact="other") == {unconfirmed.ticket}
    assert listed(organizer_client, language__exact="fr") == {swiss.ticket}


def change_form_data(client, entry: Entry) -> dict:
    form = (
        client.get(reverse("admin:contests_entry_change", args=[entry.pk]))
        .context["adminform"]
        .form
    )
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, False):
            data[name] = value
    return data


def test_editing_an_entrys_email_and_handle_keeps_the_one_entry_rule(organizer_client):
    entry = EntryFactory(email="typo@exmaple.org", twitter_handle="lucy_m")
    other = EntryFactory(contest=entry.contest, email="marie@example.org", twitter_handle="marie")
    url = reverse("admin:contests_entry_change", args=[entry.pk])
    data = change_form_data(organizer_client, entry)

    response = organizer_client.post(
        url, {**data, "email": " Lucy@Example.ORG ", "twitter_handle": "@Lucy_McK"}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.email, entry.email_normalized) == ("Lucy@Example.ORG", "lucy@example.org")
    assert (entry.twitter_handle, entry.handle_normalized) == ("Lucy_McK", "lucy_mck")

    response = organizer_client.post(
        url, {**data, "email": "MARIE@example.org", "twitter_handle": "MARIE"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Another entry in this contest uses this address." in page
    assert "Another entry in this contest uses this handle." in page
    entry.refresh_from_db()
    assert entry.email_normalized == "lucy@example.org"
    assert other.email_normalized == "marie@example.org"


def test_a_new_contest_in_the_admin_starts_as_a_draft(organizer_client):
    page = organizer_client.get(reverse("admin:contests_contest_add")).content.decode()
    [checkbox] = re.findall(r'<input type="checkbox" name="published"[^>]*>', page)
    assert "checked" not in checkbox


def test_a_contest_made_in_the_admin_gets_a_real_seed_and_commitment(organizer_client):
    now = timezone.localtime()
    response = organizer_client.post(
        reverse("admin:contests_contest_add"),
        {
            "title_en": "Night at the museum",
            "slug": "night-at-the-museum",
            "hashtag_en": "MuseumNight",
            "description_en": "A night behind the scenes.",
            "rules_en": "One entry per person.",
            "published": "on",
            "time_zone": "Europe/Paris",
            "opens_at_0": now.strftime("%Y-%m-%d"),
            "opens_at_1": "08:00:00",
            "closes_at_0": (now + timedelta(days=10)).strftime("%Y-%m-%d"),
            "closes_at_1": "20:00:00",
            "winners_count": "5",
            "alternates_count": "5",
            "acceptance_hours": "72",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    contest = Contest.objects.get(slug="night-at-the-museum")
    assert len(bytes(contest.seed)) == 32
    assert len(contest.commitment) == 64
    assert contest.commitment != ContestFactory().commitment


def test_staff_groups_have_the_permissions_of_their_role(client):
    organizer = staff_user("orga", ORGANIZERS)
    tour_admin = staff_user("guide", TOUR_ADMINS)
    for permission in (
        "contests.add_contest",
        "contests.change_contest",
        "contests.change_entry",
        "contests.view_entry",
        "notifications.view_outboxmessage",
        "notifications.change_outboxmessage",
        "visitors.view_siteaccess",
    ):
        assert organizer.has_perm(permission), permission
    assert not organizer.has_perm("contests.delete_contest")
    assert not organizer.has_perm("visits.change_tourstop")
    assert tour_admin.has_perm("visits.change_tourstop")
    assert tour_admin.has_perm("contests.view_contest")
    for permission in (
        "contests.view_entry",
        "notifications.view_outboxmessage",
        "visitors.view_siteaccess",
    ):
        assert not tour_admin.has_perm(permission), permission

    client.force_login(tour_admin)
    assert client.get(ENTRIES).status_code == 403
    assert client.get(reverse("admin:notifications_outboxmessage_changelist")).status_code == 403


def test_organizers_filter_the_outbox_by_status_and_resend(
    organizer_client, django_capture_on_commit_callbacks
):
    contest = ContestFactory()
    pending = EntryFactory(contest=contest, confirmed_at=None)
    failed = EntryFactory(contest=contest, confirmed_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        entry_resend_confirmation(contest=contest, email=pending.email)
        entry_resend_confirmation(contest=contest, email=failed.email)
    failed_row = OutboxMessage.objects.get(to_email=failed.email)
    OutboxMessage.objects.filter(pk=failed_row.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=12, last_error="SMTPServerDisconnected"
    )
    changelist = reverse("admin:notifications_outboxmessage_changelist")

    response = organizer_client.get(changelist, {"status__exact": "failed"})
    assert [row.pk for row in response.context["cl"].result_list] == [failed_row.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(
            changelist, {"action": "resend", "_selected_action": [failed_row.pk]}
        )
    assert response.status_code == 302
    failed_row.refresh_from_db()
    assert failed_row.status == OutboxMessage.Status.SENT
    assert [message.to for message in mail.outbox] == [[failed.email]]


def test_the_back_office_speaks_the_staff_members_language(organizer_client, settings):
    organizer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = organizer_client.get(reverse("admin:index")).content.decode()
    assert "<title>Administration | TweetUp</title>" in page


def filter_choices(response, parameter_name: str) -> list[str]:
    spec = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == parameter_name
    )
    return [value for value, _label in spec.lookup_choices]


def test_country_and_language_filters_offer_only_the_values_in_use(organizer_client):
    EntryFactory(country="CH", languages=["fr", "de"])
    EntryFactory(country="IE", languages=["ga", "en"])
    EntryFactory(country="CH", languages=["fr"], confirmed_at=None)
    response = organizer_client.get(ENTRIES)
    # Sorted by name: Ireland before Switzerland; English, French, German, Irish.
    assert filter_choices(response, "country") == ["IE", "CH"]
    assert filter_choices(response, "speaks") == ["en", "fr", "de", "ga"]
    page = response.content.decode()
    assert "?speaks=ja" not in page and "?country=JP" not in page


def test_the_values_in_use_are_read_in_one_query_each(django_assert_num_queries):
    for number in range(20):
        EntryFactory(
            country=("CH", "FR")[number % 2], languages=["fr", "en", "it"][: number % 3 + 1]
        )
    with django_assert_num_queries(1):
        assert sorted(selectors.entry_languages_in_use()) == ["en", "fr", "it"]
    with django_assert_num_queries(1):
        assert sorted(selectors.entry_countries_in_use()) == ["CH", "FR"]


def test_searching_a_handle_with_its_at_sign_finds_the_entry(organizer_client):
    ada = EntryFactory(twitter_handle="ada_l", ticket="AAAA-1111")
    EntryFactory(contest=ada.contest, twitter_handle="marie", ticket="BBBB-2222")
    assert listed(organizer_client, q="@ada_l") == {"AAAA-1111"}
    assert listed(organizer_client, q="@ADA_L") == {"AAAA-1111"}


def test_an_entrys_page_shows_the_languages_it_speaks(organizer_client):
    entry = EntryFactory(languages=["fr", "ga"])
    response = organizer_client.get(reverse("admin:contests_entry_change", args=[entry.pk]))
    assert "French, Irish" in response.content.decode()


def in_draw_cells(client, contest) -> list[str]:
    page = client.get(ENTRIES, {"contest__id__exact": contest.pk}).content.decode()
    return re.findall(r'<td class="field-in_draw_once_frozen">(.*?)</td>', page)


def test_in_the_draw_says_nothing_before_the_freeze(organizer_client):
    contest = ContestFactory()
    EntryFactory(contest=contest)
    assert in_draw_cells(organizer_client, contest) == ["—"]


def test_in_the_draw_says_yes_or_no_once_the_contest_is_frozen(organizer_client):
    contest = frozen_contest(1)
    EntryFactory(contest=contest, confirmed_at=contest.closes_at + timedelta(minutes=5))
    cells = in_draw_cells(organizer_client, contest)
    assert sorted(cells) == sorted(
        [display_for_value(True, "", boolean=True), display_for_value(False, "", boolean=True)]
    )


def test_a_contests_page_links_to_its_dashboard_and_once_frozen_its_results(organizer_client):
    contest = ContestFactory()
    change = reverse("admin:contests_contest_change", args=[contest.pk])
    dashboard = reverse("contests:dashboard", kwargs={"slug": contest.slug})
    results = reverse("contests:results", kwargs={"slug": contest.slug})
    page = organizer_client.get(change).content.decode()
    assert f'href="{dashboard}" id="contest-dashboard-link"' in page
    assert 'id="contest-results-link"' not in page

    frozen = frozen_contest(2)
    page = organizer_client.get(
        reverse("admin:contests_contest_change", args=[frozen.pk])
    ).content.decode()
    assert f'href="{reverse("contests:results", kwargs={"slug": frozen.slug})}"' in page
    assert results not in page


def test_tour_admins_get_no_dashboard_link_they_could_not_open(client):
    ContestFactory()
    client.force_login(staff_user("guide", TOUR_ADMINS))
    response = client.get(reverse("admin:contests_contest_changelist"))
    assert "dashboard_link" not in response.context["cl"].list_display


def test_an_entrys_page_says_nothing_of_the_draw_before_the_freeze(organizer_client):
    entry = EntryFactory()
    response = organizer_client.get(reverse("admin:contests_entry_change", args=[entry.pk]))
    page = response.content.decode()
    assert re.search(r'field-in_draw_once_frozen.*?<div class="readonly">—</div>', page, re.S)
    assert "icon-no.svg" not in page
