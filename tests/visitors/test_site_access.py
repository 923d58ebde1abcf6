"""Site-access details: asked only when the visit says so, seen by organizers only, purged first."""

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from contests.services import exports
from notifications.models import OutboxMessage
from tests.visitors.test_views import profile_path, profile_post
from tests.visits.factories import visitor
from tweetup.models import AuditEntry
from tweetup.privacy import personal_data_remove
from visitors.models import SiteAccess
from visitors.services.messages import visit_message_send

pytestmark = pytest.mark.django_db

NUMBER = "ZQ9081726"
SITE_ACCESS_POST = {
    "site_access_name_on_document": "LOVELACE Augusta Ada",
    "site_access_nationality": "GB",
    "site_access_date_of_birth": "1990-12-10",
    "site_access_document_type": "passport",
    "site_access_document_number": NUMBER,
}


@pytest.fixture
def asking_visit(visit):
    visit.collects_site_access = True
    visit.save(update_fields=["collects_site_access"])
    return visit


def given(client, profile, django_capture_on_commit_callbacks) -> None:
    """The visitor fills in the profile with the site-access details and confirms."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(profile_path(profile), profile_post(**SITE_ACCESS_POST))
    assert response.status_code == 302, response.content.decode()


def read(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def export_path(visit) -> str:
    return reverse("visitors:site_access_export", kwargs={"slug": visit.slug})


def test_the_profile_asks_for_the_details_only_when_the_visit_does(client, visit):
    profile = visitor(visit)
    page = client.get(profile_path(profile)).content.decode()
    assert "site_access_document_number" not in page
    visit.collects_site_access = True
    visit.save(update_fields=["collects_site_access"])
    page = client.get(profile_path(profile)).content.decode()
    for name in SITE_ACCESS_POST:
        assert f'name="{name}"' in page
    assert 'id="site-access-why"' in page


def test_the_details_are_required_and_kept_apart_from_the_profile(
    client, asking_visit, django_capture_on_commit_callbacks
):
    profile = visitor(asking_visit)
    response = client.post(profile_path(profile), profile_post())
    assert response.status_code == 400
    assert not SiteAccess.objects.exists()
    given(client, profile, django_capture_on_commit_callbacks)
    details = SiteAccess.objects.get(profile=profile)
    assert details.document_number == NUMBER
    assert details.nationality == "GB" and str(details.date_of_birth) == "1990-12-10"
    # The visitor sees what they gave when they come back.
    assert NUMBER in client.get(profile_path(profile)).content.decode()


def test_a_visit_that_does_not_ask_stores_nothing_even_when_sent(client, visit):
    profile = visitor(visit)
    response = client.post(profile_path(profile), profile_post(**SITE_ACCESS_POST))
    assert response.status_code == 302
    assert not SiteAccess.objects.exists()


def test_only_organizers_see_and_export_the_details_and_each_export_is_on_record(
    client, asking_visit, organizer, tour_admin, django_capture_on_commit_callbacks
):
    profile = visitor(asking_visit)
    given(client, profile, django_capture_on_commit_callbacks)
    assert organizer.has_perm("visitors.view_siteaccess")
    assert not tour_admin.has_perm("visitors.view_siteaccess")
    group = reverse("visitors:group", kwargs={"slug": asking_visit.slug})

    client.force_login(tour_admin)
    assert client.get(export_path(asking_visit)).status_code == 403
    assert 'id="site-access-export"' not in client.get(group).content.decode()
    client.logout()
    assert client.get(export_path(asking_visit)).status_code == 302  # to the login page

    client.force_login(organizer)
    assert 'id="site-access-export"' in client.get(group).content.decode()
    response = client.get(export_path(asking_visit))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1] == ["LOVELACE Augusta Ada", "GB", "1990-12-10", "Passport", NUMBER]
    [entry] = AuditEntry.objects.filter(verb=AuditEntry.Verb.SITE_ACCESS_EXPORT)
    assert entry.actor == organizer and entry.visit_id == asking_visit.pk
    assert NUMBER not in str(entry.additional_data) + str(entry.changes)


def test_no_other_page_export_or_mail_contains_the_document_number(
    client, asking_visit, organizer, tour_admin, django_capture_on_commit_callbacks
):
    profile = visitor(asking_visit)
    given(client, profile, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        visit_message_send(
            visit=asking_visit,
            audience="all",
            subject_en="Hello",
            body_en="See you",
            actor=organizer,
        )
    contest = profile.selection.draw.contest
    token = {"token": profile_path(profile).split("/")[3]}
    outputs = [
        *(m.body_text + m.body_html + m.subject for m in OutboxMessage.objects.all()),
        *(m.body + str(m.alternatives) for m in mail.outbox),
    ]
    assert len(outputs) >= 4  # welcome, itinerary, message, as rows and as sent
    for name in (
        "visitors:visitor_itinerary",
        "visitors:badge",
        "visitors:visitor_itinerary_print",
    ):
        outputs.append(client.get(reverse(name, kwargs=token)).content.decode())
    outputs.append(client.get(asking_visit.get_absolute_url()).content.decode())
    outputs.append(read(client.get(reverse("contests:draw_json", args=[contest.slug]))))
    for user, names in (
        (
            organizer,
            [
                reverse("contests:dashboard", args=[contest.slug]),
                reverse("visitors:group", args=[asking_visit.slug]),
                reverse("admin:visitors_visitorprofile_change", args=[profile.pk]),
                reverse("admin:notifications_outboxmessage_changelist"),
            ],
        ),
        (tour_admin, [reverse("visitors:check_in", args=[asking_visit.slug])]),
    ):
        client.force_login(user)
        for url in names:
            response = client.get(url)
            assert response.status_code == 200, url
            body = b"".join(response.streaming_content) if response.streaming else response.content
            outputs.append(body.decode())
    # The contest's CSV exports, as their background jobs write them.
    for write in (exports.entries_export_write, exports.selections_export_write):
        out = io.StringIO()
        write(contest=contest, out=out)
        outputs.append(out.getvalue())
    for output in outputs:
        assert NUMBER not in output
    # The one place it is: the organizers' export for security.
    client.force_login(organizer)
    assert NUMBER in client.get(export_path(asking_visit)).content.decode()


def test_the_purge_deletes_the_details_seven_days_after_the_visit_and_not_before(
    client, asking_visit, django_capture_on_commit_callbacks
):
    profile = visitor(asking_visit)
    given(client, profile, django_capture_on_commit_callbacks)
    noon = datetime.combine(asking_visit.date, time(12), tzinfo=asking_visit.tzinfo)
    removed = personal_data_remove(now=noon + timedelta(days=7))
    assert removed["site_access"] == 0
    assert SiteAccess.objects.filter(profile=profile).exists()
    removed = personal_data_remove(now=noon + timedelta(days=8))
    assert removed["site_access"] == 1
    assert not SiteAccess.objects.exists()
    # The rest of the profile is kept for its own, longer delay.
    profile.refresh_from_db()
    assert profile.private_data_removed_at is None and profile.emergency_contact_name
