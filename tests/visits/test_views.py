"""The pages of the visits app, as people and tools see them."""

import re
from datetime import date, timedelta
from html import unescape

import feedparser
import pytest
import vobject
from django.urls import reverse
from django.utils import timezone

from tests.visits.factories import (
    LiveUpdateFactory,
    QuestionFactory,
    TourStopFactory,
    at,
    visitor,
)
from visitors.services.links import visitor_profile_token
from visitors.services.profiles import visitor_profile_update
from visits.models import Question

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'


def profile_path(profile, name="visitors:profile") -> str:
    return reverse(name, kwargs={"token": visitor_profile_token(profile)})


# Public itinerary, calendar and feed ------------------------------------------------


def test_public_itinerary_shows_stops_and_only_consenting_visitors(
    client, visit, django_assert_max_num_queries
):
    TourStopFactory(visit=visit, title="Computing Centre", starts_at=at(visit, 10))
    shown = visitor(visit)
    hidden = visitor(visit)
    visitor_profile_update(
        profile=shown, display_name="Shown", public_consent=True, dietary_needs="Vegan"
    )
    visitor_profile_update(profile=hidden, display_name="Hidden", public_consent=False)
    with django_assert_max_num_queries(6):
        response = client.get(visit.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "Computing Centre" in page and "10:00" in page
    assert "Shown" in page and "Hidden" not in page
    assert "Vegan" not in page and shown.email not in page
    assert visit.meeting_point not in page


def test_public_calendar_is_valid_icalendar_in_the_visits_time_zone(client, visit):
    visit.time_zone = "America/New_York"
    visit.save()
    TourStopFactory(visit=visit, title="Control Centre", starts_at=at(visit, 10))
    TourStopFactory(visit=visit, title="Talk", starts_at=at(visit, 14))
    response = client.get(f"/visits/{visit.slug}/itinerary.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = vobject.readOne(response.content.decode())
    events = sorted(calendar.vevent_list, key=lambda e: e.dtstart.value)
    assert [e.summary.value for e in events] == ["Control Centre", "Talk"]
    start = events[0].dtstart.value
    assert start.utcoffset() == at(visit, 10).utcoffset()
    assert (start.hour, start.minute) == (10, 0)
    assert start.astimezone(timezone.UTC) == at(visit, 10).astimezone(timezone.UTC)
    assert calendar.vtimezone.tzid.value == "America/New_York"
    assert visit.meeting_point not in response.content.decode()


def read_calendar(text: str):
    """Parse with vobject, forgetting the time zones it cached from earlier calendars."""
    vobject.icalendar.__dict__["__tzidMap"].clear()
    return vobject.readOne(text)


@pytest.mark.parametrize(
    ("zone", "day", "offset_hours"),
    [
        ("Europe/Zurich", date(2012, 7, 25), 2),
        ("Europe/Zurich", date(2031, 1, 15), 1),
        ("America/New_York", date(2031, 3, 9), -4),
        ("America/New_York", date(2031, 11, 2), -5),
        ("Australia/Sydney", date(2031, 1, 10), 11),
        ("Australia/Sydney", date(2031, 7, 10), 10),
        ("Asia/Kolkata", date(2031, 7, 10), 5.5),
    ],
)
def test_calendar_times_keep_their_offset_in_summer_and_winter(
    client, visit, zone, day, offset_hours
):
    """vobject keeps only the first value of a multi-valued RDATE: every onset stands alone."""
    visit.time_zone, visit.date = zone, day
    visit.save()
    TourStopFactory(visit=visit, title="Control Centre", starts_at=at(visit, 10))
    response = client.get(f"/visits/{visit.slug}/itinerary.ics")
    assert "RDATE" not in response.content.decode()
    start = read_calendar(response.content.decode()).vevent.dtstart.value
    assert (start.hour, start.minute) == (10, 0)
    assert start.utcoffset() == timedelta(hours=offset_hours)


def test_visitor_calendar_keeps_multi_line_practical_notes(client, visit):
    visit.practical_notes = "Bring an identity document.\nWear closed shoes."
    visit.save()
    TourStopFactory(visit=visit, notes="Helmet\nprovided")
    profile = visitor(visit)
    response = client.get(profile_path(profile, "visitors:visitor_calendar"))
    assert response.status_code == 200
    calendar = read_calendar(response.content.decode())
    assert calendar.x_wr_caldesc.value == "Bring an identity document.\nWear closed shoes."
    assert "Helmet\nprovided" in calendar.vevent.description.value


def test_a_line_break_in_the_visits_title_stays_text_in_the_calendar(client, visit):
    """A title typed with a line break neither breaks the public calendar nor adds lines to it."""
    visit.title = "Open day\r\nBEGIN:VEVENT\r\nSUMMARY:injected"
    visit.save()
    TourStopFactory(visit=visit, title="Control Centre\nATTENDEE:mailto:x@example.org")
    response = client.get(f"/visits/{visit.slug}/itinerary.ics")
    assert response.status_code == 200
    calendar = read_calendar(response.content.decode())
    assert calendar.x_wr_calname.value == "Open day\nBEGIN:VEVENT\nSUMMARY:injected"
    assert len(calendar.vevent_list) == 1
    assert not hasattr(calendar.vevent, "attendee")


def test_visitor_calendar_adds_the_meeting_point(client, visit):
    TourStopFactory(visit=visit)
    profile = visitor(visit)
    response = client.get(profile_path(profile, "visitors:visitor_calendar"))
    assert response.status_code == 200
    calendar = vobject.readOne(response.content.decode())
    assert "Building 33" in calendar.vevent.description.value


def test_atom_feed_parses_with_newest_first(client, visit):
    LiveUpdateFactory(visit=visit, text="Beams are back!", posted_at=timezone.now())
    LiveUpdateFactory(
        visit=visit, text="Injection started", posted_at=timezone.now() - timedelta(minutes=5)
    )
    response = client.get(f"/visits/{visit.slug}/updates.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.version == "atom10"
    assert [entry.title for entry in feed.entries] == ["Beams are back!", "Injection started"]
    # Each entry's id is an IRI (a tag URI), and the feed names who writes it.
    assert all(
        re.fullmatch(r"tag:testserver,\d{4}-\d\d-\d\d:live-update-\d+", e.id) for e in feed.entries
    )
    assert feed.feed.author == f"{visit.title} tour team"


@pytest.mark.parametrize(
    "text",
    [
        f"Beams {SCRIPT}",
        "<img src=x onerror=alert(1)> the magnets",
        "T < 2 K & rising",
        "Cooled to 1.9 K &amp; holding\nnext: the Control Centre",
    ],
)
def test_atom_feed_gives_readers_the_update_exactly_as_typed(client, visit, text):
    LiveUpdateFactory(visit=visit, text=text)
    response = client.get(f"/visits/{visit.slug}/updates.atom")
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    (entry,) = feed.entries
    assert entry.summary_detail.type == "text/plain"
    assert entry.summary == text
    assert entry.title == text


def test_live_page_and_its_fragment_escape_the_updates(client, visit):
    LiveUpdateFactory(visit=visit, text=f"Beams {SCRIPT}")
    for url in (
        reverse("visits:live", args=[visit.slug]),
        reverse("visits:live_fragment", args=[visit.slug]),
    ):
        page = client.get(url).content.decode()
        assert SCRIPT not in page
        assert "&lt;script&gt;" in page


def test_live_page_pages_through_older_updates_and_only_the_first_refreshes(client, visit):
    start = timezone.now() - timedelta(hours=2)
    for n in range(55):
        LiveUpdateFactory(
            visit=visit, text=f"Update number {n:02}", posted_at=start + timedelta(minutes=n)
        )
    first = client.get(reverse("visits:live", args=[visit.slug])).content.decode()
    assert "Update number 54" in first and "Update number 05" in first
    assert "Update number 04" not in first
    assert 'data-src="' in first and "?page=2" in first
    older = client.get(reverse("visits:live", args=[visit.slug]) + "?page=2").content.decode()
    assert "Update number 04" in older and "Update number 00" in older
    assert "Update number 05" not in older and 'data-src="' not in older
    assert client.get(reverse("visits:live", args=[visit.slug]) + "?page=x").status_code == 200


def test_tour_admin_posts_a_live_update_and_the_public_cannot(client, visit, tour_admin):
    url = reverse("visits:live", args=[visit.slug])
    assert client.post(url, {"text": "Hello"}).status_code == 403
    client.force_login(tour_admin)
    response = client.post(url, {"text_en": "Beams are back!"})
    assert response.status_code == 302
    assert visit.live_updates.get().author == tour_admin


def test_unknown_visit_gives_404(client, db):
    for path in ("/visits/nope/", "/visits/nope/itinerary.ics", "/visits/nope/updates.atom"):
        assert client.get(path).status_code == 404


# Questions ---------------------------------------------------------------------------------


def test_question_is_sent_and_waits_for_moderation(client, visit):
    stop = TourStopFactory(visit=visit)
    response = client.post(stop.get_absolute_url(), {"text": "How cold is it?", "website": ""})
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.status == Question.Status.PENDING
    assert "How cold is it?" not in client.get(stop.get_absolute_url()).content.decode()


def test_stop_page_of_a_past_visit_says_questions_are_closed(client, visit):
    visit.date = timezone.localdate() - timedelta(days=3)
    visit.save()
    stop = TourStopFactory(visit=visit)
    page = client.get(stop.get_absolute_url()).content.decode()
    assert 'id="questions-closed"' in page and 'id="question-form"' not in page
    response = client.post(stop.get_absolute_url(), {"text": "Still open?"})
    assert response.status_code == 400
    assert "questions are closed" in response.content.decode()
    assert not Question.objects.exists()


def test_honeypot_question_is_dropped_quietly(client, visit):
    stop = TourStopFactory(visit=visit)
    response = client.post(stop.get_absolute_url(), {"text": "Buy now", "website": "spam.example"})
    assert response.status_code == 302
    assert not Question.objects.exists()


def test_questions_are_rate_limited_per_address(client, visit, settings):
    settings.QUESTION_RATE_LIMIT = "2/m"
    stop = TourStopFactory(visit=visit)
    for n in range(2):
        assert client.post(stop.get_absolute_url(), {"text": f"Q{n}"}).status_code == 302
    response = client.post(stop.get_absolute_url(), {"text": "Q3"})
    assert response.status_code == 400
    assert "Too many questions" in response.content.decode()
    assert Question.objects.count() == 2


def test_too_long_question_is_refused_with_a_message(client, visit):
    stop = TourStopFactory(visit=visit)
    response = client.post(stop.get_absolute_url(), {"text": "x" * 300})
    assert response.status_code == 400
    assert not Question.objects.exists()


def test_approved_question_shows_escaped_with_votes_once_per_browser(
    client, visit, django_assert_max_num_queries
):
    stop = TourStopFactory(visit=visit)
    question = QuestionFactory(stop=stop, text=SCRIPT, answer=f"Answer {SCRIPT}", status="answered")
    for _ in range(5):
        QuestionFactory(stop=stop)
    vote_url = reverse("visits:question_vote", args=[visit.slug, stop.pk, question.pk])
    assert client.post(vote_url).status_code == 302
    assert client.post(vote_url).status_code == 302
    assert question.votes.count() == 1
    # Flat: the same few queries whatever the number of questions and votes.
    with django_assert_max_num_queries(7):
        page = client.get(stop.get_absolute_url()).content.decode()
    assert SCRIPT not in page and "&lt;script&gt;" in page


def test_voting_for_a_pending_question_is_a_400(client, visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit), status="pending")
    url = reverse("visits:question_vote", args=[visit.slug, question.stop_id, question.pk])
    assert client.post(url).status_code == 400
    assert client.get(url).status_code == 405


# The home page ----------------------------------------------------------------------


def test_home_page_links_the_visit(client, visit):
    assert visit.get_absolute_url() in client.get("/").content.decode()


def test_the_live_page_and_a_stop_page_name_the_time_zone_of_their_times(client, visit):
    visit.time_zone = "America/Chicago"
    visit.save()
    stop = TourStopFactory(visit=visit)
    LiveUpdateFactory(visit=visit, text="Doors open")
    live = client.get(reverse("visits:live", args=[visit.slug])).content.decode()
    assert "Times are in the America/Chicago time zone." in live
    french = client.get(stop.get_absolute_url(), headers={"accept-language": "fr"})
    lead = re.search(r'<p class="lead">(.*?)</p>', french.content.decode(), re.S).group(1)
    starts = timezone.localtime(stop.starts_at, visit.tzinfo).strftime("%H:%M")
    assert f"{starts}–" in lead and "(America/Chicago)" in lead, lead


# A visit once its day is over ---------------------------------------------------------------


def test_stop_page_of_a_past_visit_says_no_question_was_asked_without_inviting_one(client, visit):
    visit.date = timezone.localdate() - timedelta(days=3)
    visit.save()
    stop = TourStopFactory(visit=visit)
    page = client.get(stop.get_absolute_url()).content.decode()
    assert "No question was asked at this stop." in page
    assert "be the first to ask one" not in page and "Ask the guides" not in page


def test_stop_page_of_a_coming_visit_invites_the_first_question(client, visit):
    stop = TourStopFactory(visit=visit)
    page = client.get(stop.get_absolute_url()).content.decode()
    assert "No question yet: be the first to ask one." in page and "Ask the guides" in page
    assert "tour admin" not in page and "The visit team reads it before it appears." in page


def test_a_past_visits_page_says_when_it_took_place_and_invites_no_question(client, visit):
    visit.date = date(2012, 7, 25)
    visit.save()
    page = client.get(visit.get_absolute_url()).content.decode()
    assert "This visit took place on Wednesday 25 July 2012." in page
    assert "send the guides a question" not in page and "send the guides your questions" not in page
    assert reverse("visits:calendar", kwargs={"slug": visit.slug}) not in page
    assert "What happened on the day" in page and ">Live updates<" not in page
    live = client.get(reverse("visits:live", kwargs={"slug": visit.slug})).content.decode()
    assert f'<h1 class="h3">The day\'s record: {visit.title}</h1>' in unescape(live)
    assert "refreshes by itself" not in live and "data-src=" not in live
    assert "No update was posted during the visit." in live
    assert 'aria-current="page">The day\'s record</li>' in unescape(live)


def test_a_coming_visits_page_offers_the_calendar_and_live_updates(client, visit):
    page = client.get(visit.get_absolute_url()).content.decode()
    assert "took place" not in page and "send the guides a question" in page
    assert reverse("visits:calendar", kwargs={"slug": visit.slug}) in page
    assert ">Live updates<" in page
    live = client.get(reverse("visits:live", kwargs={"slug": visit.slug})).content.decode()
    assert "refreshes by itself" in live and "data-src=" in live
