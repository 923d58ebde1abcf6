"""The rules of the visits app, through its services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from contests.models import Entry
from contests.services.draws import draw_audit_record, draw_run
from contests.services.privacy import entries_personal_data_remove
from contests.services.selections import selection_disqualify
from notifications.models import OutboxMessage
from tests.builders import drawn_contest, winner
from tests.factories import EntryFactory
from tests.visits.factories import (
    LocationFactory,
    QuestionFactory,
    TourStopFactory,
    accepted_selection,
    at,
    visitor,
    winner_for,
)
from tweetup.privacy import personal_data_remove
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
from visitors.services.privacy import visitors_private_data_remove
from visitors.services.profiles import visitor_profile_create, visitor_profile_update
from visits.errors import VisitError
from visits.models import Question, StopChange, TourStop
from visits.services.questions import (
    question_answer,
    question_moderate,
    question_submit,
    question_vote,
)
from visits.services.stops import (
    StopSlot,
    stop_change_record,
    stops_conflicts,
    stops_validate,
    tour_stop_save,
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


# Tour stops ----------------------------------------------------------------------


def test_stops_may_touch_but_not_overlap(visit):
    TourStopFactory(
        visit=visit, title="Computing Centre", starts_at=at(visit, 10), ends_at=at(visit, 11)
    )
    stops_validate(
        visit=visit,
        stops=[StopSlot(title="Control Centre", starts_at=at(visit, 11), ends_at=at(visit, 12))],
    )
    with pytest.raises(VisitError) as caught:
        stops_validate(
            visit=visit,
            stops=[
                StopSlot(title="Control Centre", starts_at=at(visit, 10, 30), ends_at=at(visit, 12))
            ],
        )
    message = str(caught.value)
    assert caught.value.extra["conflicts"] == [message]
    assert "Computing Centre" in message and "Control Centre" in message
    assert "overlap" in message


def test_stop_ending_before_it_starts_or_outside_the_day_is_named(visit):
    stops = [
        StopSlot(title="Backwards", starts_at=at(visit, 12), ends_at=at(visit, 11)),
        StopSlot(
            title="Night shift", starts_at=at(visit, 23), ends_at=at(visit, 23) + timedelta(hours=2)
        ),
    ]
    errors = stops_conflicts(visit=visit, stops=stops)
    assert any("Backwards" in error and "before it starts" in error for error in errors)
    assert any("Night shift" in error and "day of the visit" in error for error in errors)


def test_day_is_read_in_the_visits_time_zone(visit):
    visit.time_zone = "America/New_York"
    # 08:00 in New York is 14:00 in Geneva: fine; 23:30 New York is the next day in UTC: fine too.
    stops = [
        StopSlot(title="Morning", starts_at=at(visit, 8), ends_at=at(visit, 9)),
        StopSlot(title="Late", starts_at=at(visit, 23), ends_at=at(visit, 23, 59)),
    ]
    assert stops_conflicts(visit=visit, stops=stops) == []


def test_moving_a_stop_onto_another_is_refused_and_nothing_saved(visit):
    first = TourStopFactory(visit=visit, title="A", starts_at=at(visit, 9), ends_at=at(visit, 10))
    TourStopFactory(visit=visit, title="B", starts_at=at(visit, 10), ends_at=at(visit, 11))
    first.ends_at = at(visit, 10, 30)
    with pytest.raises(VisitError, match="overlap"):
        tour_stop_save(stop=first)
    first.refresh_from_db()
    assert first.ends_at == at(visit, 10)
    assert not StopChange.objects.exists()


def test_database_refuses_a_stop_ending_before_it_starts(visit):
    with pytest.raises(IntegrityError), transaction.atomic():
        TourStopFactory(visit=visit, starts_at=at(visit, 11), ends_at=at(visit, 10))


def test_deleted_stops_do_not_count(visit):
    old = TourStopFactory(visit=visit, title="Old", starts_at=at(visit, 9), ends_at=at(visit, 10))
    stops_validate(
        visit=visit,
        stops=[StopSlot(title="New", starts_at=at(visit, 9), ends_at=at(visit, 10))],
        deleted_pks=[old.pk],
    )


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


# Questions -------------------------------------------------------------------------


def test_question_waits_for_approval_and_is_cleaned(visit):
    stop = TourStopFactory(visit=visit)
    question = question_submit(stop=stop, text="  How   cold is\nthe magnet? ")
    assert question.status == Question.Status.PENDING
    assert question.text == "How cold is the magnet?"


@pytest.mark.parametrize("text", ["", "   ", "x" * 281])
def test_question_must_be_short_and_not_empty(visit, text):
    stop = TourStopFactory(visit=visit)
    with pytest.raises(VisitError):
        question_submit(stop=stop, text=text)


def test_questions_close_after_the_day(visit):
    stop = TourStopFactory(visit=visit)
    with pytest.raises(VisitError, match="over"):
        question_submit(stop=stop, text="Too late?", now=visit.day_end)


def test_moderation_follows_the_questions_life(visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit), status=Question.Status.PENDING)
    with pytest.raises(VisitError):
        question_moderate(question=question, action="asked")
    question = question_moderate(question=question, action="approve")
    assert question.status == Question.Status.APPROVED
    question = question_answer(question=question, answer="1.9 K")
    assert question.status == Question.Status.ANSWERED and question.answered_at
    with pytest.raises(VisitError):
        question_moderate(question=question, action="approve")


def test_a_browser_votes_once(visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit))
    assert question_vote(question=question, voter_key="browser-1") is True
    assert question_vote(question=question, voter_key="browser-1") is False
    assert question_vote(question=question, voter_key="browser-2") is True
    assert question.votes.count() == 2


def test_pending_question_cannot_be_voted_for(visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit), status="pending")
    with pytest.raises(VisitError):
        question_vote(question=question, voter_key="browser-1")


# Check-in ------------------------------------------------------------------------------


def test_check_in_keeps_the_first_arrival_and_can_be_undone(visit):
    profile = visitor(visit)
    first = timezone.now()
    visitor_check_in(profile=profile, now=first)
    visitor_check_in(profile=profile, now=first + timedelta(minutes=5))
    profile.refresh_from_db()
    assert profile.checked_in_at == first
    visitor_check_in(profile=profile, undo=True)
    profile.refresh_from_db()
    assert profile.checked_in_at is None


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


# Privacy ------------------------------------------------------------------------------------


@pytest.fixture
def draw(visit):
    """A drawn contest leading to the visit, whose one winner became a visitor.

    The tests add entries and places to it; the visitor is kept by every purge they run.
    The visit is 39 days after the draw, as their timelines assume.
    """
    _contest, draw = drawn_contest(winners=1, alternates=0, entries=1, visit=visit)
    place_accept(selection=winner(draw), can_attend=True)
    _visit_after(draw, visit, days=39)
    return draw


def _visit_after(draw, visit, *, days: int) -> None:
    """Move the draw's visit to ``days`` after the draw."""
    visit.date = (draw.drawn_at + timedelta(days=days)).date()
    visit.save(update_fields=["date"])


