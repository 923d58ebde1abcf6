"""Everyone chosen is told where they stand: alternates at the draw, and a
winner whose place is taken back, with the reason the organizer chose to send."""

import pytest
from django.core import mail

from contests.services.selection_mail import draw_offers_send
from contests.services.selections import selection_disqualify
from notifications.models import OutboxMessage
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import mails_to
from tests.factories import staff_user
from tweetup.roles import ORGANIZERS

pytestmark = pytest.mark.django_db
Kind = OutboxMessage.Kind


def test_alternates_hear_their_rank_with_the_offers_and_only_once(
    django_capture_on_commit_callbacks,
):
    contest, draw = drawn_contest(
        winners=1, alternates=[{"language": "en"}, {"language": "fr"}], title="Control Centre"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert draw_offers_send(draw=draw) == 1
    first, second = alternate(draw, 1).entry, alternate(draw, 2).entry
    [to_first] = mails_to(first)
    assert to_first.subject == "Alternate number 1: Control Centre"
    assert f"your ticket {first.ticket} is alternate number 1" in to_first.body
    assert "you will get an offer by mail" in to_first.body
    assert f"/contests/{contest.slug}/results/" in to_first.body
    [to_second] = mails_to(second)
    assert to_second.subject == "Suppléance n° 2 : Control Centre"
    assert "au rang 2" in to_second.body
    # The winner got an offer, not an alternate's mail.
    assert [m.subject for m in mails_to(winner(draw).entry)] == ["You were drawn: Control Centre"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    assert mail.outbox == []
    assert OutboxMessage.objects.filter(kind=Kind.SELECTION_ALTERNATE).count() == 2


def test_a_winner_whose_place_is_taken_back_is_told_with_the_reason_chosen_for_them(
    django_capture_on_commit_callbacks,
):
    _contest, draw = drawn_contest(winners=2, alternates=1, title="Computing Centre")
    organizer = staff_user("organizer", ORGANIZERS)
    first, second = winner(draw, 1), winner(draw, 2)
    with django_capture_on_commit_callbacks(execute=True):
        selection_disqualify(
            selection=first,
            actor=organizer,
            reason="Two accounts, same person (internal note)",
            message="You entered twice under two names, which the rules do not allow.",
        )
        selection_disqualify(selection=second, actor=organizer, reason="Asked to withdraw")
    [told] = [m for m in mails_to(first.entry) if "taken back" in m.subject]
    assert told.subject == "Your place was taken back: Computing Centre"
    assert "You entered twice under two names" in told.body
    assert "internal note" not in told.body
    [told_plainly] = [m for m in mails_to(second.entry) if "taken back" in m.subject]
    assert "The organizers' reason" not in told_plainly.body
    assert "Asked to withdraw" not in told_plainly.body
    assert OutboxMessage.objects.filter(kind=Kind.SELECTION_DISQUALIFIED).count() == 2


def test_the_dashboard_sends_the_reason_the_organizer_typed_for_the_person(
    client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    contest, draw = drawn_contest(winners=1, alternates=1)
    client.force_login(staff_user("organizer", ORGANIZERS))
    place = winner(draw)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("contests:selection_disqualify", kwargs={"slug": contest.slug, "pk": place.pk}),
            {"reason": "record only", "message": "Your handle belongs to someone else."},
        )
    [told] = [m for m in mails_to(place.entry) if "taken back" in m.subject]
    assert "Your handle belongs to someone else." in told.body
    assert "record only" not in told.body
