"""The organizers' CSV exports of a contest: its entries, its places.

Written by a background job to a file (``tweetup.jobs.job_file_write``),
never inside a request. Rows are read by keyset paging (ORDER BY pk, WHERE
pk > the last one, LIMIT n): no server-side cursor, so it works behind
PgBouncer in transaction mode, and memory stays flat at any size. Cells a
spreadsheet would run as a formula are neutralised; times are ISO 8601 to
the second with the contest's offset (``2012-07-25T09:00:00+02:00``).
"""

import csv
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TextIO

from django.db.models import QuerySet

from ..models import Contest, Entry, Selection

# Rows read per query, and between two calls of ``progress``.
PAGE_ROWS = 5000
# Cells a spreadsheet would read as a formula (or that hide one behind a control character).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ENTRY_COLUMNS = [
    ("ticket", "ticket"),
    ("created_at", "created_at"),
    ("confirmed_at", "confirmed_at"),
    ("name", "name"),
    ("email", "email"),
    ("twitter_handle", "twitter_handle"),
    ("country", "country"),
    ("languages", "languages"),
    ("background", "background"),
    ("background_other", "background_other"),
    ("language", "language"),
    ("publish_handle", "publish_handle"),
    ("in_draw", "in_the_draw"),
    ("invalidated_at", "invalidated_at"),
    ("invalid_reason", "invalid_reason"),
    ("motivation", "motivation"),
]

SELECTION_COLUMNS = [
    ("kind", "kind"),
    ("position", "position"),
    ("status", "status"),
    ("promoted_at", "promoted_at"),
    ("deadline", "deadline"),
    ("answered_at", "answered_at"),
    ("reason", "reason"),
    ("ticket", "entry__ticket"),
    ("name", "entry__name"),
    ("email", "entry__email"),
    ("twitter_handle", "entry__twitter_handle"),
    ("country", "entry__country"),
    ("background", "entry__background"),
    ("language", "entry__language"),
]

Progress = Callable[[int, int], None]


def csv_cell(value, tz=None) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    if value.__class__ is str:  # The common case first: a million rows make it count.
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if value is None:
        return ""
    if isinstance(value, datetime):
        # ISO 8601 to the second, with its offset, in every export alike.
        value = (value.astimezone(tz) if tz else value).isoformat(timespec="seconds")
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _pages(queryset: QuerySet, fields: list[str]) -> Iterator[list[tuple]]:
    """The rows of ``queryset`` (without their pk), a page at a time, by keyset paging."""
    last = 0
    while True:
        page = list(
            queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:PAGE_ROWS]
        )
        if not page:
            return
        last = page[-1][0]
        yield [row[1:] for row in page]


def _write(
    out: TextIO,
    *,
    queryset: QuerySet,
    columns: list[tuple[str, str]],
    tz,
    progress: Progress | None,
) -> int:
    total = queryset.count()
    writer = csv.writer(out)
    # A byte order mark, so that spreadsheets read the file as UTF-8.
    out.write("\ufeff")
    writer.writerow([name for name, _field in columns])
    done = 0
    if progress is not None:
        progress(done, total)
    for page in _pages(queryset, [field for _name, field in columns]):
        writer.writerows([csv_cell(value, tz) for value in row] for row in page)
        done += len(page)
        if progress is not None:
            progress(done, max(total, done))
    return done


def entries_export_write(*, contest: Contest, out: TextIO, progress: Progress | None = None) -> int:
    """Write every entry of the contest as CSV to ``out``, oldest first; returns how many."""
    return _write(
        out,
        queryset=Entry.objects.filter(contest=contest).with_in_draw(),
        columns=ENTRY_COLUMNS,
        tz=contest.tzinfo,
        progress=progress,
    )


def selections_export_write(
    *, contest: Contest, out: TextIO, progress: Progress | None = None
) -> int:
    """Write every place of the contest's draw as CSV to ``out`` (winners, then alternates)."""
    return _write(
        out,
        queryset=Selection.objects.filter(draw__contest=contest),
        columns=SELECTION_COLUMNS,
        tz=contest.tzinfo,
        progress=progress,
    )