def test_entries_not_chosen_lose_their_personal_data_after_the_delay(
    draw, visit, django_assert_max_num_queries
):
    chosen = visitor(visit)
    others = [EntryFactory(contest=draw.contest, in_draw=True) for _ in range(3)]
    tickets = sorted(Entry.objects.filter(contest=draw.contest).values_list("ticket", flat=True))
    drawn_at = draw.drawn_at
    assert entries_personal_data_remove(now=drawn_at + timedelta(days=29), days=30) == 0
    # One query reads the visits whose day ends around now, one UPDATE forgets the entries.
    with django_assert_max_num_queries(2):
        removed = entries_personal_data_remove(now=drawn_at + timedelta(days=31), days=30)
    assert removed == 3
    for entry in Entry.objects.filter(pk__in=[e.pk for e in others]):
        assert (entry.name, entry.email, entry.twitter_handle, entry.motivation) == ("", "", "", "")
        assert entry.email_normalized == entry.handle_normalized == f"~{entry.pk}"
        assert entry.personal_data_removed_at is not None
        assert entry.in_draw and entry.confirmed_at and entry.country
    # Counts and the tickets of the audit record stay.
    assert (
        sorted(Entry.objects.filter(contest=draw.contest).values_list("ticket", flat=True))
        == tickets
    )
    assert Entry.objects.get(pk=chosen.selection.entry_id).email == chosen.email
    assert entries_personal_data_remove(now=drawn_at + timedelta(days=40), days=30) == 0


