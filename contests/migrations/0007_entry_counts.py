"""Keep each contest's number of confirmed entries in a row of its own, moved by triggers.

The public pages showed the number by counting every entry on every visit
(seconds at a million entries). The triggers move the number in the same
transaction as the INSERT, UPDATE or DELETE of entries, whoever runs it (the
services, the admin, bulk SQL). On PostgreSQL, INSERT and DELETE run theirs
once per statement, from its transition tables, so a bulk INSERT ... SELECT
adds its rows in one update; an UPDATE runs its trigger only for the rows
whose confirmation (or contest) changes, so the freeze's and the purge's bulk
updates of other columns cost nothing more. SQLite (a fresh checkout's
database) runs them per row. Each contest gets its
row when it is created (a trigger too), so the triggers only ever update.
The existing contests are counted once here, while the triggers' creation
locks the tables against writes. The dashboard's statistics are a plain table, filled by the
site.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE FUNCTION contests_entry_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE contests_entrycount AS c SET confirmed = c.confirmed + d.n
        FROM (
            SELECT contest_id, COUNT(*) AS n FROM entries_new
            WHERE confirmed_at IS NOT NULL GROUP BY contest_id
        ) AS d
        WHERE c.contest_id = d.contest_id;
    ELSE
        UPDATE contests_entrycount AS c SET confirmed = c.confirmed - d.n
        FROM (
            SELECT contest_id, COUNT(*) AS n FROM entries_old
            WHERE confirmed_at IS NOT NULL GROUP BY contest_id
        ) AS d
        WHERE c.contest_id = d.contest_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contests_entry_count_insert AFTER INSERT ON contests_entry
    REFERENCING NEW TABLE AS entries_new
    FOR EACH STATEMENT EXECUTE FUNCTION contests_entry_count();
CREATE FUNCTION contests_entry_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.confirmed_at IS NOT NULL THEN
        UPDATE contests_entrycount SET confirmed = confirmed - 1
        WHERE contest_id = OLD.contest_id;
    END IF;
    IF NEW.confirmed_at IS NOT NULL THEN
        UPDATE contests_entrycount SET confirmed = confirmed + 1
        WHERE contest_id = NEW.contest_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contests_entry_count_update AFTER UPDATE OF confirmed_at, contest_id
    ON contests_entry FOR EACH ROW
    WHEN ((OLD.confirmed_at IS NULL) <> (NEW.confirmed_at IS NULL)
          OR OLD.contest_id <> NEW.contest_id)
    EXECUTE FUNCTION contests_entry_count_moved();
CREATE TRIGGER contests_entry_count_delete AFTER DELETE ON contests_entry
    REFERENCING OLD TABLE AS entries_old
    FOR EACH STATEMENT EXECUTE FUNCTION contests_entry_count();
CREATE FUNCTION contests_contest_entry_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contests_entrycount (contest_id, confirmed) SELECT id, 0 FROM contests_new;
    RETURN NULL;
END
$$;
CREATE TRIGGER contests_contest_entry_count AFTER INSERT ON contests_contest
    REFERENCING NEW TABLE AS contests_new
    FOR EACH STATEMENT EXECUTE FUNCTION contests_contest_entry_count();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS contests_entry_count_insert ON contests_entry;
DROP TRIGGER IF EXISTS contests_entry_count_update ON contests_entry;
DROP TRIGGER IF EXISTS contests_entry_count_delete ON contests_entry;
DROP FUNCTION IF EXISTS contests_entry_count();
DROP FUNCTION IF EXISTS contests_entry_count_moved();
DROP TRIGGER IF EXISTS contests_contest_entry_count ON contests_contest;
DROP FUNCTION IF EXISTS contests_contest_entry_count();
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER contests_entry_count_insert AFTER INSERT ON contests_entry
    WHEN NEW.confirmed_at IS NOT NULL BEGIN
        UPDATE contests_entrycount SET confirmed = confirmed + 1
        WHERE contest_id = NEW.contest_id;
    END
    """,
    """
    CREATE TRIGGER contests_entry_count_update AFTER UPDATE OF confirmed_at, contest_id
    ON contests_entry
    WHEN (OLD.confirmed_at IS NULL) <> (NEW.confirmed_at IS NULL)
        OR OLD.contest_id <> NEW.contest_id
    BEGIN
        UPDATE contests_entrycount SET confirmed = confirmed - 1
        WHERE OLD.confirmed_at IS NOT NULL AND contest_id = OLD.contest_id;
        UPDATE contests_entrycount SET confirmed = confirmed + 1
        WHERE NEW.confirmed_at IS NOT NULL AND contest_id = NEW.contest_id;
    END
    """,
    """
    CREATE TRIGGER contests_entry_count_delete AFTER DELETE ON contests_entry
    WHEN OLD.confirmed_at IS NOT NULL BEGIN
        UPDATE contests_entrycount SET confirmed = confirmed - 1
        WHERE contest_id = OLD.contest_id;
    END
    """,
    """
    CREATE TRIGGER contests_contest_entry_count AFTER INSERT ON contests_contest BEGIN
        INSERT INTO contests_entrycount (contest_id, confirmed) VALUES (NEW.id, 0);
    END
    """,
]

SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS contests_entry_count_{event}"
    for event in ("insert", "update", "delete")
] + ["DROP TRIGGER IF EXISTS contests_contest_entry_count"]

COUNT_EXISTING = """
INSERT INTO contests_entrycount (contest_id, confirmed)
SELECT c.id, (
    SELECT COUNT(*) FROM contests_entry AS e
    WHERE e.contest_id = c.id AND e.confirmed_at IS NOT NULL
) FROM contests_contest AS c
"""


def triggers_create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
    elif connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"No entry count triggers for {connection.vendor}.")
    schema_editor.execute(COUNT_EXISTING)


def triggers_drop(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    elif connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0006_freeze_by_cutoff"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContestStatistics",
            fields=[
                (
                    "contest",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="statistics",
                        serialize=False,
                        to="contests.contest",
                        verbose_name="contest",
                    ),
                ),
                ("figures", models.JSONField(default=dict, verbose_name="figures")),
                ("computed_at", models.DateTimeField(verbose_name="computed at")),
                (
                    "refresh_queued_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="refresh queued at"),
                ),
            ],
            options={
                "verbose_name": "contest statistics",
                "verbose_name_plural": "contest statistics",
            },
        ),
        migrations.CreateModel(
            name="EntryCount",
            fields=[
                (
                    "contest",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="entry_count",
                        serialize=False,
                        to="contests.contest",
                        verbose_name="contest",
                    ),
                ),
                (
                    "confirmed",
                    models.PositiveIntegerField(
                        db_default=0, default=0, verbose_name="confirmed entries"
                    ),
                ),
            ],
            options={
                "verbose_name": "entry count",
                "verbose_name_plural": "entry counts",
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop, elidable=False),
    ]
