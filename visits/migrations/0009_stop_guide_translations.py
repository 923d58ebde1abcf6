"""Who guides a stop, in English and French ("CERN Press Office", "Service de presse du CERN").

Each stop's guide so far becomes its English text; the French starts empty
and shows the English until written. The columns are nullable, so the
previous release, which writes the single column, keeps working.
"""

from django.db import migrations, models


def copy_into_english(apps, schema_editor):
    stop = apps.get_model("visits", "tourstop")
    stop.objects.filter(guide_en__isnull=True).update(guide_en=models.F("guide"))


def copy_english_back(apps, schema_editor):
    """Leave the English text in the single column the previous release reads."""
    stop = apps.get_model("visits", "tourstop")
    stop.objects.filter(guide_en__isnull=False).update(guide=models.F("guide_en"))


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0008_stop_change_locations"),
    ]

    operations = [
        migrations.AddField(
            model_name="tourstop",
            name="guide_en",
            field=models.CharField(blank=True, max_length=150, null=True, verbose_name="guide"),
        ),
        migrations.AddField(
            model_name="tourstop",
            name="guide_fr",
            field=models.CharField(blank=True, max_length=150, null=True, verbose_name="guide"),
        ),
        migrations.RunPython(copy_into_english, copy_english_back),
    ]