def test_visitors_private_data_goes_after_the_visit(visit):
    profile = visitor(visit)
    visitor_profile_update(
        profile=profile,
        dietary_needs="Vegan",
        emergency_contact_name="Mum",
        emergency_contact_phone="+41 22 000 00 00",
        bio="Physicist",
        public_consent=True,
    )
    assert visitors_private_data_remove(now=visit.day_end, days=30) == 0
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=32), days=30) == 1
    profile.refresh_from_db()
    assert (profile.email, profile.dietary_needs, profile.emergency_contact) == ("", "", "")
    assert profile.bio == "Physicist"
    entry = Entry.objects.get(pk=profile.selection.entry_id)
    assert entry.email == "" and entry.personal_data_removed_at is not None


def _outbox_row(
    key: str, *, to: str, contest_id: int | None, concerns=None, **fields
) -> OutboxMessage:
    """A mail in the outbox to ``to``, about ``concerns`` (an entry, a visitor profile)."""
    from notifications.services.outbox import concerns_label

    fields.setdefault("kind", "entry_confirm")
    fields.setdefault("body_text", f"Hello, {to}")
    fields.setdefault("body_html", f"<p>{fields['body_text']}</p>")
    return OutboxMessage.objects.create(
        key=key,
        contest_id=contest_id,
        to_email=to,
        subject="Confirm your entry",
        concerns=concerns_label(concerns),
        **fields,
    )


def test_purge_keeps_the_draws_audit_record_verifiable():
    from contests import draw_algorithm
    from tests.contests.drawing import frozen_contest

    contest = frozen_contest(24)
    draw = draw_run(contest=contest, actor=None, caps={"country": 1}, notify=False)
    before = draw_audit_record(draw=draw)
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    # Without a visit, the alternates never offered a place go with the entries not chosen.
    assert removed["entries"] == 24 - len(before["winners"])
    assert Entry.objects.filter(contest=contest, email="").count() == removed["entries"]
    after = draw_audit_record(draw=draw)
    assert after == before
    assert draw_algorithm.verify_audit_record(after) == []


def test_purge_clears_the_mail_written_to_entries_not_chosen(draw, visit):
    chosen = visitor(visit)
    other = EntryFactory(contest=draw.contest, in_draw=True, email="Someone@Example.org")
    # The same person in a contest of its own, whose entry stays.
    again = EntryFactory(email=other.email)
    contest_id = draw.contest_id
    sent = _outbox_row(
        "confirm:other", to="someone@example.org", contest_id=contest_id, concerns=other,
        status=OutboxMessage.Status.SENT, sent_at=draw.drawn_at,
    )  # fmt: skip
    waiting = _outbox_row("notice:other", to=other.email, contest_id=contest_id, concerns=other)
    kept = _outbox_row(
        "confirm:chosen", to=chosen.email, contest_id=contest_id, concerns=chosen.selection.entry
    )
    elsewhere = _outbox_row(
        "confirm:elsewhere", to=other.email, contest_id=again.contest_id, concerns=again
    )
    assert personal_data_remove(now=draw.drawn_at + timedelta(days=29))["entries"] == 0
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    assert removed == {"entries": 1, "visitors": 0, "mails": 2, "exports": 0}
    for row in (sent, waiting):
        row.refresh_from_db()
        assert (row.to_email, row.body_text, row.body_html) == ("", "", "")
        assert row.key and row.kind == "entry_confirm"
    assert sent.status == OutboxMessage.Status.SENT
    assert waiting.status == OutboxMessage.Status.FAILED and waiting.last_error
    for row in (kept, elsewhere):
        row.refresh_from_db()
        assert row.to_email and row.body_text


