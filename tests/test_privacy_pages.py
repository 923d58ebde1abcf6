"""The privacy notice and the imprint: their details from the settings, linked from everywhere."""

from html import unescape

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from contests.services.entries import entry_submit
from tests.factories import ContestFactory, VisitFactory, entry_form_data
from tests.visitors.test_views import profile_path
from tests.visits.factories import visitor

pytestmark = pytest.mark.django_db

PRIVACY = "/privacy/"
IMPRINT = "/imprint/"


def test_the_privacy_notice_says_who_what_how_long_and_how_to_withdraw(client, settings):
    settings.PRIVACY_CONTROLLER_NAME = "Organisation Européenne"
    settings.PRIVACY_CONTACT_EMAIL = "dpo@lab.example"
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 45
    settings.PRIVACY_VISITOR_RETENTION_DAYS = 60
    settings.SITE_ACCESS_RETENTION_DAYS = 3
    assert reverse("privacy") == PRIVACY
    page = client.get(PRIVACY).content.decode()
    assert "Organisation Européenne" in page
    assert 'href="mailto:dpo@lab.example"' in page
    assert "removed 45 days after the draw" in page
    assert "removed 60 days after the visit" in page
    assert "deleted first, 3 days after the visit" in page
    assert 'id="withdraw"' in page and "date of birth" in page


def test_the_privacy_notice_and_the_imprint_are_in_french(client, settings):
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 45
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(PRIVACY).content.decode()
    assert "Protection des données" in page
    assert "45 jours après le tirage" in page
    assert "Mentions légales et contact" in client.get(IMPRINT).content.decode()


def test_the_imprint_shows_the_publisher_from_the_settings(client, settings):
    settings.IMPRINT_PUBLISHER = "CERN Communication"
    settings.IMPRINT_EMAIL = "press@lab.example"
    settings.IMPRINT_PHONE = "+41 22 767 00 00"
    settings.IMPRINT_RESPONSIBLE = "Jane Doe"
    page = client.get(IMPRINT).content.decode()
    for text in ("CERN Communication", "mailto:press@lab.example", "+41 22 767 00 00", "Jane Doe"):
        assert text in page
    assert f'href="{PRIVACY}"' in page


def test_every_page_links_both_in_its_footer(client):
    page = client.get(reverse("home")).content.decode()
    footer = page[page.index("<footer") :]
    assert f'href="{PRIVACY}"' in footer and f'href="{IMPRINT}"' in footer


def test_the_entry_form_links_the_notice_next_to_the_consent(client):
    contest = ContestFactory()
    page = client.get(contest.get_absolute_url()).content.decode()
    form = page[page.index('name="accept_rules"') :]
    assert 'id="entry-privacy"' in form[: form.index('name="website"')]
    assert f'href="{PRIVACY}"' in form[: form.index('name="website"')]


def test_the_visitors_profile_links_the_notice(client):
    page = client.get(profile_path(visitor(VisitFactory()))).content.decode()
    assert 'id="profile-privacy"' in page and f'href="{PRIVACY}"' in page


def test_every_mails_footer_links_the_notice(mailoutbox, django_capture_on_commit_callbacks):
    contest = ContestFactory()
    data = {k: v for k, v in entry_form_data().items() if k not in ("accept_rules", "website")}
    with django_capture_on_commit_callbacks(execute=True):
        entry_submit(contest=contest, **data)
        visitor(VisitFactory())  # The welcome mail of the visitors app.
    assert len(mailoutbox) >= 2  # The entry confirmation, the winner's, the welcome.
    url = f"{django_settings.SITE_URL}{PRIVACY}"
    for message in mailoutbox:
        [(html, _type)] = message.alternatives
        assert f"Privacy notice: {url}" in message.body
        assert f'href="{url}"' in html


def test_the_privacy_notice_says_what_is_public_and_how_long_alternates_are_kept(client, settings):
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 45
    settings.PRIVACY_CONTACT_EMAIL = "dpo@lab.example"
    page = unescape(client.get(PRIVACY).content.decode())
    public = page.split('id="public"')[1].split('id="retention"')[0]
    assert "results and live-draw pages" in public
    assert "your handle if you agreed to it in the entry form, otherwise your first name" in public
    assert "display name, handle, languages and bio are shown on the visit's public page" in (
        public
    )
    assert (
        "Winners and alternates who decline their place, let their offer expire or are "
        "disqualified: their name, email, handle and motivation are removed 45 days after the draw"
    ) in page
    assert "Alternates never offered a place" in page
    assert "removed 45 days after the draw, once the visit's day is over" in page
    assert page.count('href="mailto:dpo@lab.example"') == 2
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(PRIVACY).content.decode()
    assert "pages publiques des résultats et du tirage en direct" in page
