"""Give the draw's counts a database default, so the code before 0004 can still draw.

0004 added the columns NOT NULL without one: during a rolling deploy the
processes still running the previous release, which know nothing of them,
failed to record a draw (IntegrityError). 0 means "not recorded". New columns
get a db_default or are nullable from now on (`make lint` checks, README
"Production").
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0004_draw_counts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="draw",
            name="winners_count",
            field=models.PositiveSmallIntegerField(db_default=0, verbose_name="number of winners"),
        ),
        migrations.AlterField(
            model_name="draw",
            name="alternates_count",
            field=models.PositiveSmallIntegerField(
                db_default=0, verbose_name="number of alternates"
            ),
        ),
    ]
