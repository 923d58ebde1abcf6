"""Name the visitors of earlier mail by the app that now holds their profiles.

An outbox row names the person it is about as ``app_label.model:pk``; the
visitor profiles moved from the visits app to the visitors app, so the
privacy purge looks for ``visitors.visitorprofile:…`` now.
"""

from django.db import migrations
from django.db.models import F, Func, Value

OLD, NEW = "visits.visitorprofile:", "visitors.visitorprofile:"


def _rename(apps, old: str, new: str) -> None:
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    OutboxMessage.objects.filter(concerns__startswith=old).update(
        concerns=Func(F("concerns"), Value(old), Value(new), function="REPLACE")
    )


def forward(apps, schema_editor) -> None:
    _rename(apps, OLD, NEW)


def backward(apps, schema_editor) -> None:
    _rename(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_outbox_claim_send_record"),
        ("visitors", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
