"""The rules of the visits app, through its services."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from tests.visits.factories import (
    QuestionFactory,
    TourStopFactory,
    at,
)
from visits.errors import VisitError
from visits.models import Question, StopChange
from visits.services.questions import (
    question_answer,
    question_moderate,
    question_submit,
    question_vote,
)
from visits.services.stops import (
    StopSlot,
    stops_conflicts,
    stops_validate,
    tour_stop_save,
)

pytestmark = pytest.mark.django_db


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


def test_votes_close_with_the_questions_at_the_end_of_the_visits_day(visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit))
    assert question_vote(
        question=question, voter_key="b1", now=visit.day_end - timedelta(seconds=1)
    )
    with pytest.raises(VisitError, match="votes are closed"):
        question_vote(question=question, voter_key="b2", now=visit.day_end)
    assert question.votes.count() == 1


def test_pending_question_cannot_be_voted_for(visit):
    question = QuestionFactory(stop=TourStopFactory(visit=visit), status="pending")
    with pytest.raises(VisitError):
        question_vote(question=question, voter_key="browser-1")
