"""Offers, answers, promotions, expiry and the end of the selections."""

import json
import threading
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.db import close_old_connections, connection
from django.utils import timezone

from contests.errors import ContestError
from contests.models import Selection, SelectionEvent
from contests.services.answers import ANSWER_GRACE, selection_answer_token, selection_from_token
from contests.services.notices import (
    contest_notify_not_chosen,
    not_chosen_notices_queue,
    not_chosen_notices_unfinished,
)
from contests.services.selection_mail import draw_offers_send
from contests.services.selections import (
    contest_places_settled,
    selection_accept,
    selection_decline,
    selection_disqualify,
    selections_expire_overdue,
)
from contests.tasks import expire_overdue_selections
from notifications.models import OutboxMessage
from tests.builders import alternate, drawn_contest, winner
from tests.conftest import need
from tests.contests.drawing import links_in, mails_to
from tests.contests.drawing import organizer as organizer_user
from visitors.models import VisitorProfile
from visitors.services.places import place_accept

Status = Selection.Status


def actions(selection: Selection) -> list[str]:
    return list(selection.events.order_by("at", "pk").values_list("action", flat=True))


@pytest.mark.django_db
def test_offer_mail_has_signed_links_and_the_deadline_in_the_visits_time_zone(
    django_capture_on_commit_callbacks,
):
    contest, draw = drawn_contest(winners=1, alternates=0)
    place = winner(draw)
    with django_capture_on_commit_callbacks(execute=True):
        assert draw_offers_send(draw=draw, base_url="https://tweetup.example/") == 1
    [message] = mails_to(place.entry)
    links = links_in(message)
    assert set(links) == {"accept", "decline"}
    assert links["accept"].startswith("https://tweetup.example/contests/place/")
    local = place.deadline.astimezone(contest.visit.tzinfo)
    assert f"{local:%H:%M}" in message.body and "Europe/Zurich" in message.body
    assert contest.visit.date.strftime("%Y") in message.body
    html = message.alternatives[0].content
    assert links["accept"] in html and "Europe/Zurich" in html


@pytest.mark.django_db
def test_an_offer_is_queued_once_however_often_it_is_sent(django_capture_on_commit_callbacks):
    _contest, draw = drawn_contest(winners=2, alternates=0)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
        draw_offers_send(draw=draw)
    assert OutboxMessage.objects.filter(kind="selection_offer").count() == 2
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_accepting_needs_the_visit_date_confirmed():
    _contest, draw = drawn_contest(winners=1, alternates=0)
    with pytest.raises(ContestError, match="confirm"):
        place_accept(selection=winner(draw), can_attend=False)
    assert winner(draw).status == Status.PENDING


@pytest.mark.django_db
def test_accepting_records_when_and_creates_the_visitor_profile(
    django_capture_on_commit_callbacks,
):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    with django_capture_on_commit_callbacks(execute=True):
        profile = place_accept(
            selection=winner(draw), can_attend=True, base_url="https://tweetup.example.org/"
        )
    place = winner(draw)
    assert place.status == Status.ACCEPTED and place.answered_at is not None
    assert actions(place) == ["drawn", "accepted"]
    assert profile.selection_id == place.pk and profile.email == place.entry.email
    # The profile's mail links start at the address the winner answered from.
    [welcome] = mails_to(place.entry)
    assert "https://tweetup.example.org/visits/profile/" in welcome.body


@pytest.mark.django_db
def test_the_contest_alone_accepts_a_place_and_makes_no_visitor():
    _contest, draw = drawn_contest(winners=1, alternates=0)
    selection_accept(selection=winner(draw), can_attend=True)
    assert winner(draw).status == Status.ACCEPTED
    assert not VisitorProfile.objects.exists()


