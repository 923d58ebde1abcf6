"""The visitors' pages, as visitors and staff see them."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from tests.factories import VisitFactory, staff_user
from tests.visits.factories import at, on_the_day, visitor
from tweetup.roles import ORGANIZERS, PRESS_OFFICERS
from visitors.models import VisitorProfile
from visitors.services.check_in import visitor_check_in
from visitors.services.links import visitor_check_in_url, visitor_profile_token
from visitors.services.messages import visit_message_send
from visitors.services.profiles import visitor_profile_update

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'


def profile_path(profile, name="visitors:profile") -> str:
    return reverse(name, kwargs={"token": visitor_profile_token(profile)})


# Visitor profile through the signed link ------------------------------------------------


def profile_post(**overrides) -> dict:
    data = {
        "display_name": "Ada",
        "handle": "@ada_l",
        "background": "engineering",
        "background_other": "",
        "bio": "Engineer.",
        "dietary_needs": "Vegetarian",
        "accessibility_needs": "",
        "emergency_contact_name": "Bob",
        "emergency_contact_phone": "+41 22 000",
        "language": "en",
        "public_consent": "on",
        "photo_consent": "on",
        "confirm_attendance": "on",
        "language_0": "en",
        "level_0": "native",
        "language_1": "fr",
        "level_1": "basic",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_visitor_completes_the_profile_and_gets_the_itinerary(
    client, visit, django_capture_on_commit_callbacks, mailoutbox
):
    profile = visitor(visit)
    url = profile_path(profile)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, profile_post())
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.handle == "ada_l"
    assert profile.languages == [
        {"code": "en", "level": "native"},
        {"code": "fr", "level": "basic"},
    ]
    assert profile.is_confirmed and profile.photo_consent
    assert [m.to for m in mailoutbox] == [[profile.email]]


def test_profile_form_errors_keep_what_was_typed(client, visit):
    profile = visitor(visit)
    response = client.post(
        profile_path(profile), profile_post(level_1="", bio="Keep me", handle="not a handle!")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Keep me" in page
    assert "Choose your level" in page
    profile.refresh_from_db()
    assert profile.bio == ""


def test_a_tampered_profile_link_says_why_it_does_not_work_on_every_page(client, visit):
    profile = visitor(visit)
    token = visitor_profile_token(profile)
    for name in (
        "profile",
        "visitor_itinerary",
        "visitor_itinerary_print",
        "visitor_calendar",
        "badge",
    ):
        url = reverse(f"visitors:{name}", kwargs={"token": token[:-2] + "xx"})
        response = client.get(url)
        assert response.status_code == 400, name
        assert 'id="link-error"' in response.content.decode(), name


def test_visitor_text_is_escaped_on_public_pages(client, visit):
    profile = visitor(visit)
    visitor_profile_update(
        profile=profile, display_name=SCRIPT[:60], bio=SCRIPT, public_consent=True
    )
    page = client.get(visit.get_absolute_url()).content.decode()
    assert SCRIPT not in page and "&lt;script&gt;" in page


def test_badge_carries_a_qr_code_of_the_check_in_link(client, visit):
    profile = visitor(visit)
    response = client.get(profile_path(profile, "visitors:badge"))
    assert response.status_code == 200
    assert "<svg" in response.content.decode()


def test_visitor_itinerary_shows_meeting_point_and_notes(client, visit):
    visit.practical_notes = "Bring an identity document."
    visit.save()
    profile = visitor(visit)
    page = client.get(profile_path(profile, "visitors:visitor_itinerary")).content.decode()
    assert visit.meeting_point in page and "identity document" in page
    printable = client.get(profile_path(profile, "visitors:visitor_itinerary_print"))
    assert printable.status_code == 200


# Staff pages ------------------------------------------------------------------------------


def test_group_summary_is_for_organizers_and_tour_admins(client, visit, organizer, tour_admin):
    profile = visitor(visit)
    visitor_profile_update(profile=profile, dietary_needs="Gluten-free")
    url = reverse("visitors:group", args=[visit.slug])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(url).status_code == 403
    for user in (organizer, tour_admin):
        client.force_login(user)
        page = client.get(url).content.decode()
        assert "Gluten-free" in page and profile.email in page


def test_group_page_puts_the_colons_in_the_translation(client, visit, organizer):
    visitor(visit, background="science", languages=["en"])
    client.force_login(organizer)
    url = reverse("visitors:group", args=[visit.slug])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "<li>Science and research: 1</li>" in page
    assert "Fluent: 1" in page
    # French puts a space before the colon. The override puts the test's language back after.
    with translation.override("fr"):
        page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "<li>Science et recherche : 1</li>" in page
    assert "Courant : 1" in page


def test_group_page_counts_one_visitor_in_the_singular_and_in_neutral_french(
    client, visit, organizer
):
    visitor(visit)
    client.force_login(organizer)
    url = reverse("visitors:group", args=[visit.slug])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "1 visitor · 0 confirmed · 0 checked in" in page
    with translation.override("fr"):
        page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "1 personne invitée · 0 présence confirmée · 0 arrivée enregistrée" in page
    visitor(visit)
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "2 visitors · 0 confirmed" in page


def test_group_page_says_so_when_no_visitor_has_joined_yet(client, visit, organizer):
    """Before the draw, the private table showed its headings over nothing."""
    client.force_login(organizer)
    url = reverse("visitors:group", args=[visit.slug])
    with translation.override("fr"):
        page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert '<td colspan="5" class="text-muted" id="group-no-visitor">Le groupe est vide' in page
    visitor(visit)
    assert 'id="group-no-visitor"' not in client.get(url).content.decode()


def test_check_in_by_hand_and_by_qr_link(client, visit, tour_admin, organizer):
    first, second = visitor(visit), visitor(visit)
    on_the_day(visit)
    url = reverse("visitors:check_in", args=[visit.slug])
    client.force_login(organizer)
    assert client.get(url).status_code == 403
    client.force_login(tour_admin)
    assert "0 of 2 arrived" in client.get(url).content.decode()
    assert client.post(url, {"visitor": first.pk}).status_code == 302
    link = visitor_check_in_url(second, base_url="http://testserver")
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert VisitorProfile.objects.filter(checked_in_at__isnull=False).count() == 2
    assert "2 of 2 arrived" in client.get(url).content.decode()
    assert client.post(url, {"visitor": "abc"}).status_code == 400


def test_a_check_in_before_the_day_says_when_it_opens(client, visit, tour_admin):
    profile = visitor(visit)
    client.force_login(tour_admin)
    url = reverse("visitors:check_in", args=[visit.slug])
    page = client.post(url, {"visitor": profile.pk}, follow=True).content.decode()
    assert "Check-in opens on the day of the visit" in page
    profile.refresh_from_db()
    assert profile.checked_in_at is None
    link = visitor_check_in_url(profile, base_url="http://testserver")
    response = client.post(link)
    assert response.status_code == 400
    assert "Check-in opens on the day of the visit" in response.content.decode()


def test_before_the_day_the_check_in_list_says_when_it_opens_instead_of_offering_buttons(
    client, visit, tour_admin
):
    """Found in the walk-through: weeks before, every row had a live "Mark arrived" button."""
    profile = visitor(visit)
    client.force_login(tour_admin)
    url = reverse("visitors:check_in", args=[visit.slug])
    page = client.get(url).content.decode()
    assert 'id="check-in-closed"' in page and "Check-in opens on the day of the visit" in page
    assert "Mark arrived" not in page and f'id="visitor-{profile.pk}"' in page
    on_the_day(visit)
    page = client.get(url).content.decode()
    assert 'id="check-in-closed"' not in page and "Mark arrived" in page


def test_on_the_visits_day_the_profile_is_shown_read_only_and_says_why(client, visit):
    """Found in the walk-through: the form stayed editable though the service refuses to save."""
    profile = visitor(visit)
    page = client.get(profile_path(profile)).content.decode()
    assert "Save my profile" in page and 'id="profile-locked"' not in page
    on_the_day(visit)
    page = client.get(profile_path(profile)).content.decode()
    assert 'id="profile-locked"' in page and "tell the guide at" in page
    assert "Save my profile" not in page
    assert "You can change your profile until the day of the visit" not in page
    assert re.search(r'<input[^>]*name="display_name"[^>]*disabled', page)
    with translation.override("fr"):
        page = client.get(profile_path(profile), headers={"accept-language": "fr"}).content
    assert "Votre profil ne peut plus être modifié" in page.decode()


def test_the_profile_admin_gives_languages_in_words_in_the_readers_language(client, visit):
    """Found in the walk-through: staff read raw JSON ([{"code": "fr", "level": "native"}])."""
    profile = visitor(visit)
    profile.languages = [{"code": "fr", "level": "native"}, {"code": "en", "level": "fluent"}]
    profile.save(update_fields=["languages"])
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    url = reverse("admin:visitors_visitorprofile_change", args=[profile.pk])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "French (native), English (fluent)" in page
    assert '"code"' not in page and 'name="languages"' not in page
    page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "français (langue maternelle), anglais (courant)" in page.lower()


def test_the_profile_admin_names_place_and_check_in_without_links_a_tour_admin_cannot_open(
    client, visit, tour_admin
):
    """Found in the walk-through: the place linked to the places' admin, a 403 for tour admins."""
    profile = visitor(visit)
    on_the_day(visit)
    visitor_check_in(profile=profile, actor=tour_admin)
    client.force_login(tour_admin)
    page = client.get(reverse("admin:visitors_visitorprofile_change", args=[profile.pk]))
    html = page.content.decode()
    assert str(profile.selection) in html and tour_admin.get_username() in html
    for model in ("contests/selection", "auth/user"):
        assert f"/admin/{model}/" not in html, model


