"""The rules of the visitors app, through its services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import formats, timezone

from notifications.models import OutboxMessage
from tests.visits.factories import (
    LocationFactory,
    TourStopFactory,
    accepted_selection,
    at,
    visitor,
    winner_for,
)
from visitors.errors import VisitorError
from visitors.models import LanguageLevel, VisitorProfile
from visitors.selectors import visit_group_summary
from visitors.services.check_in import visitor_check_in
from visitors.services.links import (
    visitor_check_in_token,
    visitor_from_check_in_token,
    visitor_profile_from_token,
    visitor_profile_token,
    visitor_profile_url,
)
from visitors.services.mail import (
    ITINERARY_KIND,
    stop_changes_notify,
    visit_reminders_send,
    welcome_mail_send,
)
from visitors.services.messages import visit_message_send
from visitors.services.places import place_accept
from visitors.services.profiles import visitor_profile_create, visitor_profile_update
from visits.models import StopChange, TourStop
from visits.services.stops import (
    stop_change_record,
)

pytestmark = pytest.mark.django_db


# Visitor profiles -------------------------------------------------------------


def test_profile_is_made_from_the_entry_once(visit):
    selection = accepted_selection(
        visit, name="Ada Lovelace", languages=["en", "fr"], background="engineering"
    )
    profile = visitor_profile_create(selection=selection)
    again = visitor_profile_create(selection=selection)
    assert again.pk == profile.pk
    assert VisitorProfile.objects.count() == 1
    assert profile.display_name == "Ada"
    assert profile.email == selection.entry.email
    assert profile.background == "engineering"
    assert [item["code"] for item in profile.languages] == ["en", "fr"]
    assert profile.visit == visit


def test_profile_url_is_absolute_signed_and_opens_the_profile(visit):
    profile = visitor(visit)
    url = visitor_profile_url(profile, base_url="https://tweetup.example.org/")
    assert url.startswith("https://tweetup.example.org/visits/profile/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert visitor_profile_from_token(token=token).pk == profile.pk
    with pytest.raises(VisitorError):
        visitor_profile_from_token(token=token[:-2] + "xx")


def test_profile_made_inside_the_accept_flow_of_the_contests_app(visit):
    selection = winner_for(visit)
    place_accept(selection=selection, can_attend=True)
    assert VisitorProfile.objects.filter(selection=selection).exists()


def _token_of(url: str) -> str:
    """The signed token in a visitor's link such as .../profile/<token>/badge/."""
    return url.split("/visits/profile/", 1)[1].split("/", 1)[0]


def _links(text: str) -> dict[str, str]:
    """The visitor's links in a text mail, by the page they open."""
    links = {}
    for word in text.split():
        if "/visits/profile/" in word:
            path = word.split("/visits/profile/", 1)[1].split("/", 1)[1]
            links[path or "profile"] = word
    return links


def test_accepting_a_place_mails_the_winner_their_links_and_the_day(
    visit, django_capture_on_commit_callbacks
):

    TourStopFactory(visit=visit, title="Computing Centre")
    selection = winner_for(visit, name="Ada Lovelace")
    with django_capture_on_commit_callbacks(execute=True):
        place_accept(selection=selection, can_attend=True, base_url="https://tweetup.example.org/")
    profile = VisitorProfile.objects.get(selection=selection)
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.VISIT_WELCOME)
    assert (row.key, row.to_email, row.language) == (
        f"visit_welcome:{profile.pk}",
        selection.entry.email,
        "en",
    )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [selection.entry.email]
    assert visit.title in sent.subject
    html = sent.alternatives[0][0]
    for body in (sent.body, html):
        assert "Ada" in body
        assert visit.meeting_point in body
        assert "Computing Centre" in body
        assert formats.date_format(visit.date, "DATE_FORMAT") in body
    links = _links(sent.body)
    assert set(links) == {"profile", "itinerary/", "itinerary.ics", "badge/"}
    for url in links.values():
        assert url.startswith("https://tweetup.example.org/visits/profile/")
        assert visitor_profile_from_token(token=_token_of(url)).pk == profile.pk
        assert f'href="{url}"' in html