def test_visitors_purge_clears_the_mail_written_to_them(visit):
    profile = visitor(visit)
    itinerary = _outbox_row(
        "visit_itinerary:1", to=profile.email.upper(), contest_id=profile.selection.draw.contest_id,
        concerns=profile, status=OutboxMessage.Status.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    now = visit.day_end + timedelta(days=32)
    assert personal_data_remove(now=now, visitor_days=30)["visitors"] == 1
    itinerary.refresh_from_db()
    assert (itinerary.to_email, itinerary.body_text) == ("", "")


def _place(draw, status: str, *, kind: str = "winner", at=None):
    """A place of the draw in this state since ``at`` (the draw by default), and a mail to it."""
    from contests.models import Selection, SelectionEvent

    at = at or draw.drawn_at
    entry = EntryFactory(contest=draw.contest, in_draw=True)
    selection = Selection.objects.create(
        draw=draw,
        entry=entry,
        kind=kind,
        position=draw.selections.filter(kind=kind).count() + 1,
        status=status,
        deadline=None if status == "waiting" else at + timedelta(days=3),
    )
    SelectionEvent.objects.create(selection=selection, action="drawn", at=draw.drawn_at)
    if status != "waiting":
        action = "offered" if status == "pending" else status
        SelectionEvent.objects.create(selection=selection, action=action, at=at)
    _outbox_row(f"notice:{entry.pk}", to=entry.email, contest_id=draw.contest_id, concerns=entry)
    return selection


def _forgotten(selection) -> bool:
    """Whether the entry and the mail written to it lost their personal data."""
    entry = Entry.objects.get(pk=selection.entry_id)
    row = OutboxMessage.objects.get(key=f"notice:{entry.pk}")
    entry_gone = (entry.name, entry.email, entry.twitter_handle, entry.motivation) == ("",) * 4
    assert entry_gone == (entry.personal_data_removed_at is not None)
    assert entry_gone == ((row.to_email, row.body_text, row.body_html) == ("", "", ""))
    return entry_gone


def test_purge_forgets_the_winners_who_gave_up_or_lost_their_place_and_their_mail(draw, visit):
    """A declined, expired or disqualified place holds nobody: it goes like an entry not chosen."""
    drawn_at = draw.drawn_at
    gone = [
        _place(draw, "declined", at=drawn_at + timedelta(hours=5)),
        _place(draw, "expired", at=drawn_at + timedelta(days=3)),
        _place(draw, "disqualified", at=drawn_at + timedelta(days=1)),
        _place(draw, "expired", kind="alternate", at=drawn_at + timedelta(days=2)),
    ]
    held = [
        _place(draw, "pending", at=drawn_at + timedelta(days=6)),
        _place(draw, "accepted", at=drawn_at + timedelta(hours=2)),
    ]
    # The visit, 39 days after the draw, is still to come.
    now = drawn_at + timedelta(days=34)
    removed = personal_data_remove(now=now, entry_days=30, visitor_days=30)
    assert removed == {"entries": 4, "visitors": 0, "mails": 4, "exports": 0}
    assert all(_forgotten(selection) for selection in gone)
    assert not any(_forgotten(selection) for selection in held)


def test_a_place_given_up_late_is_kept_the_delay_after_it_ended(draw):
    """Its last mail (the decline's confirmation) has the whole delay to leave."""
    late = _place(draw, "declined", at=draw.drawn_at + timedelta(days=25))
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
    assert not _forgotten(late)
    now = draw.drawn_at + timedelta(days=56)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 1
    assert _forgotten(late)


@pytest.mark.parametrize("time_zone", ["Europe/Zurich", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_alternates_never_offered_are_forgotten_once_their_visits_day_is_over(
    draw, visit, time_zone
):
    """A free place goes to a waiting alternate until the visit's day begins; the day ends it."""
    visit.time_zone = time_zone
    visit.save(update_fields=["time_zone"])
    waiting = _place(draw, "waiting", kind="alternate")
    for now in (
        draw.drawn_at + timedelta(days=31),
        visit.day_start + timedelta(hours=10),
        visit.day_end - timedelta(minutes=1),
    ):
        assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
        assert not _forgotten(waiting)
    assert personal_data_remove(now=visit.day_end, entry_days=30)["entries"] == 1
    assert _forgotten(waiting)


def test_without_a_visit_alternates_wait_as_long_as_entries_not_chosen_are_kept():
    _contest, draw = drawn_contest(winners=1, alternates=0, entries=1, visit=None)
    place_accept(selection=winner(draw), can_attend=True)
    waiting = _place(draw, "waiting", kind="alternate")
    now = draw.drawn_at + timedelta(days=29)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 1
    assert _forgotten(waiting)


def test_purge_clears_and_never_sends_mail_to_addresses_only_python_lowercases(visit):
    """SQLite's LOWER (and a C-locale PostgreSQL's) folds ASCII letters only: not Ë or Ä."""
    from notifications.services.sending import message_send

    _contest, draw = drawn_contest(
        winners=[{"email": "ÅSA@BÜRO.EXAMPLE"}], alternates=0, entries=1, visit=visit
    )
    profile = place_accept(selection=winner(draw), can_attend=True)
    other = EntryFactory(contest=draw.contest, in_draw=True, email="ZOË@EXÄMPLE.ORG")
    assert other.email_normalized == "zoë@exämple.org"
    notice = _outbox_row(
        "not_chosen:zoe", to=other.email, contest_id=draw.contest_id, concerns=other
    )
    message = _outbox_row(
        "visit_message:asa", to="Åsa@Büro.example", contest_id=draw.contest_id, concerns=profile
    )
    assert OutboxMessage.objects.filter(to_email__in=[profile.email]).count() == 2  # entry, welcome
    now = visit.day_end + timedelta(days=32)
    removed = personal_data_remove(now=now, entry_days=30, visitor_days=30)
    assert (removed["entries"], removed["visitors"]) == (1, 1)
    assert not OutboxMessage.objects.exclude(to_email="").exists()
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()
    for row in (notice, message):
        row.refresh_from_db()
        assert (row.to_email, row.body_text, row.status) == ("", "", OutboxMessage.Status.FAILED)
    assert not any(
        message_send(message_id=pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)
    )
    assert mail.outbox == []


def test_visitors_who_did_not_consent_lose_their_public_profile_after_the_visit(visit):
    shown, hidden, earlier = visitor(visit), visitor(visit), visitor(visit)
    for profile, name, consent in (
        (shown, "Ada", True),
        (hidden, "Grace", False),
        (earlier, "Alan", False),
    ):
        visitor_profile_update(
            profile=profile, display_name=name, handle=f"{name}_x", bio=f"{name}'s bio",
            background_other="Museum guide", public_consent=consent,
        )  # fmt: skip
    # The purge before this one cleared the private side only.
    VisitorProfile.objects.filter(pk=earlier.pk).update(
        email="", private_data_removed_at=timezone.now()
    )
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=29), days=30) == 0
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=31), days=30) == 3
    for profile in (shown, hidden, earlier):
        profile.refresh_from_db()
        assert profile.email == "" and profile.private_data_removed_at is not None
    assert (shown.display_name, shown.handle, shown.bio) == ("Ada", "Ada_x", "Ada's bio")
    for profile in (hidden, earlier):
        fields = (profile.display_name, profile.handle, profile.bio, profile.background_other)
        assert fields == ("", "", "", "")
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=40), days=30) == 0


