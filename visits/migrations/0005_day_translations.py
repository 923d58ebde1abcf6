"""The titles, meeting point and notes of the day, and its live updates, in English and French.

django-modeltranslation (visits.translation) reads a column per language;
each row's text so far becomes its English text, the French ones start
empty and show the English until written. The columns are nullable, so the
previous release, which writes the single column, keeps working.
"""

from django.db import migrations, models


# The text each row had before, by model: it becomes the English (default) text.
TRANSLATED = {
    "visit": ["title", "meeting_point", "practical_notes"],
    "tourstop": ["title", "notes"],
    "liveupdate": ["text"],
}


def copy_into_english(apps, schema_editor):
    for model_name, fields in TRANSLATED.items():
        model = apps.get_model("visits", model_name)
        for field in fields:
            model.objects.filter(**{f"{field}_en__isnull": True}).update(
                **{f"{field}_en": models.F(field)}
            )


def copy_english_back(apps, schema_editor):
    """Leave the English text in the single column the previous release reads."""
    for model_name, fields in TRANSLATED.items():
        model = apps.get_model("visits", model_name)
        for field in fields:
            model.objects.filter(**{f"{field}_en__isnull": False}).update(
                **{field: models.F(f"{field}_en")}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0004_visitors_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="liveupdate",
            name="text_en",
            field=models.CharField(max_length=500, null=True, verbose_name="text"),
        ),
        migrations.AddField(
            model_name="liveupdate",
            name="text_fr",
            field=models.CharField(max_length=500, null=True, verbose_name="text"),
        ),
        migrations.AddField(
            model_name="tourstop",
            name="notes_en",
            field=models.TextField(blank=True, null=True, verbose_name="notes"),
        ),
        migrations.AddField(
            model_name="tourstop",
            name="notes_fr",
            field=models.TextField(blank=True, null=True, verbose_name="notes"),
        ),
        migrations.AddField(
            model_name="tourstop",
            name="title_en",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="tourstop",
            name="title_fr",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="visit",
            name="meeting_point_en",
            field=models.CharField(max_length=300, null=True, verbose_name="meeting point"),
        ),
        migrations.AddField(
            model_name="visit",
            name="meeting_point_fr",
            field=models.CharField(max_length=300, null=True, verbose_name="meeting point"),
        ),
        migrations.AddField(
            model_name="visit",
            name="practical_notes_en",
            field=models.TextField(blank=True, null=True, verbose_name="practical notes"),
        ),
        migrations.AddField(
            model_name="visit",
            name="practical_notes_fr",
            field=models.TextField(blank=True, null=True, verbose_name="practical notes"),
        ),
        migrations.AddField(
            model_name="visit",
            name="title_en",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="visit",
            name="title_fr",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.RunPython(copy_into_english, copy_english_back),
    ]