@pytest.mark.django_db
def test_a_place_cannot_be_answered_twice():
    _contest, draw = drawn_contest(winners=1, alternates=1)
    place_accept(selection=winner(draw), can_attend=True)
    with pytest.raises(ContestError, match="already accepted"):
        selection_decline(selection=winner(draw))
    assert alternate(draw).status == Status.WAITING


@pytest.mark.django_db
def test_answering_after_the_deadline_and_grace_is_refused():
    _contest, draw = drawn_contest(winners=1, alternates=0)
    late = winner(draw).deadline + ANSWER_GRACE + timedelta(seconds=1)
    with pytest.raises(ContestError, match="deadline"):
        place_accept(selection=winner(draw), can_attend=True, now=late)
    just_in_grace = late - timedelta(seconds=2)
    place_accept(selection=winner(draw), can_attend=True, now=just_in_grace)


@pytest.mark.django_db
def test_declining_confirms_by_mail_and_offers_the_place_to_the_first_alternate(
    django_capture_on_commit_callbacks,
):
    contest, draw = drawn_contest(winners=2, alternates=2)
    with django_capture_on_commit_callbacks(execute=True):
        selection_decline(selection=winner(draw, 2), note="cannot come")
    declined, first, second = winner(draw, 2), alternate(draw, 1), alternate(draw, 2)
    assert declined.status == Status.DECLINED and declined.answered_at
    assert actions(declined) == ["drawn", "declined"]
    assert first.status == Status.PENDING and first.is_promoted
    expected = first.promoted_at + timedelta(hours=contest.acceptance_hours)
    assert first.deadline == expected
    assert actions(first) == ["drawn", "promoted"]
    assert second.status == Status.WAITING
    assert [m.subject for m in mails_to(declined.entry)] == [
        f"You declined your place: {contest.title}"
    ]
    [offer] = mails_to(first.entry)
    assert offer.subject == f"A place is free for you: {contest.title}"
    assert set(links_in(offer)) == {"accept", "decline"}
    assert OutboxMessage.objects.filter(key=f"selection_offer:{first.pk}:2").exists()


@pytest.mark.django_db
def test_promotion_skips_an_alternate_who_would_break_the_caps():
    _contest, draw = drawn_contest(
        winners=[{"country": "CH"}, {"country": "FR"}],
        alternates=[{"country": "CH"}, {"country": "DE"}],
        caps={"country": 1},
    )
    selection_decline(selection=winner(draw, 2))
    assert alternate(draw, 1).status == Status.WAITING
    assert alternate(draw, 2).status == Status.PENDING


@pytest.mark.django_db
def test_a_skipped_alternate_gets_a_place_once_the_caps_allow_it():
    _contest, draw = drawn_contest(
        winners=[{"country": "CH"}, {"country": "FR"}],
        alternates=[{"country": "CH"}],
        caps={"country": 1},
    )
    selection_decline(selection=winner(draw, 2))
    assert alternate(draw, 1).status == Status.WAITING
    selection_decline(selection=winner(draw, 1))
    assert alternate(draw, 1).status == Status.PENDING


@pytest.mark.django_db
def test_disqualifying_needs_a_reason_logs_who_and_promotes():
    _contest, draw = drawn_contest(winners=1, alternates=1)
    organizer = organizer_user()
    with pytest.raises(ContestError, match="reason"):
        selection_disqualify(selection=winner(draw), actor=organizer, reason="  ")
    selection_disqualify(selection=winner(draw), actor=organizer, reason="Fake handle")
    place = winner(draw)
    assert place.status == Status.DISQUALIFIED and place.reason == "Fake handle"
    event = place.events.exclude(action="drawn").get()
    assert (event.action, event.actor, event.note) == ("disqualified", organizer, "Fake handle")
    promoted = alternate(draw)
    assert promoted.status == Status.PENDING
    assert promoted.events.get(action="promoted").actor == organizer


