"""Visitor profiles and messages to visitors move to the visitors app; their tables stay.

Only Django's picture of the models changes here: the tables keep their
names (the models say so with ``db_table``), and no row moves.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0003_outbox_concerns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="visitorprofile",
                    name="checked_in_by",
                ),
                migrations.RemoveField(
                    model_name="visitorprofile",
                    name="selection",
                ),
                migrations.DeleteModel(
                    name="VisitMessage",
                ),
                migrations.DeleteModel(
                    name="VisitorProfile",
                ),
            ],
            database_operations=[],
        ),
    ]
