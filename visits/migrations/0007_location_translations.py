"""The places of the day in English and French: a location's name, address and description.

django-modeltranslation (visits.translation) reads a column per language;
each location's text so far becomes its English text, the French starts
empty and shows the English until written. The columns are nullable, so the
previous release, which writes the single columns, keeps working.
"""

from django.db import migrations, models

# The text each location had before: it becomes the English (default) text.
TRANSLATED = ["name", "address", "description"]


def copy_into_english(apps, schema_editor):
    location = apps.get_model("visits", "location")
    for field in TRANSLATED:
        location.objects.filter(**{f"{field}_en__isnull": True}).update(
            **{f"{field}_en": models.F(field)}
        )


def copy_english_back(apps, schema_editor):
    """Leave the English text in the single column the previous release reads."""
    location = apps.get_model("visits", "location")
    for field in TRANSLATED:
        location.objects.filter(**{f"{field}_en__isnull": False}).update(
            **{field: models.F(f"{field}_en")}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0006_visit_collects_site_access"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="address_en",
            field=models.CharField(blank=True, max_length=300, null=True, verbose_name="address"),
        ),
        migrations.AddField(
            model_name="location",
            name="address_fr",
            field=models.CharField(blank=True, max_length=300, null=True, verbose_name="address"),
        ),
        migrations.AddField(
            model_name="location",
            name="description_en",
            field=models.TextField(blank=True, null=True, verbose_name="description"),
        ),
        migrations.AddField(
            model_name="location",
            name="description_fr",
            field=models.TextField(blank=True, null=True, verbose_name="description"),
        ),
        migrations.AddField(
            model_name="location",
            name="name_en",
            field=models.CharField(max_length=150, null=True, unique=True, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="location",
            name="name_fr",
            field=models.CharField(max_length=150, null=True, unique=True, verbose_name="name"),
        ),
        migrations.RunPython(copy_into_english, copy_english_back),
    ]
