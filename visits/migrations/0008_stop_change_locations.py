"""A stop change names the places it moved between, so its mail names them in each language.

The names as written then stay (``old_location``, ``new_location``) for a
place removed since. The changes recorded before are linked to the places
whose name they wrote, where one still has it; going back drops the
links and keeps the names.
"""

import django.db.models.deletion
from django.db import migrations, models


def link_places(apps, schema_editor):
    stop_change = apps.get_model("visits", "stopchange")
    location = apps.get_model("visits", "location")
    # The name was written in the language of whoever moved the stop.
    places = {
        name: pk
        for language in ("fr", "en")
        for name, pk in location.objects.exclude(**{f"name_{language}": None}).values_list(
            f"name_{language}", "pk"
        )
    }
    for side in ("old", "new"):
        link = "from_location" if side == "old" else "to_location"
        for name, pk in places.items():
            stop_change.objects.filter(
                **{f"{side}_location": name, f"{link}__isnull": True}
            ).update(**{f"{link}_id": pk})


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0007_location_translations"),
    ]

    operations = [
        migrations.AddField(
            model_name="stopchange",
            name="from_location",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="visits.location",
                verbose_name="moved from",
            ),
        ),
        migrations.AddField(
            model_name="stopchange",
            name="to_location",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="visits.location",
                verbose_name="moved to",
            ),
        ),
        migrations.RunPython(link_places, migrations.RunPython.noop),
    ]
