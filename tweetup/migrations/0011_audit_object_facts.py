"""Each staff action keeps the facts its object is named from, in each reader's language.

The log kept an object's name as text, in the language of whoever acted (a
French organizer's "Gagnant 2 : …" on an English page, a contest's title in
one language only), and a resent mail's name held its recipient's address,
which the privacy purge must not leave behind. ``object_facts`` holds what
``AuditEntry.object_name`` writes the name from when a page is shown
(``tweetup.audit``).

The entries written before get their facts where the object still tells
them: a place's kind, rank and ticket, a job's or a mail's kind, and the
titles of a contest, draw, visit, stop, place, live update or message to
visitors whose name has not changed since. A resent mail is named by its
number in place of its address. Going back drops the facts; the addresses
are not written back.
"""

from django.db import migrations, models

BATCH = 2000
# The models named by a text kept in each language: the path to it from the model.
TRANSLATED = {
    ("contests", "contest"): "title",
    ("contests", "draw"): "contest__title",
    ("visits", "visit"): "title",
    ("visits", "tourstop"): "title",
    ("visits", "location"): "name",
    ("visits", "liveupdate"): "text",
    ("visitors", "visitmessage"): "subject",
}
# A live update named itself by its first 60 characters.
SHORT_NAME = 60
LANGUAGES = ("en", "fr")


def _entries(apps, app_label: str, model: str):
    content_type = apps.get_model("contenttypes", "ContentType")
    entry = apps.get_model("tweetup", "AuditEntry")
    kind = content_type.objects.filter(app_label=app_label, model=model).first()
    if kind is None:
        return entry.objects.none()
    return entry.objects.filter(
        content_type=kind, object_id__isnull=False, object_facts__isnull=True
    )


def _batches(queryset):
    batch = []
    for row in queryset.only("pk", "object_id", "object_repr").order_by("pk").iterator(BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _fill(apps, app_label: str, model: str, facts_of, *, fields=("object_facts",)) -> None:
    """Save, batch by batch, the entries about ``model`` objects that ``facts_of`` changed."""
    entry = apps.get_model("tweetup", "AuditEntry")
    for batch in _batches(_entries(apps, app_label, model)):
        changed = facts_of(batch)
        if changed:
            entry.objects.bulk_update(changed, fields)


def _translated(apps, app_label: str, model: str, path: str):
    target = apps.get_model(app_label, model)
    columns = [f"{path}_{language}" for language in LANGUAGES]

    def facts_of(batch):
        rows = {
            row[0]: dict(zip(LANGUAGES, row[1:], strict=True))
            for row in target.objects.filter(pk__in={e.object_id for e in batch}).values_list(
                "pk", *columns
            )
        }
        changed = []
        for item in batch:
            names = rows.get(item.object_id)
            if names is None:
                continue  # Deleted since: its name stays as it was written.
            names = {language: (name or "")[:200] for language, name in names.items()}
            # Only a name that has not changed since names the object as it was.
            if any(
                item.object_repr in (name, name[:SHORT_NAME]) for name in names.values() if name
            ):
                item.object_facts = {"names": names}
                changed.append(item)
        return changed

    return facts_of


def _by_values(apps, app_label: str, model: str, columns: tuple[str, ...], facts, *, repr_=None):
    target = apps.get_model(app_label, model)

    def facts_of(batch):
        rows = {
            row[0]: row[1:]
            for row in target.objects.filter(pk__in={e.object_id for e in batch}).values_list(
                "pk", *columns
            )
        }
        changed = []
        for item in batch:
            if repr_ is not None:
                item.object_repr = repr_(item)
            if item.object_id in rows:
                item.object_facts = facts(item.object_id, *rows[item.object_id])
            if repr_ is not None or item.object_id in rows:
                changed.append(item)
        return changed

    return facts_of


def facts_for_earlier_entries(apps, schema_editor):
    for (app_label, model), path in TRANSLATED.items():
        _fill(apps, app_label, model, _translated(apps, app_label, model, path))
    _fill(
        apps,
        "contests",
        "selection",
        _by_values(
            apps,
            "contests",
            "selection",
            ("kind", "position", "entry__ticket"),
            lambda pk, kind, position, ticket: {
                "kind": kind,
                "position": position,
                "ticket": ticket,
            },
        ),
    )
    _fill(
        apps,
        "tweetup",
        "job",
        _by_values(apps, "tweetup", "job", ("kind",), lambda pk, kind: {"kind": kind, "job": pk}),
    )
    _fill(
        apps,
        "notifications",
        "outboxmessage",
        _by_values(
            apps,
            "notifications",
            "outboxmessage",
            ("kind",),
            lambda pk, kind: {"kind": kind, "message": pk},
            repr_=lambda item: f"#{item.object_id}",
        ),
        fields=("object_facts", "object_repr"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("contests", "0011_selection_event_causes"),
        ("notifications", "0008_selection_alternate_and_disqualified_kinds"),
        ("tweetup", "0010_job_language"),
        ("visitors", "0002_site_access"),
        ("visits", "0008_stop_change_locations"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="object_facts",
            field=models.JSONField(blank=True, null=True, verbose_name="facts naming the object"),
        ),
        migrations.RunPython(facts_for_earlier_entries, migrations.RunPython.noop),
    ]