def test_the_welcome_mail_is_queued_once_and_with_the_acceptance(visit):
    selection = winner_for(visit)
    with pytest.raises(RuntimeError), transaction.atomic():
        place_accept(selection=selection, can_attend=True)
        raise RuntimeError("the acceptance fails after the profile was made")
    welcome = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.VISIT_WELCOME)
    assert not welcome.exists() and not VisitorProfile.objects.exists()

    place_accept(selection=selection, can_attend=True)
    selection.refresh_from_db()
    visitor_profile_create(selection=selection)
    profile = visitor_profile_create(selection=selection)
    welcome_mail_send(profile=profile)
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.VISIT_WELCOME).count() == 1


def test_the_welcome_mail_is_in_the_winners_language(visit):
    selection = winner_for(visit, name="Marie Curie", language="fr")
    place_accept(selection=selection, can_attend=True)
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.VISIT_WELCOME)
    assert row.language == "fr"
    assert row.body_text.startswith("Bonjour Marie,")
    assert f"Point de rendez-vous : {visit.meeting_point}" in row.body_text
    assert '<html lang="fr">' in row.body_html


def test_the_welcome_mail_before_the_visit_is_scheduled_links_profile_and_badge(db):
    selection = winner_for(None)
    place_accept(selection=selection, can_attend=True)
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.VISIT_WELCOME)
    assert selection.draw.contest.title in row.subject
    assert set(_links(row.body_text)) == {"profile", "badge/"}


def test_the_demo_makes_its_visitors_without_mail(visit):
    visitor_profile_create(selection=accepted_selection(visit), notify=False)
    assert VisitorProfile.objects.count() == 1
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.VISIT_WELCOME).exists()


def test_the_itinerary_mail_links_the_badge(visit, django_capture_on_commit_callbacks):
    profile = visitor(visit)
    with django_capture_on_commit_callbacks(execute=True):
        visitor_profile_update(profile=profile, confirm_attendance=True)
    (sent,) = [m for m in mail.outbox if m.subject.startswith("Your itinerary")]
    badge = _links(sent.body)["badge/"]
    assert visitor_profile_from_token(token=_token_of(badge)).pk == profile.pk
    assert "show its code at the meeting point" in sent.body
    assert f'href="{badge}"' in sent.alternatives[0][0]


def test_confirming_sends_the_itinerary_once(visit, django_capture_on_commit_callbacks):
    profile = visitor(visit)
    TourStopFactory(visit=visit, title="Computing Centre")
    with django_capture_on_commit_callbacks(execute=True):
        visitor_profile_update(profile=profile, confirm_attendance=True, bio="Hi")
        visitor_profile_update(profile=profile, confirm_attendance=True, bio="Hello")
    profile.refresh_from_db()
    assert profile.is_confirmed and profile.bio == "Hello"
    assert OutboxMessage.objects.filter(kind=ITINERARY_KIND).count() == 1
    assert len(mail.outbox) == 1
    assert "Computing Centre" in mail.outbox[0].body
    assert visit.meeting_point in mail.outbox[0].body
    zone = f"Times are in the {visit.time_zone} time zone."
    assert zone in mail.outbox[0].body
    assert zone in mail.outbox[0].alternatives[0][0]


def test_profile_languages_keep_known_codes_and_levels_once(visit):
    profile = visitor(visit)
    visitor_profile_update(
        profile=profile,
        languages=[
            {"code": "fr", "level": "native"},
            {"code": "xx", "level": "native"},
            {"code": "de", "level": "wizard"},
            {"code": "fr", "level": "basic"},
        ],
    )
    profile.refresh_from_db()
    assert profile.languages == [{"code": "fr", "level": "basic"}]


