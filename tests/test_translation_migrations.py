"""The migrations that gave the organizers' text a column per language keep every row's text.

contests 0008 and visits 0005 add the ``_en`` and ``_fr`` columns
(django-modeltranslation) and copy what each row said into the English one.
"""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from contests.models import Contest
from tests.factories import ContestFactory, VisitFactory
from tests.visits.factories import LiveUpdateFactory, TourStopFactory
from visits.models import LiveUpdate, TourStop, Visit

pytestmark = pytest.mark.django_db

MIGRATIONS = {
    "contests": "0008_contest_translations",
    "visits": "0005_day_translations",
}


def _migrate_text_into_english(app_label: str) -> None:
    name = MIGRATIONS[app_label]
    module = importlib.import_module(f"{app_label}.migrations.{name}")
    state = MigrationLoader(connection).project_state((app_label, name))
    module.copy_into_english(state.apps, None)


def _as_before(model, pk: int, fields: dict[str, str]) -> None:
    """The row as the release before wrote it: its text in the one column, none per language."""
    columns = dict(fields)
    columns |= {f"{field}_{language}": None for field in fields for language in ("en", "fr")}
    with connection.cursor() as cursor:
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {assignments} WHERE id = %s",  # noqa: S608
            [*columns.values(), pk],
        )


def test_each_contests_text_becomes_its_english_text():
    contest = ContestFactory()
    before = {
        "title": "Old title",
        "description": "Old text",
        "rules": "Old rules",
        "hashtag": "Old",
    }
    _as_before(Contest, contest.pk, before)
    _migrate_text_into_english("contests")
    row = Contest.objects.values(*[f"{field}_en" for field in before], "title_fr").get()
    assert row == {**{f"{field}_en": text for field, text in before.items()}, "title_fr": None}


def test_each_visit_stop_and_live_updates_text_becomes_its_english_text():
    visit = VisitFactory()
    stop = TourStopFactory(visit=visit)
    update = LiveUpdateFactory(visit=visit)
    _as_before(
        Visit, visit.pk, {"title": "Day", "meeting_point": "Gate", "practical_notes": "Shoes"}
    )
    _as_before(TourStop, stop.pk, {"title": "Stop", "notes": "Notes"})
    _as_before(LiveUpdate, update.pk, {"text": "Beams are back"})
    _migrate_text_into_english("visits")
    assert Visit.objects.values_list(
        "title_en", "meeting_point_en", "practical_notes_en"
    ).get() == (
        "Day",
        "Gate",
        "Shoes",
    )
    assert TourStop.objects.values_list("title_en", "notes_en", "title_fr").get() == (
        "Stop",
        "Notes",
        None,
    )
    assert LiveUpdate.objects.values_list("text_en", flat=True).get() == "Beams are back"
