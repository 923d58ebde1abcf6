from django.db import migrations

from tweetup.roles import groups_sync


class Migration(migrations.Migration):
    dependencies = [
        ("tweetup", "0001_groups"),
        ("visits", "0002_stops_visitors_questions"),
    ]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