def test_a_visitor_whose_place_was_taken_back_is_forgotten_with_their_entry(visit):
    profile = visitor(visit)
    draw = profile.selection.draw
    _visit_after(draw, visit, days=39)
    visitor_profile_update(
        profile=profile, display_name="Eve", handle="eve_x", bio="Not who she said",
        dietary_needs="Vegan", public_consent=True,
    )  # fmt: skip
    selection_disqualify(
        selection=profile.selection, actor=None, reason="Not who she said",
        now=draw.drawn_at + timedelta(days=1),
    )  # fmt: skip
    # Before the visit (39 days after the draw), once the delay after the disqualification.
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=32))
    assert (removed["entries"], removed["visitors"]) == (1, 1)
    profile.refresh_from_db()
    assert (profile.email, profile.dietary_needs, profile.private_data_removed_at is None) == (
        "",
        "",
        False,
    )
    assert (profile.display_name, profile.handle, profile.bio) == ("", "", "")
    assert not OutboxMessage.objects.exclude(to_email="").exists()  # confirmation, welcome


def test_purge_clears_mail_about_an_entrant_at_an_address_since_corrected(draw):
    """The mail names the person it is about: the address it went to need not be theirs now."""
    other = EntryFactory(contest=draw.contest, in_draw=True, email="lucy@exmaple.org")
    typo = _outbox_row("confirm:typo", to=other.email, contest_id=draw.contest_id, concerns=other)
    Entry.objects.filter(pk=other.pk).update(
        email="lucy@example.org", email_normalized="lucy@example.org"
    )
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    assert (removed["entries"], removed["mails"]) == (1, 1)
    typo.refresh_from_db()
    assert (typo.to_email, typo.body_text, typo.status) == ("", "", OutboxMessage.Status.FAILED)