def test_profile_cannot_change_from_the_day_of_the_visit(visit):
    profile = visitor(visit)
    with pytest.raises(VisitorError, match="day of the visit"):
        visitor_profile_update(profile=profile, bio="late", now=visit.day_start)
    visitor_profile_update(
        profile=profile, bio="in time", now=visit.day_start - timedelta(seconds=1)
    )


def test_profile_of_a_disqualified_visitor_cannot_change(visit):
    profile = visitor(visit)
    profile.selection.status = "disqualified"
    profile.selection.save()
    with pytest.raises(VisitorError):
        visitor_profile_update(profile=profile, bio="x")


# Stop changes reach the confirmed visitors in one digest ------------------------


def _reschedule(stop: TourStop, *, hour: int, now, location=None):
    old = TourStop.objects.select_related("location").get(pk=stop.pk)
    stop.starts_at = at(stop.visit, hour)
    stop.ends_at = at(stop.visit, hour) + timedelta(hours=1)
    if location is not None:
        stop.location = location
    stop.save()
    stop_change_record(stop=stop, old=old, now=now)


def test_several_edits_make_one_mail_per_confirmed_visitor(
    visit, django_capture_on_commit_callbacks
):
    stop = TourStopFactory(visit=visit, title="Control Centre", starts_at=at(visit, 10))
    confirmed = visitor(visit, confirmed=True)
    visitor(visit, confirmed=False)
    now = timezone.now()
    _reschedule(stop, hour=11, now=now)
    _reschedule(stop, hour=13, now=now + timedelta(minutes=1))
    _reschedule(stop, hour=14, now=now + timedelta(minutes=2), location=LocationFactory(name="CCC"))
    quiet = timedelta(minutes=5)
    # Still editing: nothing yet.
    assert stop_changes_notify(now=now + timedelta(minutes=3), quiet=quiet) == 0
    with django_capture_on_commit_callbacks(execute=True):
        sent = stop_changes_notify(now=now + timedelta(minutes=8), quiet=quiet)
        again = stop_changes_notify(now=now + timedelta(minutes=20), quiet=quiet)
    assert (sent, again) == (1, 0)
    assert [m.to for m in mail.outbox] == [[confirmed.email]]
    body = mail.outbox[0].body
    assert "Control Centre" in body
    assert "10:00–11:00 → now 14:00–15:00" in body
    assert "CCC" in body


def test_a_change_back_and_forth_sends_nothing(visit):
    stop = TourStopFactory(visit=visit, starts_at=at(visit, 10))
    visitor(visit, confirmed=True)
    now = timezone.now()
    _reschedule(stop, hour=11, now=now)
    _reschedule(stop, hour=10, now=now)
    assert stop_changes_notify(now=now + timedelta(minutes=10)) == 0
    assert not StopChange.objects.filter(notified_at__isnull=True).exists()


def test_visitor_confirming_after_a_change_does_not_hear_of_it(visit):
    stop = TourStopFactory(visit=visit, starts_at=at(visit, 10))
    profile = visitor(visit)
    now = timezone.now()
    _reschedule(stop, hour=12, now=now - timedelta(hours=2))
    profile.attendance_confirmed_at = now - timedelta(hours=1)
    profile.save()
    assert stop_changes_notify(now=now) == 0


# Reminders -----------------------------------------------------------------------


