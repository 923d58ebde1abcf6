"""The migrations that gave the organizers' text a column per language keep every row's text.

contests 0008, visits 0005 and visits 0007 (the places) add the ``_en`` and
``_fr`` columns (django-modeltranslation) and copy what each row said into
the English one; visits 0008 links the stop changes recorded before to the
places they named.
"""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from contests.models import Contest
from tests.factories import ContestFactory, VisitFactory
from tests.visits.factories import LiveUpdateFactory, LocationFactory, TourStopFactory
from visits.models import LiveUpdate, Location, StopChange, TourStop, Visit

pytestmark = pytest.mark.django_db

MIGRATIONS = {
    "contests": "0008_contest_translations",
    "visits": "0005_day_translations",
}


def _run(app_label: str, name: str, function: str) -> None:
    """Run a migration's function on the models as they are once it has run."""
    module = importlib.import_module(f"{app_label}.migrations.{name}")
    state = MigrationLoader(connection).project_state((app_label, name))
    getattr(module, function)(state.apps, None)


def _migrate_text_into_english(app_label: str) -> None:
    _run(app_label, MIGRATIONS[app_label], "copy_into_english")


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


def test_each_places_name_address_and_description_become_its_english_text():
    place = LocationFactory()
    before = {"name": "Building 513", "address": "Meyrin site", "description": "The servers."}
    _as_before(Location, place.pk, before)
    _run("visits", "0007_location_translations", "copy_into_english")
    row = Location.objects.values("name_en", "address_en", "description_en", "name_fr").get()
    assert row == {
        "name_en": "Building 513",
        "address_en": "Meyrin site",
        "description_en": "The servers.",
        "name_fr": None,
    }
    # Going back leaves the English in the one column the release before reads.
    Location.objects.filter(pk=place.pk).update(name_en="Building 513, renamed")
    _run("visits", "0007_location_translations", "copy_english_back")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM visits_location WHERE id = %s", [place.pk])
        assert cursor.fetchone() == ("Building 513, renamed",)


def test_the_stop_changes_recorded_before_are_linked_to_the_places_they_named():
    stop = TourStopFactory()
    old = LocationFactory(name_en="Building 33", name_fr="Bâtiment 33")
    new = LocationFactory(name_en="Building 513")
    changes = [
        StopChange.objects.create(
            visit=stop.visit, stop=stop, stop_title="Stop", old_location=old_name,
            new_location=new_name,
        )
        for old_name, new_name in (
            ("Building 33", "Building 513"),
            # Written by an admin reading French; a place gone since links nowhere.
            ("Bâtiment 33", "A hut removed since"),
        )
    ]  # fmt: skip
    _run("visits", "0008_stop_change_locations", "link_places")
    linked = [
        StopChange.objects.values_list("from_location", "to_location").get(pk=change.pk)
        for change in changes
    ]
    assert linked == [(old.pk, new.pk), (old.pk, None)]
