"""A job's outcome in English and French: each outcome so far becomes the text of its job's language.

The columns are nullable, so the previous release, which writes the single
column, keeps working.
"""

from django.db import migrations, models


def copy_into_languages(apps, schema_editor):
    job = apps.get_model("tweetup", "job")
    for language in ("en", "fr"):
        asked_in = ["en", ""] if language == "en" else [language]
        job.objects.filter(language__in=asked_in, **{f"outcome_{language}__isnull": True}).update(
            **{f"outcome_{language}": models.F("outcome")}
        )


def copy_back(apps, schema_editor):
    """Leave the outcome in the single column the previous release reads."""
    job = apps.get_model("tweetup", "job")
    for language in ("fr", "en"):
        job.objects.exclude(**{f"outcome_{language}": None}).exclude(
            **{f"outcome_{language}": ""}
        ).update(outcome=models.F(f"outcome_{language}"))


class Migration(migrations.Migration):
    dependencies = [
        ("tweetup", "0011_audit_object_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="outcome_en",
            field=models.TextField(blank=True, null=True, verbose_name="outcome"),
        ),
        migrations.AddField(
            model_name="job",
            name="outcome_fr",
            field=models.TextField(blank=True, null=True, verbose_name="outcome"),
        ),
        migrations.RunPython(copy_into_languages, copy_back),
    ]
