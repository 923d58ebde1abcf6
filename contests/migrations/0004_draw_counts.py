from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_counts_from_contests(apps, schema_editor):
    """Draws made before this migration drew for their contest's numbers."""
    Contest = apps.get_model("contests", "Contest")
    Draw = apps.get_model("contests", "Draw")
    contest = Contest.objects.filter(pk=OuterRef("contest_id"))
    Draw.objects.update(
        winners_count=Subquery(contest.values("winners_count")[:1]),
        alternates_count=Subquery(contest.values("alternates_count")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0003_selection_event_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="draw",
            name="winners_count",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="number of winners"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="draw",
            name="alternates_count",
            field=models.PositiveSmallIntegerField(
                default=0, verbose_name="number of alternates"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(copy_counts_from_contests, migrations.RunPython.noop),
    ]