def test_a_mail_written_while_the_purge_ran_goes_at_the_next(draw, visit):
    """A task that read the entry before the purge may queue its mail after it."""
    other = EntryFactory(contest=draw.contest, in_draw=True)
    address = other.email
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now)["entries"] == 1
    late = _outbox_row("not_chosen:late", to=address, contest_id=draw.contest_id, concerns=other)
    removed = personal_data_remove(now=now + timedelta(hours=6))
    assert removed == {"entries": 0, "visitors": 0, "mails": 1, "exports": 0}
    late.refresh_from_db()
    assert (late.to_email, late.status) == ("", OutboxMessage.Status.FAILED)


def test_mail_written_before_it_named_its_person_is_named_by_the_migration(visit):
    """Rows from before ``concerns`` get their entry or visitor, found by contest and address.

    The migration ran while the visits app held the visitor profiles; a later
    one names them by the visitors app that holds them now.
    """
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = importlib.import_module("visits.migrations.0003_outbox_concerns")
    renaming = importlib.import_module("notifications.migrations.0006_concerns_visitors")
    loader = MigrationLoader(connection)
    then = loader.project_state(("visits", "0003_outbox_concerns"), at_end=False).apps
    now = loader.project_state(("notifications", "0006_concerns_visitors")).apps
    contest, draw = drawn_contest(
        winners=[{"email": "Asa@Example.org"}], alternates=0, entries=1, visit=visit
    )
    profile = place_accept(selection=winner(draw), can_attend=True)
    contest_id = contest.pk
    zoe = EntryFactory(contest=contest, in_draw=True, email="Zoë@Exämple.org")
    elsewhere = EntryFactory(email="Zoë@Exämple.org")
    rows = {
        "confirm": _outbox_row("confirm", to="ZOË@EXÄMPLE.ORG", contest_id=contest_id),
        "offer": _outbox_row(
            "offer", to=profile.email, contest_id=contest_id, kind="selection_offer"
        ),
        "welcome": _outbox_row(
            "welcome", to="asa@example.org", contest_id=contest_id, kind="visit_welcome"
        ),
        "elsewhere": _outbox_row("elsewhere", to=zoe.email, contest_id=elsewhere.contest_id),
        "stranger": _outbox_row("stranger", to="nobody@example.org", contest_id=contest_id),
        "report": _outbox_row("report", to=zoe.email, contest_id=None, kind="mail_failed"),
    }
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows.values()]).update(concerns=None)
    migration.name_the_people(then, None)
    renaming.forward(now, None)
    named = dict(OutboxMessage.objects.filter(key__in=rows).values_list("key", "concerns"))
    assert named == {
        "confirm": f"contests.entry:{zoe.pk}",
        "offer": f"contests.entry:{profile.selection.entry_id}",
        "welcome": f"visitors.visitorprofile:{profile.pk}",
        "elsewhere": f"contests.entry:{elsewhere.pk}",
        "stranger": None,
        "report": None,
    }


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = value.values()
    if isinstance(value, list | type({}.values())):
        return [text for item in value for text in _strings(item)]
    return []


