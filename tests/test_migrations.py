"""Deploys that don't break the running site: the previous release works on the migrated database.

A rolling deploy migrates first, then replaces the processes one by one: for
a while the previous release's code runs against the new schema.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from tests.conftest import need
from tests.factories import ContestFactory
from tests.support import port_answers

BASE_DIR = Path(__file__).resolve().parent.parent
# The linter reads the SQL that PostgreSQL, the production database, would run;
# it only reads, so the server's own database serves.
LINT_ENV = {
    "DJANGO_SETTINGS_MODULE": "tests.lint_settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def model_before(migration: tuple[str, str], label: str):
    """The model ``label`` as the code of the release before ``migration`` knew it."""
    loader = MigrationLoader(connection)
    return loader.project_state(migration).apps.get_model(label)


def test_the_code_before_the_draw_counts_records_a_draw_on_the_migrated_database(db):
    contest = ContestFactory()
    # The Draw of the release before 0004 knows no winners_count nor alternates_count.
    old_draw = model_before(("contests", "0003_selection_event_actions"), "contests.Draw")
    assert "winners_count" not in {field.name for field in old_draw._meta.fields}
    old_draw.objects.create(contest_id=contest.pk, drawn_at=timezone.now())
    draw = contest.__class__.objects.get(pk=contest.pk).draw
    assert (draw.winners_count, draw.alternates_count) == (0, 0)  # "not recorded"


def lint_migrations(tree: Path) -> subprocess.CompletedProcess:
    need(port_answers("127.0.0.1", 5432), "no PostgreSQL answers at 127.0.0.1:5432")
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "lintmigrations"],
        cwd=tree,
        env={**os.environ, **LINT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_migration_linter_passes_the_migrations_since_its_baseline():
    """`make check` runs it: a NOT NULL column without a default would fail here."""
    result = lint_migrations(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0005_draw_counts_db_default" in result.stdout


def test_the_migration_linter_refuses_a_not_null_column_without_a_default(tmp_path):
    """What 0004 did, written again after the baseline: the linter fails it."""
    copy = tmp_path / "tree"
    shutil.copytree(
        BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "__pycache__", "*.sqlite3", "node_modules"
        ),
    )
    (copy / "contests" / "migrations" / "0099_draw_note.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("contests", "0005_draw_counts_db_default")]\n'
        "    operations = [\n"
        "        migrations.AddField(\n"
        '            model_name="draw", name="note",\n'
        "            field=models.CharField(max_length=10, default='x'),\n"
        "            preserve_default=False,\n"
        "        ),\n"
        "    ]\n"
    )
    result = lint_migrations(copy)
    assert result.returncode != 0, result.stdout
    assert "0099_draw_note" in result.stdout and "NOT NULL" in result.stdout
