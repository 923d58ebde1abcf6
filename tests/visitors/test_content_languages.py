"""The day's own text in English and French: the visitors' mail, the itinerary, live updates.

What tour admins write (visit and stop titles, meeting point, notes, live
updates, the places' names, addresses and descriptions) has a column per
language (django-modeltranslation, visits.translation); each reader reads
their language, or the other one where it was not written, and each
visitor's mail is in theirs.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from notifications.models import OutboxMessage
from tests.factories import VisitFactory
from tests.visits.factories import LocationFactory, TourStopFactory, at, visitor
from visitors.services.links import visitor_profile_token
from visitors.services.mail import ITINERARY_KIND, itinerary_mail_send, stop_changes_notify
from visits.models import LiveUpdate, Location, StopChange, TourStop
from visits.services.stops import stop_change_record

pytestmark = pytest.mark.django_db

VISIT = {
    "title_en": "Open day 2031",
    "title_fr": "Journée portes ouvertes 2031",
    "meeting_point_en": "Main reception, Building 33",
    "meeting_point_fr": "Accueil principal, bâtiment 33",
    "practical_notes_en": "Wear closed shoes.",
    "practical_notes_fr": "Portez des chaussures fermées.",
}
PLACE = {
    "name_en": "CERN Computing Centre, Building 513",
    "name_fr": "Centre de calcul du CERN, bâtiment 513",
    "address_en": "Meyrin site",
    "address_fr": "Site de Meyrin",
    "description_en": "The servers of the LHC grid.",
    "description_fr": "Les serveurs de la grille du LHC.",
}
STOP = {
    "title_en": "The Computing Centre",
    "title_fr": "Le Centre de calcul",
    "guide_en": "Computing Centre team",
    "guide_fr": "Équipe du Centre de calcul",
    "notes_en": "No food among the servers.",
    "notes_fr": "Pas de nourriture parmi les serveurs.",
}


@pytest.fixture
def day():
    visit = VisitFactory(**VISIT)
    place = Location.objects.create(**PLACE)
    stop = TourStopFactory(visit=visit, location=place, starts_at=at(visit, 10), **STOP)
    return visit, stop


def test_a_french_visitors_itinerary_mail_is_in_french_and_an_english_ones_in_english(day):
    visit, _stop = day
    french = visitor(visit, confirmed=True, language="fr")
    english = visitor(visit, confirmed=True, language="en")
    itinerary_mail_send(profile=french)
    itinerary_mail_send(profile=english)
    rows = {row.language: row for row in OutboxMessage.objects.filter(kind=ITINERARY_KIND)}
    french_mail, english_mail = rows["fr"], rows["en"]
    assert VISIT["title_fr"] in french_mail.subject
    for text in (
        STOP["title_fr"],
        STOP["guide_fr"],
        VISIT["meeting_point_fr"],
        VISIT["practical_notes_fr"],
    ):
        assert text in french_mail.body_text and text in french_mail.body_html, text
    for text in (VISIT["title_en"], STOP["title_en"], STOP["guide_en"], VISIT["meeting_point_en"]):
        assert text not in french_mail.subject + french_mail.body_text, text
    assert VISIT["title_en"] in english_mail.subject
    assert STOP["title_en"] in english_mail.body_text
    assert STOP["guide_en"] in english_mail.body_text
    assert STOP["title_fr"] not in english_mail.body_text
    assert STOP["guide_fr"] not in english_mail.body_text


def test_a_stop_with_no_french_title_shows_its_english_one_in_french_mail(day):
    visit, stop = day
    TourStop.objects.filter(pk=stop.pk).update(title_fr="")
    profile = visitor(visit, confirmed=True, language="fr")
    row = itinerary_mail_send(profile=profile)
    assert STOP["title_en"] in row.body_text and STOP["title_en"] in row.body_html


def test_the_changes_digest_names_the_stop_in_the_visitors_language(day):
    visit, stop = day
    french = visitor(visit, confirmed=True, language="fr")
    now = timezone.now() + timedelta(minutes=1)
    old = TourStop.objects.select_related("location").get(pk=stop.pk)
    stop.starts_at, stop.ends_at = at(visit, 14), at(visit, 15)
    stop.location = LocationFactory(name="Building 513")
    stop.save()
    stop_change_record(stop=stop, old=old, now=now)
    assert stop_changes_notify(now=now + timedelta(minutes=10), quiet=timedelta(minutes=5)) == 1
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.VISIT_CHANGES, to_email=french.email)
    changed = row.body_text.split("\n\n")[2]
    assert STOP["title_fr"] in changed and STOP["title_en"] not in changed, row.body_text


def _page(client, path: str, language: str) -> str:
    response = client.get(path, headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


def test_the_public_itinerary_shows_the_stops_in_the_readers_language(client, day):
    visit, _stop = day
    french = _page(client, visit.get_absolute_url(), "fr")
    assert VISIT["title_fr"] in french and STOP["title_fr"] in french
    assert STOP["guide_fr"] in french and STOP["guide_en"] not in french
    assert STOP["title_en"] not in french and VISIT["title_en"] not in french
    english = _page(client, visit.get_absolute_url(), "en")
    assert VISIT["title_en"] in english and STOP["title_en"] in english
    assert STOP["guide_en"] in english
    assert STOP["title_fr"] not in english and STOP["guide_fr"] not in english


def test_a_live_update_written_in_one_language_shows_to_readers_of_both(client, day, tour_admin):
    visit, stop = day
    client.force_login(tour_admin)
    url = reverse("visits:live", args=[visit.slug])
    assert client.post(url, {"text_fr": "Les faisceaux sont de retour !"}).status_code == 302
    assert (
        client.post(url, {"text_en": "Stable beams.", "text_fr": "Faisceaux stables."}).status_code
        == 302
    )
    client.logout()
    english = _page(client, url, "en")
    french = _page(client, url, "fr")
    assert "Les faisceaux sont de retour" in english and "Stable beams." in english
    assert "Faisceaux stables." not in english
    assert "Les faisceaux sont de retour" in french and "Faisceaux stables." in french
    assert "Stable beams." not in french


def test_a_live_update_with_no_text_in_either_language_is_refused(client, visit, tour_admin):
    client.force_login(tour_admin)
    url = reverse("visits:live", args=[visit.slug])
    response = client.post(url, {"text_en": " ", "text_fr": ""})
    assert response.status_code == 400
    assert "Write the update in English, French or both." in response.content.decode()
    assert not LiveUpdate.objects.exists()


def test_the_visit_admin_shows_the_days_texts_in_both_languages(client, day, tour_admin):
    visit, _stop = day
    client.force_login(tour_admin)
    page = client.get(reverse("admin:visits_visit_change", args=[visit.pk])).content.decode()
    for field in ("title", "meeting_point", "practical_notes"):
        for language in ("en", "fr"):
            assert f'name="{field}_{language}"' in page, (field, language)
    for field in ("title", "notes"):
        for language in ("en", "fr"):
            assert f'name="stops-0-{field}_{language}"' in page, (field, language)
    assert VISIT["meeting_point_fr"] in page and STOP["title_fr"] in page


# The places -------------------------------------------------------------------


def _in(language: str, fields: tuple[str, ...] = ("name", "address")) -> list[str]:
    return [PLACE[f"{field}_{language}"] for field in fields]


def _none_of(texts: list[str], page: str) -> bool:
    return not any(text in page for text in texts)


def test_the_itinerary_and_the_stops_page_name_the_place_in_the_readers_language(client, day):
    visit, stop = day
    for path in (visit.get_absolute_url(), stop.get_absolute_url()):
        french = _page(client, path, "fr")
        english = _page(client, path, "en")
        assert all(text in french for text in _in("fr")), path
        assert _none_of(_in("en"), french), path
        assert all(text in english for text in _in("en")), path
        assert _none_of(_in("fr"), english), path
    stop_page = _page(client, stop.get_absolute_url(), "fr")
    assert PLACE["description_fr"] in stop_page and PLACE["description_en"] not in stop_page


def test_the_calendar_names_the_place_in_the_readers_language(client, day):
    visit, _stop = day
    for language in ("fr", "en"):
        response = client.get(
            reverse("visits:calendar", args=[visit.slug]), headers={"accept-language": language}
        )
        [event] = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(event["location"]) == ", ".join(_in(language)), language
        assert PLACE[f"description_{language}"] in str(event["description"]), language


def test_a_place_without_french_shows_its_english_to_french_readers(client, day):
    visit, _stop = day
    Location.objects.update(name_fr=None, address_fr="")
    french = _page(client, visit.get_absolute_url(), "fr")
    assert all(text in french for text in _in("en"))


def test_the_location_admin_shows_each_text_in_both_languages_side_by_side(client, tour_admin):
    client.force_login(tour_admin)
    page = client.get(reverse("admin:visits_location_add")).content.decode()
    for field in ("name", "address", "description"):
        english = page.index(f'name="{field}_en"')
        french = page.index(f'name="{field}_fr"')
        # One line (a fieldset row) per text, English then French.
        row = page.rfind('class="form-row', 0, english)
        assert row == page.rfind('class="form-row', 0, french) and english < french, field
    response = client.post(
        reverse("admin:visits_location_add"),
        {**PLACE, "audit_reason": ""},
        headers={"accept-language": "fr"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    place = Location.objects.get()
    assert (place.name_en, place.name_fr) == (PLACE["name_en"], PLACE["name_fr"])
    # Another place with no French name is not refused for sharing an empty one.
    response = client.post(
        reverse("admin:visits_location_add"),
        {"name_en": "Building 33", "name_fr": "", "address_en": "", "description_en": ""},
    )
    assert response.status_code == 302 and Location.objects.count() == 2


def test_the_admin_and_the_visitors_itinerary_name_the_place_in_the_readers_language(
    client, day, tour_admin
):
    visit, stop = day
    old = TourStop.objects.select_related("location").get(pk=stop.pk)
    stop.location = Location.objects.create(name_en="Building 33", name_fr="Bâtiment 33")
    stop.save()
    stop_change_record(stop=stop, old=old)
    profile = visitor(visit, confirmed=True)
    itinerary = reverse("visitors:visitor_itinerary", args=[visitor_profile_token(profile)])
    for language, new in (("fr", "Bâtiment 33"), ("en", "Building 33")):
        # The link acts for its visitor alone: read it before staff log in.
        assert new in _page(client, itinerary, language), language
    client.force_login(tour_admin)
    for language, new in (("fr", "Bâtiment 33"), ("en", "Building 33")):
        stops = _page(client, reverse("admin:visits_tourstop_changelist"), language)
        assert new in stops, language
        changes = _page(client, reverse("admin:visits_stopchange_changelist"), language)
        assert PLACE[f"name_{language}"] in changes and new in changes, language


def test_the_changes_digest_names_the_places_in_the_visitors_language(day):
    visit, stop = day
    french = visitor(visit, confirmed=True, language="fr")
    now = timezone.now() + timedelta(minutes=1)
    old = TourStop.objects.select_related("location").get(pk=stop.pk)
    stop.location = Location.objects.create(name_en="Building 33", name_fr="Bâtiment 33")
    stop.save()
    stop_change_record(stop=stop, old=old, now=now)
    change = StopChange.objects.get()
    # The record keeps the names in English, as they were, beside the places.
    assert (change.old_location, change.new_location) == (PLACE["name_en"], "Building 33")
    assert stop_changes_notify(now=now + timedelta(minutes=10), quiet=timedelta(minutes=5)) == 1
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.VISIT_CHANGES, to_email=french.email)
    changed = row.body_text.split("\n\n")[2]
    assert f"{PLACE['name_fr']} → désormais Bâtiment 33" in changed, row.body_text
    assert "Bâtiment 33" in row.body_html and "Building 33" not in row.body_html
