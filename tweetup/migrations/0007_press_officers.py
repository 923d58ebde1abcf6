from django.db import migrations

from tweetup.roles import groups_sync


class Migration(migrations.Migration):
    """The press officers' group, who write to the visitors and check them in."""

    dependencies = [("tweetup", "0006_jobs")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
