"""Give SQLite back the trigger that makes each new contest's entry count row.

On SQLite, 0010 added the banner columns by rebuilding the contests table,
and a rebuilt table loses its triggers: every contest made since had no
count row, so its pages said "0 confirmed entries" whatever its entries
(the demo of `make run` among them). The trigger is made again and the
missing rows are counted once. PostgreSQL adds columns in place and keeps
its statement-level trigger; there is nothing to do there.
"""

from django.db import migrations

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS contests_contest_entry_count AFTER INSERT ON contests_contest BEGIN
    INSERT INTO contests_entrycount (contest_id, confirmed) VALUES (NEW.id, 0);
END
"""

COUNT_MISSING = """
INSERT INTO contests_entrycount (contest_id, confirmed)
SELECT c.id, (
    SELECT COUNT(*) FROM contests_entry AS e
    WHERE e.contest_id = c.id AND e.confirmed_at IS NOT NULL
) FROM contests_contest AS c
WHERE NOT EXISTS (SELECT 1 FROM contests_entrycount AS n WHERE n.contest_id = c.id)
"""


def trigger_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)
        schema_editor.execute(COUNT_MISSING)


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0012_banners_without_metadata"),
    ]

    operations = [
        migrations.RunPython(trigger_again, migrations.RunPython.noop),
    ]
