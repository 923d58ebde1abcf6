from django.db import migrations

from tweetup.roles import groups_sync


class Migration(migrations.Migration):
    """The press officers' group, who write to the visitors and check them in."""

    dependencies = [("tweetup", "0005_heartbeat")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