def test_reminder_goes_the_day_before_once_to_confirmed_visitors(
    visit, django_capture_on_commit_callbacks
):
    confirmed = visitor(visit, confirmed=True)
    visitor(visit)
    day_before = visit.day_start - timedelta(hours=6)
    two_days_before = visit.day_start - timedelta(days=1, hours=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert visit_reminders_send(now=two_days_before) == 0
        assert visit_reminders_send(now=day_before) == 1
        assert visit_reminders_send(now=day_before + timedelta(hours=1)) == 0
    assert [m.to for m in mail.outbox] == [[confirmed.email]]
    assert "tomorrow" in mail.outbox[0].body


# Check-in ------------------------------------------------------------------------------


def test_check_in_keeps_the_first_arrival_and_can_be_undone(visit):
    profile = visitor(visit)
    first = at(visit, 8, 45)
    visitor_check_in(profile=profile, now=first)
    visitor_check_in(profile=profile, now=first + timedelta(minutes=5))
    profile.refresh_from_db()
    assert profile.checked_in_at == first
    visitor_check_in(profile=profile, undo=True)
    profile.refresh_from_db()
    assert profile.checked_in_at is None


def test_check_in_is_taken_on_the_visits_day_only(visit):
    """A badge scanned weeks before, or after the day, records no arrival."""
    profile = visitor(visit)
    with pytest.raises(VisitorError, match="opens on the day of the visit"):
        visitor_check_in(profile=profile, now=visit.day_start - timedelta(minutes=1))
    with pytest.raises(VisitorError, match="check-in is closed"):
        visitor_check_in(profile=profile, now=visit.day_end)
    profile.refresh_from_db()
    assert profile.checked_in_at is None
    visitor_check_in(profile=profile, now=visit.day_start)
    profile.refresh_from_db()
    assert profile.checked_in_at == visit.day_start


def test_check_in_token_names_the_visitor_and_is_not_the_profile_token(visit):
    profile = visitor(visit)
    token = visitor_check_in_token(profile)
    assert visitor_from_check_in_token(token=token).pk == profile.pk
    with pytest.raises(VisitorError):
        visitor_from_check_in_token(token=visitor_profile_token(profile))


# Messages from the organizers ---------------------------------------------------------


def test_message_reaches_each_visitor_in_their_language(visit, django_capture_on_commit_callbacks):
    english = visitor(visit, confirmed=True, language="en")
    french = visitor(visit, language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        message = visit_message_send(
            visit=visit,
            audience="all",
            subject_en="Bring a jacket & shoes",
            body_en="It is cold underground.",
            subject_fr="Prenez une veste",
            body_fr="Il fait froid sous terre.",
        )
    assert message.recipients_count == 2
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address[english.email].subject == "Bring a jacket & shoes"
    assert "It is cold underground." in by_address[english.email].body
    assert by_address[french.email].subject == "Prenez une veste"
    assert "Bonjour" in by_address[french.email].body or "froid" in by_address[french.email].body


def test_message_to_the_unconfirmed_only(visit):
    visitor(visit, confirmed=True)
    unconfirmed = visitor(visit)
    message = visit_message_send(
        visit=visit, audience="unconfirmed", subject_en="Please confirm", body_en="."
    )
    assert message.recipients_count == 1
    sent = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.VISIT_MESSAGE)
    assert list(sent.values_list("to_email", flat=True)) == [unconfirmed.email]


# The group summary ------------------------------------------------------------------------


def test_group_summary_counts_languages_levels_backgrounds_and_needs(visit):
    a = visitor(visit, background="science")
    b = visitor(visit, background="journalism")
    visitor_profile_update(
        profile=a,
        languages=[{"code": "fr", "level": "native"}, {"code": "en", "level": "fluent"}],
        dietary_needs="Vegetarian",
    )
    visitor_profile_update(
        profile=b, languages=[{"code": "en", "level": "native"}], accessibility_needs="Lift"
    )
    summary = visit_group_summary(visit=visit)
    assert summary.visitors == 2
    english = next(row for row in summary.languages if row["code"] == "en")
    assert english["speakers"] == 2
    assert dict(english["levels"]) == {
        LanguageLevel.NATIVE.label: 1,
        LanguageLevel.FLUENT.label: 1,
    }
    assert summary.languages[0]["code"] == "en"
    assert len(summary.backgrounds) == 2
    assert {n["dietary"] or n["accessibility"] for n in summary.needs} == {"Vegetarian", "Lift"}
