"""The visitors app takes over the visitor profiles and the messages to visitors.

Their tables are the visits app's (``visits_visitorprofile``,
``visits_visitmessage``): only Django's picture of the models moves here, and
their content types with it, so their permissions, the groups that hold them
and the audit log's entries about them follow.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MOVED = ("visitorprofile", "visitmessage")


def content_types_move(apps, schema_editor, *, source="visits", target="visitors"):
    """Give the models' content types to their new app, unless it has its own already."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if ContentType.objects.filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="visitors", target="visits")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("contests", "0005_draw_counts_db_default"),
        ("visits", "0004_visitors_app"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="VisitMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "audience",
                            models.CharField(
                                choices=[
                                    ("all", "All visitors"),
                                    ("unconfirmed", "Visitors who have not confirmed yet"),
                                ],
                                default="all",
                                max_length=12,
                                verbose_name="to",
                            ),
                        ),
                        (
                            "subject_en",
                            models.CharField(max_length=150, verbose_name="subject (English)"),
                        ),
                        (
                            "body_en",
                            models.TextField(
                                validators=[django.core.validators.MaxLengthValidator(5000)],
                                verbose_name="message (English)",
                            ),
                        ),
                        (
                            "subject_fr",
                            models.CharField(
                                blank=True, max_length=150, verbose_name="subject (French)"
                            ),
                        ),
                        (
                            "body_fr",
                            models.TextField(
                                blank=True,
                                validators=[django.core.validators.MaxLengthValidator(5000)],
                                verbose_name="message (French)",
                            ),
                        ),
                        (
                            "sent_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="sent at"
                            ),
                        ),
                        (
                            "recipients_count",
                            models.PositiveIntegerField(default=0, verbose_name="recipients"),
                        ),
                        (
                            "sent_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="sent by",
                            ),
                        ),
                        (
                            "visit",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="messages",
                                to="visits.visit",
                                verbose_name="visit",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "message to visitors",
                        "verbose_name_plural": "messages to visitors",
                        "db_table": "visits_visitmessage",
                        "ordering": ["-sent_at"],
                    },
                ),
                migrations.CreateModel(
                    name="VisitorProfile",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "email",
                            models.EmailField(blank=True, max_length=254, verbose_name="email"),
                        ),
                        (
                            "language",
                            models.CharField(
                                choices=[("en", "English"), ("fr", "French")],
                                default="en",
                                max_length=2,
                                verbose_name="language for mail",
                            ),
                        ),
                        (
                            "dietary_needs",
                            models.CharField(
                                blank=True, max_length=300, verbose_name="dietary needs"
                            ),
                        ),
                        (
                            "accessibility_needs",
                            models.CharField(
                                blank=True, max_length=300, verbose_name="accessibility needs"
                            ),
                        ),
                        (
                            "emergency_contact_name",
                            models.CharField(
                                blank=True, max_length=100, verbose_name="emergency contact name"
                            ),
                        ),
                        (
                            "emergency_contact_phone",
                            models.CharField(
                                blank=True, max_length=40, verbose_name="emergency contact phone"
                            ),
                        ),
                        (
                            "display_name",
                            models.CharField(
                                blank=True, max_length=60, verbose_name="display name"
                            ),
                        ),
                        (
                            "handle",
                            models.CharField(
                                blank=True, max_length=15, verbose_name="Twitter/X handle"
                            ),
                        ),
                        (
                            "bio",
                            models.TextField(
                                blank=True,
                                validators=[django.core.validators.MaxLengthValidator(400)],
                                verbose_name="short bio",
                            ),
                        ),
                        (
                            "background",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("science", "Science and research"),
                                    ("engineering", "Engineering and computing"),
                                    ("student", "Student"),
                                    ("teaching", "Teaching"),
                                    ("journalism", "Journalism and media"),
                                    ("communication", "Science communication"),
                                    ("arts", "Arts and photography"),
                                    ("law", "Law"),
                                    ("business", "Business"),
                                    ("other", "Other"),
                                ],
                                max_length=20,
                                verbose_name="background",
                            ),
                        ),
                        (
                            "background_other",
                            models.CharField(
                                blank=True, max_length=100, verbose_name="other background"
                            ),
                        ),
                        (
                            "languages",
                            models.JSONField(
                                blank=True, default=list, verbose_name="languages with levels"
                            ),
                        ),
                        (
                            "public_consent",
                            models.BooleanField(
                                default=False,
                                help_text="Display name, handle, languages and bio may appear on public pages.",
                                verbose_name="may appear on public pages",
                            ),
                        ),
                        (
                            "photo_consent",
                            models.BooleanField(default=False, verbose_name="photo consent"),
                        ),
                        (
                            "attendance_confirmed_at",
                            models.DateTimeField(
                                blank=True, null=True, verbose_name="attendance confirmed at"
                            ),
                        ),
                        (
                            "checked_in_at",
                            models.DateTimeField(
                                blank=True, null=True, verbose_name="checked in at"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now,
                                editable=False,
                                verbose_name="created at",
                            ),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(auto_now=True, verbose_name="updated at"),
                        ),
                        (
                            "private_data_removed_at",
                            models.DateTimeField(
                                blank=True,
                                editable=False,
                                null=True,
                                verbose_name="private data removed at",
                            ),
                        ),
                        (
                            "checked_in_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="checked in by",
                            ),
                        ),
                        (
                            "selection",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="visitor_profile",
                                to="contests.selection",
                                verbose_name="selection",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "visitor profile",
                        "verbose_name_plural": "visitor profiles",
                        "db_table": "visits_visitorprofile",
                        "ordering": ["display_name", "pk"],
                        "permissions": [("check_in_visitorprofile", "Can check visitors in")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
