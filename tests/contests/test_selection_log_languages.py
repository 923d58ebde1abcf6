"""A selection's log reads in the reader's language, whatever language wrote it.

The site's own reasons (no answer in time, the entrant withdrew, declined
through the mail's link) are kept as a code and read through the catalogue
when the page is shown; what staff wrote (a disqualification's reason) is
shown as written, in every language.
"""

import importlib
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone, translation

from contests.models import Selection, SelectionEvent
from contests.services.answers import ANSWER_GRACE, selection_answer_url
from contests.services.privacy import entry_withdraw_token
from contests.services.selections import selection_disqualify, selections_expire_overdue
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import organizer

pytestmark = pytest.mark.django_db

MIGRATION = "0011_selection_event_causes"

# The site's reasons, in English and in French.
REASONS = {
    "no_answer": ("No answer before the deadline.", "Pas de réponse avant la date limite."),
    "entry_withdrawn": (
        "The entrant withdrew the entry.",
        "La personne a retiré sa participation.",
    ),
    "declined_by_link": (
        "Declined through the link in the mail.",
        "Refusée via le lien de l'e-mail.",
    ),
}


def _in_french(client, path: str) -> None:
    response = client.post(path, headers={"accept-language": "fr"})
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def staff():
    return organizer()


@pytest.fixture
def log_written_in_french(client, staff):
    """A draw whose places were freed by French requests and a task run in French."""
    contest, draw = drawn_contest(winners=3, alternates=3)
    with translation.override("fr"):
        Selection.objects.filter(pk=winner(draw, 1).pk).update(
            deadline=timezone.now() - ANSWER_GRACE - timedelta(minutes=1)
        )
        assert selections_expire_overdue() == 1
    decline = selection_answer_url(winner(draw, 2), action="decline")
    _in_french(client, urlsplit(decline).path)
    withdraw = reverse(
        "visitors:entry_withdraw", kwargs={"token": entry_withdraw_token(winner(draw, 3).entry)}
    )
    _in_french(client, withdraw)
    with translation.override("fr"):
        selection_disqualify(selection=alternate(draw, 3), actor=staff, reason="Faux compte")
    return contest


def test_the_log_keeps_the_sites_reasons_as_codes_and_staffs_as_written(log_written_in_french):
    events = SelectionEvent.objects.exclude(action__in=["drawn", "promoted"])
    assert sorted(events.values_list("action", "cause", "note")) == [
        ("declined", "declined_by_link", ""),
        ("declined", "entry_withdrawn", ""),
        ("disqualified", "", "Faux compte"),
        ("expired", "no_answer", ""),
    ]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dashboard_reads_the_log_in_its_own_language(
    client, staff, log_written_in_french, language
):
    contest = log_written_in_french
    client.force_login(staff)
    response = client.get(
        reverse("contests:dashboard", args=[contest.slug]), headers={"accept-language": language}
    )
    page = unescape(response.content.decode())
    for english, french in REASONS.values():
        shown, hidden = (english, french) if language == "en" else (french, english)
        assert shown in page, shown
        assert hidden not in page, hidden
    # What staff wrote reads as written.
    assert "Faux compte" in page


def test_the_selection_admin_reads_the_cause_in_its_own_language(
    client, staff, log_written_in_french
):
    client.force_login(staff)
    declined = SelectionEvent.objects.get(cause="declined_by_link").selection
    path = reverse("admin:contests_selection_change", args=[declined.pk])
    english = unescape(client.get(path, headers={"accept-language": "en"}).content.decode())
    french = unescape(client.get(path, headers={"accept-language": "fr"}).content.decode())
    assert REASONS["declined_by_link"][0] in english and REASONS["declined_by_link"][1] in french
    assert REASONS["declined_by_link"][1] not in english


def test_the_migration_turns_the_sites_sentences_into_causes_and_back():
    """contests 0011: a note that is one of the site's sentences, in either language, a cause."""
    _contest, draw = drawn_contest(winners=2, alternates=2)
    places = [winner(draw, 1), winner(draw, 2), alternate(draw, 1), alternate(draw, 2)]
    notes = [
        REASONS["no_answer"][0],
        REASONS["declined_by_link"][1],
        REASONS["entry_withdrawn"][1],
        "Fake account",
    ]
    for place, note in zip(places, notes, strict=True):
        SelectionEvent.objects.create(selection=place, action="declined", note=note)
    state = MigrationLoader(connection).project_state(("contests", MIGRATION))
    module = importlib.import_module(f"contests.migrations.{MIGRATION}")
    module.notes_to_causes(state.apps, None)
    events = SelectionEvent.objects.filter(action="declined").order_by("pk")
    assert list(events.values_list("cause", "note")) == [
        ("no_answer", ""),
        ("declined_by_link", ""),
        ("entry_withdrawn", ""),
        ("", "Fake account"),
    ]
    # Going back writes the English sentences, which the release before shows.
    module.causes_to_notes(state.apps, None)
    assert list(events.values_list("note", flat=True)) == [
        REASONS["no_answer"][0],
        REASONS["declined_by_link"][0],
        REASONS["entry_withdrawn"][0],
        "Fake account",
    ]
