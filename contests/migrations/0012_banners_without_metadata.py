"""The banners stored before are written again without their metadata.

Until contests.services.banners wrote the photo again, the organizer's photo
was stored as uploaded, its EXIF (GPS position, camera), XMP and comments
with it, and the share card kept a JPEG's comment. Each stored file is
written again, under its own name, as a new upload would be; a file missing
or unreadable is left as it is. Going back changes nothing.
"""

from django.db import migrations


def banners_without_metadata(apps, schema_editor):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    # The service's own function, so old files end as new uploads do.
    from contests.errors import ContestError
    from contests.services.banners import banner_without_metadata

    contest = apps.get_model("contests", "Contest")
    names = contest.objects.exclude(banner="").values_list("banner", "banner_card")
    for name in {name for pair in names for name in pair if name}:
        try:
            with default_storage.open(name, "rb") as stored, Image.open(stored) as image:
                data = banner_without_metadata(image)
        except (OSError, ContestError):
            continue
        default_storage.delete(name)
        default_storage.save(name, ContentFile(data))


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0011_selection_event_causes"),
    ]

    operations = [
        migrations.RunPython(banners_without_metadata, migrations.RunPython.noop),
    ]
