"""The builder of drawn contests makes what the site makes, with people where the test asks."""

import pytest

from contests import draw_algorithm
from contests.models import Entry, Selection, SelectionEvent
from contests.services.audit_record import draw_audit_record
from tests.builders import alternate, drawn_contest, winner

pytestmark = pytest.mark.django_db


def test_named_people_get_the_places_asked_for_under_the_caps_by_a_real_draw():
    contest, draw = drawn_contest(
        winners=[{"country": "CH"}, {"country": "FR", "language": "fr"}],
        alternates=[{"country": "CH"}, {"country": "DE"}],
        entries=6,
        caps={"country": 1},
    )
    assert [winner(draw, n).entry.country for n in (1, 2)] == ["CH", "FR"]
    assert winner(draw, 2).entry.language == "fr"
    assert [alternate(draw, n).entry.country for n in (1, 2)] == ["CH", "DE"]
    assert contest.tickets_count == 6 and draw.caps == {"country": 1}
    assert draw_algorithm.verify_audit_record(draw_audit_record(draw=draw)) == []


def test_the_draw_is_the_services_own_with_its_events_and_no_mail(mailoutbox):
    contest, draw = drawn_contest(winners=2, alternates=1, entries=5)
    assert contest.frozen_at and contest.visit is not None
    assert Entry.objects.in_draw(contest).count() == 5
    assert list(draw.selections.order_by("-kind", "position").values_list("kind", "status")) == [
        (Selection.Kind.WINNER, Selection.Status.PENDING),
        (Selection.Kind.WINNER, Selection.Status.PENDING),
        (Selection.Kind.ALTERNATE, Selection.Status.WAITING),
    ]
    assert SelectionEvent.objects.filter(selection__draw=draw).count() == 3
    assert draw.external_entropy == ""
    assert mailoutbox == []