@pytest.mark.django_db
def test_a_place_freed_once_the_visit_day_has_begun_is_offered_to_no_one():
    contest, draw = drawn_contest(winners=1, alternates=1)
    on_the_day = contest.visit.day_start + timedelta(hours=9)
    Selection.objects.filter(pk=winner(draw).pk).update(deadline=on_the_day + timedelta(days=1))
    selection_decline(selection=winner(draw), now=on_the_day)
    assert winner(draw).status == Status.DECLINED
    assert alternate(draw).status == Status.WAITING
    assert not OutboxMessage.objects.filter(kind="selection_offer").exists()


@pytest.mark.django_db
def test_an_alternate_the_privacy_purge_forgot_is_never_offered_a_place():
    """Without a visit to end the promotions, the purge ends an alternate's wait."""
    _contest, draw = drawn_contest(winners=1, alternates=2, visit=False)
    forgotten = alternate(draw, 1)
    forgotten.entry.email = ""
    forgotten.entry.personal_data_removed_at = timezone.now()
    forgotten.entry.save(update_fields=["email", "personal_data_removed_at"])
    selection_decline(selection=winner(draw))
    assert alternate(draw, 1).status == Status.WAITING
    assert alternate(draw, 2).status == Status.PENDING
    assert not OutboxMessage.objects.filter(to_email="").exists()


@pytest.mark.django_db
def test_disqualifying_a_waiting_alternate_frees_no_place():
    _contest, draw = drawn_contest(winners=1, alternates=2)
    selection_disqualify(
        selection=alternate(draw, 1), actor=organizer_user(), reason="Double entry"
    )
    assert alternate(draw, 1).status == Status.DISQUALIFIED
    assert alternate(draw, 2).status == Status.WAITING
    selection_decline(selection=winner(draw))
    assert alternate(draw, 2).status == Status.PENDING


