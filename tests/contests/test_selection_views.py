"""The winner's pages behind the signed links of the offer mail."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from contests.errors import ContestError
from contests.models import Selection
from contests.services.answers import selection_answer_token
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import mails_to
from visitors.services.places import place_accept

pytestmark = pytest.mark.django_db

Status = Selection.Status


def url(selection: Selection, action: str) -> str:
    return reverse(f"visitors:place_{action}", kwargs={"token": selection_answer_token(selection)})


def test_opening_the_accept_link_only_asks_for_confirmation(client):
    contest, draw = drawn_contest(winners=1, alternates=0)
    response = client.get(url(winner(draw), "accept"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="can_attend"' in content
    assert f"I can come on {contest.visit.date:%A} {contest.visit.date.day}" in content
    assert "Europe/Zurich" in content
    assert winner(draw).status == Status.PENDING


def test_accepting_without_ticking_the_date_keeps_the_place_pending(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    response = client.post(url(winner(draw), "accept"), {})
    assert response.status_code == 400
    assert "confirm that you can come" in response.content.decode()
    assert winner(draw).status == Status.PENDING


def test_accepting_shows_the_visitor_profile_link(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    link = url(winner(draw), "accept")
    response = client.post(link, {"can_attend": "on"}, follow=True)
    assert response.redirect_chain == [(link, 302)]
    assert winner(draw).status == Status.ACCEPTED
    content = response.content.decode()
    assert "You accepted your place" in content
    [profile_url] = re.findall(r'href="(http://testserver/visits/profile/[^"]+)"', content)
    assert client.get(profile_url).status_code == 200


def test_declining_asks_then_offers_the_place_to_the_alternate(
    client, django_capture_on_commit_callbacks
):
    _contest, draw = drawn_contest(winners=1, alternates=1)
    link = url(winner(draw), "decline")
    assert client.get(link).status_code == 200
    assert winner(draw).status == Status.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, follow=True)
    assert "You declined your place" in response.content.decode()
    assert winner(draw).status == Status.DECLINED
    promoted = alternate(draw)
    assert promoted.status == Status.PENDING
    [offer] = mails_to(promoted.entry)
    # Links in mail written during a request point at the request's host.
    assert "http://testserver/contests/place/" in offer.body


def test_a_second_answer_shows_the_first_one(client):
    _contest, draw = drawn_contest(winners=1, alternates=1)
    place_accept(selection=winner(draw), can_attend=True)
    response = client.post(url(winner(draw), "decline"))
    assert response.status_code == 409
    assert "You accepted your place" in response.content.decode()
    assert winner(draw).status == Status.ACCEPTED
    assert alternate(draw).status == Status.WAITING


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_a_tampered_link_answers_a_clear_page_and_changes_nothing(client, action):
    _contest, draw = drawn_contest(winners=2, alternates=0)
    token = selection_answer_token(winner(draw, 1))
    bad = reverse(f"visitors:place_{action}", kwargs={"token": token[:-3] + "abc"})
    for response in (client.get(bad), client.post(bad, {"can_attend": "on"})):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert {s.status for s in Selection.objects.all()} == {Status.PENDING}


def test_an_expired_link_answers_a_clear_page(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    place = winner(draw)
    link = url(place, "accept")
    past = place.deadline - timedelta(days=10)
    Selection.objects.filter(pk=place.pk).update(deadline=past)
    place.refresh_from_db()
    # The old link names the old deadline: it no longer works at all.
    assert client.get(link).status_code == 400
    response = client.post(url(place, "accept"), {"can_attend": "on"})
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    assert winner(draw).status == Status.PENDING


def test_a_link_acts_only_on_its_own_selection(client):
    _contest, draw = drawn_contest(winners=2, alternates=0)
    client.post(url(winner(draw, 1), "accept"), {"can_attend": "on"})
    assert winner(draw, 1).status == Status.ACCEPTED
    assert winner(draw, 2).status == Status.PENDING


def test_a_waiting_alternate_has_no_link_to_answer():
    _contest, draw = drawn_contest(winners=1, alternates=1)
    with pytest.raises(ContestError):
        selection_answer_token(alternate(draw))


def test_an_unknown_http_method_is_refused(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    assert client.put(url(winner(draw), "accept")).status_code == 405


def test_an_answered_places_link_stops_working_after_the_visitor_link_age(client, monkeypatch):
    """The answer page hands out the visitor's profile link, so an old offer mail must not."""
    from django.conf import settings
    from django.core import signing

    _contest, draw = drawn_contest(winners=1, alternates=0)
    place = winner(draw)
    fresh = url(place, "accept")
    now = signing.time.time()
    age = settings.VISITOR_LINK_MAX_AGE.total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: now - age - 60)
    old = url(place, "accept")
    monkeypatch.undo()
    assert client.post(fresh, {"can_attend": "on"}).status_code == 302
    assert winner(draw).status == Status.ACCEPTED
    assert client.get(fresh).status_code == 200
    response = client.get(old)
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
