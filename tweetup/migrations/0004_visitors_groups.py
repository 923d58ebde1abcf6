from django.db import migrations

from tweetup.roles import groups_sync


class Migration(migrations.Migration):
    dependencies = [
        ("tweetup", "0003_audit_entry"),
        ("visitors", "0001_initial"),
    ]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
