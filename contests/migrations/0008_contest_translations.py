"""A contest's title, description, rules and hashtag in English and French.

django-modeltranslation (contests.translation) reads a column per language;
each contest's text so far becomes its English text, the French ones start
empty and show the English until written. The columns are nullable, so the
previous release, which writes the single column, keeps working.
"""

from django.db import migrations, models


# The text each row had before, by model: it becomes the English (default) text.
TRANSLATED = {"contest": ["title", "description", "rules", "hashtag"]}


def copy_into_english(apps, schema_editor):
    for model_name, fields in TRANSLATED.items():
        model = apps.get_model("contests", model_name)
        for field in fields:
            model.objects.filter(**{f"{field}_en__isnull": True}).update(
                **{f"{field}_en": models.F(field)}
            )


def copy_english_back(apps, schema_editor):
    """Leave the English text in the single column the previous release reads."""
    for model_name, fields in TRANSLATED.items():
        model = apps.get_model("contests", model_name)
        for field in fields:
            model.objects.filter(**{f"{field}_en__isnull": False}).update(
                **{field: models.F(f"{field}_en")}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0007_entry_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="contest",
            name="description_en",
            field=models.TextField(null=True, verbose_name="description"),
        ),
        migrations.AddField(
            model_name="contest",
            name="description_fr",
            field=models.TextField(null=True, verbose_name="description"),
        ),
        migrations.AddField(
            model_name="contest",
            name="hashtag_en",
            field=models.CharField(
                help_text="Without the #, e.g. CERNTweetup.",
                max_length=60,
                null=True,
                verbose_name="hashtag",
            ),
        ),
        migrations.AddField(
            model_name="contest",
            name="hashtag_fr",
            field=models.CharField(
                help_text="Without the #, e.g. CERNTweetup.",
                max_length=60,
                null=True,
                verbose_name="hashtag",
            ),
        ),
        migrations.AddField(
            model_name="contest",
            name="rules_en",
            field=models.TextField(null=True, verbose_name="rules"),
        ),
        migrations.AddField(
            model_name="contest",
            name="rules_fr",
            field=models.TextField(null=True, verbose_name="rules"),
        ),
        migrations.AddField(
            model_name="contest",
            name="title_en",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="contest",
            name="title_fr",
            field=models.CharField(max_length=200, null=True, verbose_name="title"),
        ),
        migrations.RunPython(copy_into_english, copy_english_back),
    ]
