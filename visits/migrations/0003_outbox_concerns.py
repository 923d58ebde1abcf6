"""Name the person each outbox row written before ``concerns`` existed is about.

The privacy purge finds a person's mail by ``concerns`` alone. A row written
before the field existed gets the entry of its contest it was written to, or,
for the mail to visitors (the visit_* kinds), the visitor profile. Addresses
compare as the entries' normalised emails do: trimmed and lower-cased by
Python, which folds Ë and Ä where SQLite's LOWER does not. Rows already
cleared by the purge, without a contest (the organizers' failure reports) or
matching nobody stay as they are.
"""

from django.db import migrations

VISITOR_KINDS = (
    "visit_welcome",
    "visit_itinerary",
    "visit_reminder",
    "visit_changes",
    "visit_message",
)
BATCH = 1000


def _normalized(address: str) -> str:
    # As contests.normalize.normalize_email, which a migration must not import.
    return address.strip().lower()


def name_the_people(apps, schema_editor) -> None:
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    Entry = apps.get_model("contests", "Entry")
    VisitorProfile = apps.get_model("visits", "VisitorProfile")
    unnamed = OutboxMessage.objects.filter(concerns__isnull=True, contest__isnull=False).exclude(
        to_email=""
    )
    contest_ids = list(unnamed.order_by().values_list("contest_id", flat=True).distinct())
    for contest_id in contest_ids:
        entries = Entry.objects.filter(contest_id=contest_id).exclude(email="")
        by_entry = {_normalized(email): pk for pk, email in entries.values_list("pk", "email")}
        profiles = VisitorProfile.objects.filter(selection__draw__contest_id=contest_id)
        by_profile = {
            _normalized(email): pk
            for pk, email in profiles.exclude(email="").values_list("pk", "email")
        }
        named = []
        rows = unnamed.filter(contest_id=contest_id).order_by("pk")
        for pk, kind, to_email in rows.values_list("pk", "kind", "to_email"):
            address = _normalized(to_email)
            if kind in VISITOR_KINDS and address in by_profile:
                concerns = f"visits.visitorprofile:{by_profile[address]}"
            elif address in by_entry:
                concerns = f"contests.entry:{by_entry[address]}"
            else:
                continue
            named.append(OutboxMessage(pk=pk, concerns=concerns))
        OutboxMessage.objects.bulk_update(named, ["concerns"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("contests", "0004_draw_counts"),
        ("notifications", "0005_outbox_claim_send_record"),
        ("visits", "0002_stops_visitors_questions"),
    ]

    operations = [migrations.RunPython(name_the_people, migrations.RunPython.noop)]