@pytest.mark.django_db
def test_overdue_offers_expire_with_a_notice_and_the_place_goes_on(
    django_capture_on_commit_callbacks,
):
    _contest, draw = drawn_contest(winners=2, alternates=1)
    Selection.objects.filter(pk=winner(draw, 1).pk).update(
        deadline=timezone.now() - ANSWER_GRACE - timedelta(minutes=1)
    )
    Selection.objects.filter(pk=winner(draw, 2).pk).update(
        deadline=timezone.now() - timedelta(minutes=1)  # still within the grace
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_overdue_selections.delay().get() == 1
    expired = winner(draw, 1)
    assert expired.status == Status.EXPIRED
    assert actions(expired) == ["drawn", "expired"]
    assert winner(draw, 2).status == Status.PENDING
    assert alternate(draw).status == Status.PENDING
    [notice] = mails_to(expired.entry)
    assert "gone to someone else" in notice.subject
    assert selections_expire_overdue() == 0


@pytest.mark.django_db
def test_places_are_settled_when_all_accepted_or_the_alternates_run_out():
    contest, draw = drawn_contest(winners=2, alternates=1)
    assert not contest_places_settled(contest=contest).settled
    place_accept(selection=winner(draw, 1), can_attend=True)
    selection_decline(selection=winner(draw, 2))
    state = contest_places_settled(contest=contest)
    assert (state.accepted, state.pending, state.settled) == (1, 1, False)
    selection_decline(selection=alternate(draw))
    state = contest_places_settled(contest=contest)
    assert state.settled and state.alternates_exhausted and state.free == 1


@pytest.mark.django_db
def test_not_chosen_notice_goes_once_to_those_never_offered_a_place(
    django_capture_on_commit_callbacks,
):
    contest, draw = drawn_contest(winners=1, alternates=2, entries=6)
    organizer = organizer_user()
    with pytest.raises(ContestError, match="settled"):
        contest_notify_not_chosen(contest=contest, actor=organizer)
    selection_decline(selection=winner(draw))
    place_accept(selection=alternate(draw, 1), can_attend=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        contest_notify_not_chosen(contest=contest, actor=organizer)
    told = {m.to[0] for m in mail.outbox}
    # Three never drawn, and the second alternate, still waiting.
    assert len(told) == 4
    assert alternate(draw, 2).entry.email in told
    assert winner(draw).entry.email not in told
    assert alternate(draw, 1).entry.email not in told
    contest.refresh_from_db()
    assert contest.not_chosen_notified_at is not None
    with pytest.raises(ContestError, match="already"):
        contest_notify_not_chosen(contest=contest, actor=organizer)
    assert not_chosen_notices_queue(contest_id=contest.pk) == 0


@pytest.mark.django_db
def test_a_token_names_one_selection_and_its_current_offer():
    _contest, draw = drawn_contest(winners=2, alternates=0)
    mine, theirs = winner(draw, 1), winner(draw, 2)
    token = selection_answer_token(mine)
    assert selection_from_token(token=token).pk == mine.pk
    # Another person's place under this signature: the payload says theirs.
    payload = {"s": theirs.pk, "d": int(theirs.deadline.timestamp())}
    forged_payload = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode())
    forged = f"{forged_payload.decode()}:{token.rsplit(':', 1)[1]}"
    with pytest.raises(ContestError, match="not valid"):
        selection_from_token(token=forged)
    with pytest.raises(ContestError, match="not valid"):
        selection_from_token(token=token[:-2] + "xx")
    Selection.objects.filter(pk=mine.pk).update(deadline=mine.deadline + timedelta(hours=1))
    with pytest.raises(ContestError, match="earlier offer"):
        selection_from_token(token=token)


@pytest.mark.django_db
def test_a_token_expires_with_the_deadline_unless_answered():
    _contest, draw = drawn_contest(winners=1, alternates=0)
    place = winner(draw)
    token = selection_answer_token(place)
    late = place.deadline + ANSWER_GRACE + timedelta(seconds=1)
    with pytest.raises(ContestError, match="expired"):
        selection_from_token(token=token, now=late)
    place_accept(selection=place, can_attend=True)
    assert selection_from_token(token=token, now=late).status == Status.ACCEPTED


@pytest.mark.django_db(transaction=True)
def test_concurrent_declines_never_promote_the_same_alternate():
    need(connection.vendor == "postgresql", "row locks need PostgreSQL")
    _contest, draw = drawn_contest(winners=2, alternates=2)
    places = [winner(draw, 1), winner(draw, 2)]
    barrier = threading.Barrier(2)
    errors = []

    def decline(place):
        try:
            barrier.wait(timeout=5)
            selection_decline(selection=place)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=decline, args=(place,)) for place in places]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert {alternate(draw, 1).status, alternate(draw, 2).status} == {Status.PENDING}
    promoted_events = SelectionEvent.objects.filter(action="promoted").count()
    assert promoted_events == 2


@pytest.mark.django_db
def test_not_chosen_notices_left_undone_by_a_broker_outage_are_finished_by_beat(
    django_capture_on_commit_callbacks, monkeypatch
):
    from contests import tasks

    contest, draw = drawn_contest(winners=1, alternates=0, entries=3)
    place_accept(selection=winner(draw), can_attend=True)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.run_not_chosen_job, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            job = contest_notify_not_chosen(contest=contest, actor=None)
    assert not OutboxMessage.objects.filter(kind="not_chosen").exists()
    assert not_chosen_notices_unfinished() == [contest.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.resume_not_chosen_notices.delay().get() == 1
    assert OutboxMessage.objects.filter(kind="not_chosen").count() == 2
    assert not_chosen_notices_unfinished() == []
    # The job the broker never got is queued again by the jobs' sweep, and ends
    # without a second notice.
    from tweetup import jobs

    assert jobs.jobs_resume() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_resume(now=timezone.now() + timedelta(hours=1)) == 1
    job.refresh_from_db()
    assert (job.state, job.outcome) == ("done", "0 notices are in the outbox.")
    assert OutboxMessage.objects.filter(kind="not_chosen").count() == 2