def test_after_the_purge_the_demo_database_names_nobody_it_forgot(tmp_path, settings):
    """Everyone the demo no longer needs is gone from every table; the draw stays verifiable."""
    import io
    import json
    import re
    from unittest import mock

    from django.core.management import call_command

    from contests.models import Contest, Selection
    from visits.models import Visit

    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    draw = Contest.objects.get(slug="first-cern-tweetup-2012").draw
    record = draw_audit_record(draw=draw)
    entries = list(Entry.objects.filter(contest__draw__isnull=False))
    statuses = set(Selection.objects.filter(draw=draw).values_list("status", flat=True))
    assert {"accepted", "declined", "expired", "waiting"} <= statuses
    # The mail the site wrote to each of them, some still waiting to leave.
    for entry in entries:
        _outbox_row(
            f"entry_confirm:{entry.pk}", to=entry.email, contest_id=entry.contest_id,
            concerns=entry,
            body_text=f"Dear {entry.name} (@{entry.twitter_handle}): “{entry.motivation}”",
        )  # fmt: skip
    profiles = list(VisitorProfile.objects.all())
    for profile in profiles:
        welcome_mail_send(profile=profile)
    shown = [profile for profile in profiles if profile.public_consent]
    hidden = [profile for profile in profiles if not profile.public_consent]
    assert shown and hidden

    later = max(visit.day_end for visit in Visit.objects.all()) + timedelta(
        days=max(settings.PRIVACY_ENTRY_RETENTION_DAYS, settings.PRIVACY_VISITOR_RETENTION_DAYS) + 1
    )
    with mock.patch("django.utils.timezone.now", return_value=later):
        call_command("purge_personal_data", stdout=io.StringIO())

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = "\n".join(_strings(json.loads(dump.getvalue())))
    lowered = text.lower()
    public_handles = {profile.handle.lower() for profile in shown}
    for entry in entries:
        assert entry.name not in text
        assert entry.email.lower() not in lowered
        assert entry.motivation not in text
        handle = entry.twitter_handle.lower()
        if handle not in public_handles:
            assert not re.search(rf"(?<![a-z0-9_]){re.escape(handle)}(?![a-z0-9_])", lowered)
    for profile in hidden:
        assert profile.bio not in text
        profile.refresh_from_db()
        assert (profile.display_name, profile.handle, profile.bio) == ("", "", "")
    for profile in shown:
        profile.refresh_from_db()
        assert profile.display_name and profile.handle and profile.bio
    assert not OutboxMessage.objects.exclude(to_email="").exists()

    after = draw_audit_record(draw=draw)
    assert after == record
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(after))
    out = io.StringIO()
    call_command("verify_draw", str(path), stdout=out)
    assert "OK" in out.getvalue()


@pytest.mark.parametrize("argument", ["--entry-days=-1", "--visitor-days=-3"])
def test_purge_command_refuses_negative_days_and_removes_nothing(draw, argument):
    from django.core.management import CommandError, call_command

    other = EntryFactory(contest=draw.contest, in_draw=True)
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("purge_personal_data", argument)
    other.refresh_from_db()
    assert other.email and other.personal_data_removed_at is None


def test_purge_command_and_beat_task_use_the_configured_delays(
    draw, settings, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from tweetup import tasks
    from tweetup.models import Job

    def purge_job() -> Job:
        """Beat's task starts the purge as a background job, which runs after commit."""
        with django_capture_on_commit_callbacks(execute=True):
            job_id = tasks.remove_personal_data.apply().get()
        job = Job.objects.get(pk=job_id, kind=Job.Kind.PURGE)
        assert job.state == Job.State.DONE, job.outcome
        return job

    other = EntryFactory(contest=draw.contest, in_draw=True)
    draw.drawn_at = timezone.now() - timedelta(days=10)
    draw.save(update_fields=["drawn_at"])
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 11
    assert purge_job().outcome.startswith("Personal data removed from 0 entries")
    out = StringIO()
    call_command("purge_personal_data", "--entry-days=9", stdout=out)
    assert "Personal data removed from 1 entries that hold no place" in out.getvalue()
    other.refresh_from_db()
    assert other.email == "" and other.personal_data_removed_at is not None
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 9
    assert purge_job().outcome.startswith("Personal data removed from 0 entries")
