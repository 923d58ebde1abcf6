"""Let the freeze record a cut-off instead of marking every entry in the draw.

The freeze used to set ``Entry.in_draw`` on every eligible entry: at a million
entries one UPDATE rewrote every row and its eight indexes (30–43 s). The
tickets in the draw are now the entries of the contest confirmed before
``Contest.tickets_cutoff`` (the closing time at the freeze) and not
invalidated, which is the set the freeze marked: it marked exactly the entries
confirmed before closing and not invalidated, and nothing can invalidate an
entry of a frozen contest or confirm one once it is closed.

Contests frozen before this migration get their closing time as cut-off,
after checking that it gives exactly the entries they marked (a closing time
edited after the freeze falls back to the last marked confirmation); a
contest whose marks no cut-off reproduces stops the migration rather than
change a published draw.

The column ``in_draw`` stays in the database for one release, with a default,
so that the release before this one keeps entering people during a rolling
deploy; a later migration drops it. It is no longer in the model.
"""

from datetime import timedelta

from django.db import migrations, models


def set_cutoffs(apps, schema_editor):
    Contest = apps.get_model("contests", "Contest")
    Entry = apps.get_model("contests", "Entry")
    frozen = Contest.objects.filter(frozen_at__isnull=False, tickets_cutoff__isnull=True)
    for contest in frozen.order_by("pk"):
        marked = Entry.objects.filter(contest=contest, in_draw=True)
        last = marked.aggregate(last=models.Max("confirmed_at"))["last"]
        candidates = [contest.closes_at]
        if last is not None:
            candidates.append(last + timedelta(microseconds=1))
        for cutoff in candidates:
            chosen = Entry.objects.filter(
                contest=contest, confirmed_at__lt=cutoff, invalidated_at__isnull=True
            )
            # The same set: as many chosen as marked, and every marked one chosen
            # (counted in one pass each: a NOT IN over a million ids would not be).
            count = marked.count()
            if chosen.count() == count == chosen.filter(in_draw=True).count():
                Contest.objects.filter(pk=contest.pk).update(tickets_cutoff=cutoff)
                break
        else:
            raise RuntimeError(
                f"Contest {contest.slug!r}: no cut-off gives the entries its freeze marked "
                "in the draw; check its entries before migrating."
            )


def mark_in_draw(apps, schema_editor):
    Contest = apps.get_model("contests", "Contest")
    Entry = apps.get_model("contests", "Entry")
    for contest in Contest.objects.filter(tickets_cutoff__isnull=False).order_by("pk"):
        Entry.objects.filter(contest=contest).update(in_draw=False)
        Entry.objects.filter(
            contest=contest,
            confirmed_at__lt=contest.tickets_cutoff,
            invalidated_at__isnull=True,
        ).update(in_draw=True)


BYTEWISE_INDEX = (
    "CREATE INDEX entry_contest_ticket_bytewise ON contests_entry "
    '(contest_id, ticket COLLATE "C") INCLUDE (confirmed_at, invalidated_at, country, background)'
)


def add_bytewise_index(apps, schema_editor):
    # The draw reads the tickets in bytewise order a page at a time, with the
    # capped fields when there are caps: all from this index (index-only
    # scans), without a sort or a visit of the table per page. SQLite's
    # BINARY collation already orders bytewise, with the unique index on
    # (contest, ticket).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BYTEWISE_INDEX)


def drop_bytewise_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS entry_contest_ticket_bytewise")


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0005_draw_counts_db_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="contest",
            name="tickets_cutoff",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="tickets confirmed before"
            ),
        ),
        migrations.RunPython(set_cutoffs, mark_in_draw),
        migrations.AlterField(
            model_name="entry",
            name="in_draw",
            field=models.BooleanField(
                db_default=False, default=False, editable=False, verbose_name="in the draw"
            ),
        ),
        migrations.RemoveIndex(model_name="entry", name="entry_contest_draw_ticket"),
        migrations.RunPython(add_bytewise_index, drop_bytewise_index),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="entry", name="in_draw")],
        ),
    ]
