"""On SQLite (a fresh checkout's database, `make run`'s demo) every contest has its entry count.

Migration 0010 rebuilt the contests table on SQLite and so dropped the trigger
that gives a new contest its count row: the demo's contests said "0 confirmed
entries" with 288 tickets in the draw. The test migrates a SQLite database of
its own in a separate process, as `make run` does.
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# A contest made through the site's own factory, with one confirmed entry, and
# what the count says: run by `manage.py shell` against the SQLite database.
ENTER = """
from contests.models import Contest, EntryCount
from tests.factories import ContestFactory, EntryFactory
# Each process starts the factory's sequence again: the slug says which contest it is.
contest = ContestFactory(slug=f"sqlite-{Contest.objects.count()}")
EntryFactory(contest=contest)
row = EntryCount.objects.filter(contest=contest).first()
print("COUNT", row.confirmed if row else None)
"""
COUNTS = """
from contests.models import Contest, EntryCount
counts = sorted(EntryCount.objects.values_list("confirmed", flat=True))
print("ROWS", counts, Contest.objects.count())
"""


def manage(database: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tweetup.settings.local",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_contests_made_before_and_after_the_fix_have_their_count_on_sqlite(tmp_path):
    database = tmp_path / "db.sqlite3"
    manage(database, "migrate", "-v0", "contests", "0012")
    # Before: the rebuilt table has lost the trigger, and the contest its row.
    assert "COUNT None" in manage(database, "shell", "-c", ENTER)
    manage(database, "migrate", "-v0")
    # The migration counts the contest that had no row...
    assert "ROWS [1] 1" in manage(database, "shell", "-c", COUNTS)
    # ...and a contest made now gets its row, moved by its entries.
    assert "COUNT 1" in manage(database, "shell", "-c", ENTER)