def test_a_sent_message_names_its_sender_without_a_link_to_the_users_admin(client, visit):
    """Found in the walk-through: "Sent by" linked to the users' admin, a 403 for press officers."""
    visitor(visit)
    sender = staff_user("sender", ORGANIZERS)
    message = visit_message_send(
        visit=visit, audience="all", subject_en="Jackets", body_en="Bring one.", actor=sender
    )
    client.force_login(staff_user("press", PRESS_OFFICERS))
    page = client.get(reverse("admin:visitors_visitmessage_change", args=[message.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "sender" in html and "/admin/auth/user/" not in html


def test_organizer_writes_to_the_visitors(
    client, visit, organizer, mailoutbox, django_capture_on_commit_callbacks
):
    visitor(visit)
    url = reverse("visitors:message", args=[visit.slug])
    client.force_login(organizer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"audience": "all", "subject_en": "Jackets", "body_en": f"Bring one {SCRIPT}"}
        )
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    html = mailoutbox[0].alternatives[0].content
    assert SCRIPT not in html


def test_the_french_check_in_page_speaks_of_arrivals_not_of_arrived_men(client, visit, tour_admin):
    """French said "arrivé", "pas arrivé", "Marquer comme arrivé" of every visitor."""
    first, _second = visitor(visit), visitor(visit)
    on_the_day(visit)
    client.force_login(tour_admin)
    url = reverse("visitors:check_in", args=[visit.slug])
    client.post(url, {"visitor": first.pk})
    with translation.override("fr"):
        page = client.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "1 arrivée enregistrée sur 2" in page
    assert "là depuis " in page
    assert "pas encore là" in page and "Enregistrer l'arrivée" in page
    assert "arrivé " not in page and "arrivé<" not in page


def test_the_check_in_times_are_in_the_visits_time_zone_and_name_it(client, tour_admin):
    """ "là depuis 09:32" said no zone; a visit far from the site's own shows why it must."""
    visit = VisitFactory(time_zone="Asia/Tokyo")
    profile = visitor(visit)
    visitor_check_in(profile=profile, actor=tour_admin, now=at(visit, 9, 32))
    client.force_login(tour_admin)
    url = reverse("visitors:check_in", args=[visit.slug])
    for language, arrived, zone in (
        ("fr", "là depuis 09:32", "Les heures sont indiquées dans le fuseau horaire Asia/Tokyo."),
        ("en", "arrived at 09:32", "Times are in the Asia/Tokyo time zone."),
    ):
        page = client.get(url, headers={"accept-language": language}).content.decode()
        assert arrived in page and zone in page, language
    link = urlsplit(visitor_check_in_url(profile)).path
    page = client.get(link, headers={"accept-language": "fr"}).content.decode()
    assert re.search(r"Arrivée déjà enregistrée \([^()]* 09:32, Asia/Tokyo\)\.", page), page
