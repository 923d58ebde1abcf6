"""One voice for dates: one format per language, the 24-hour clock in both."""

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, translation

BASE_DIR = Path(__file__).resolve().parent.parent
MOMENT = datetime(2027, 1, 13, 14, 30, tzinfo=ZoneInfo("Europe/Zurich"))
NAMED = {
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "TIME_FORMAT",
}
# A machine's format, not a reader's: the datetime attribute of <time>.
MACHINE = {r"Y-m-d\TH:i:sO"}


@pytest.mark.parametrize(
    ("language", "name", "expected"),
    [
        ("en", "DATETIME_FORMAT", "Wednesday 13 January 2027, 14:30"),
        ("fr", "DATETIME_FORMAT", "mercredi 13 janvier 2027, 14:30"),
        ("en", "DATE_FORMAT", "Wednesday 13 January 2027"),
        ("fr", "DATE_FORMAT", "mercredi 13 janvier 2027"),
        ("en", "SHORT_DATETIME_FORMAT", "13 Jan 2027, 14:30"),
        ("fr", "SHORT_DATETIME_FORMAT", "13 jan. 2027, 14:30"),
        ("fr", "SHORT_DATE_FORMAT", "13 jan. 2027"),
        ("en", "TIME_FORMAT", "14:30"),
        ("fr", "TIME_FORMAT", "14:30"),
    ],
)
def test_each_language_has_one_format_with_the_24_hour_clock(language, name, expected):
    with translation.override(language):
        value = MOMENT if "TIME" in name else date(2027, 1, 13)
        shown = (
            formats.date_format(value, name)
            if name != "TIME_FORMAT"
            else formats.time_format(MOMENT, name)
        )
    assert shown == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2012, 7, 14, 11, 59), "14 juil. 2012, 11:59"),
        (datetime(2012, 6, 14, 9, 5), "14 juin 2012, 09:05"),
    ],
)
def test_french_short_dates_use_the_month_abbreviations_french_readers_know(moment, expected):
    """Django's three-letter French months showed "14 Jul 2012" on French dashboards."""
    with translation.override("fr"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == expected


def test_a_datetime_shown_without_a_format_uses_the_24_hour_clock():
    with translation.override("en"):
        shown = formats.localize(MOMENT.replace(tzinfo=None))
    assert "14:30" in shown
    assert "p.m." not in shown


def test_templates_and_code_name_their_formats_instead_of_spelling_them():
    """A format spelt out in one template is how "Nov. 30, 2026, 2:37 a.m." and
    "Wednesday 13 January 2027" ended up in one mail."""
    spelt = []
    for path in [*BASE_DIR.glob("templates/**/*.*"), *BASE_DIR.glob("*/**/*.py")]:
        # var/ holds what the runs build, the acceptance suite's venv among them.
        skipped = {".venv", "var", "tests", "formats"}
        if skipped.intersection(path.relative_to(BASE_DIR).parts):
            continue
        text = path.read_text(errors="ignore")
        for found in re.finditer(r"""\|(?:date|time):["']([^"']+)["']""", text):
            if found[1] not in NAMED | MACHINE:
                spelt.append(f"{path.relative_to(BASE_DIR)}: {found[1]}")
        for found in re.finditer(r"""(?:date|time)_format\([^,]+,\s*["']([^"']+)["']""", text):
            if found[1] not in NAMED:
                spelt.append(f"{path.relative_to(BASE_DIR)}: {found[1]}")
    assert spelt == []
