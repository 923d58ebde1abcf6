"""The one entry point for the audit log: ``log_action``, and what reads the log.

Every staff action (freeze, draw, invalidation, disqualification, promotion,
resend, message to visitors, question moderation, check-in) and every change
made in the admin is written here, in the transaction of the change itself,
with who, when, which object, what changed and why (pretix's ``log_action``).
The rows are django-auditlog log entries (``tweetup.models.AuditEntry``);
nothing edits or deletes them, in the admin or elsewhere.

A staff page shows each entry in its reader's language: the action is a code
(``AuditEntry.Verb``), and the object is named, when the page is shown, from
the facts kept about it (``object_facts``), not from a name written in the
language of whoever acted. A model says what those facts are:

- ``audit_translated``: the path to a text kept in each language (``"title"``,
  ``"contest.title"``), read as ``<path>_<language>``; the object is named by
  the reader's, or the first written one in the fallback order;
- or ``audit_facts`` (a property: JSON facts) and ``audit_name(facts)`` (a
  class method: the name, in the active language).

``object_repr`` keeps its name in the site's default language, for the
admin's search and for the entries written before the facts were kept.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from operator import attrgetter

from auditlog.diff import get_field_value
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from modeltranslation.fields import TranslationField

from .models import AuditEntry

Verb = AuditEntry.Verb
# The value shown in place of a field the log must not keep: a secret (the
# draw's seed before the draw) or personal data, which the privacy purge
# removes from the site and the log must not keep beyond it.
HIDDEN_VALUE = "(hidden)"
STAFF_ACTIONS_LISTED = 20

_ACTION_KINDS = {
    Verb.ADMIN_ADD: AuditEntry.Action.CREATE,
    Verb.ADMIN_DELETE: AuditEntry.Action.DELETE,
}


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _plain(value):
    """The value as JSON keeps it: dates as ISO 8601, model objects as their names."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=_Encoder))


# A translated name is kept at most this long (a live update names itself by its text).
NAME_LENGTH = 200


def object_facts(target: models.Model) -> dict | None:
    """The facts the log names ``target`` from in each reader's language; None for none.

    ``AuditEntry.object_name`` reads them back.
    """
    path = getattr(type(target), "audit_translated", None)
    if path:
        names = {}
        for language, _name in settings.LANGUAGES:
            name = attrgetter(f"{path}_{language}")(target)
            names[language] = str(name)[:NAME_LENGTH] if name else ""
        return {"names": names}
    facts = getattr(target, "audit_facts", None)
    return _plain(facts) if facts is not None else None


def _scope(target: models.Model) -> tuple[int | None, int | None]:
    """The contest and visit an object belongs to, when it says so itself."""
    label = target._meta.label
    if label == "contests.Contest":
        return target.pk, None
    if label == "visits.Visit":
        return None, target.pk
    return getattr(target, "contest_id", None), getattr(target, "visit_id", None)


def log_action(
    *,
    actor,
    action: str,
    target: models.Model,
    data: dict | None = None,
    reason: str = "",
    changes: dict | None = None,
    contest=None,
    visit=None,
    at: datetime | None = None,
) -> AuditEntry:
    """Record one staff action in the audit log and return its entry.

    ``actor`` is the user who acted (None, or an anonymous user, for the site
    acting by itself: a promotion after a winner declined). ``action`` is one
    of ``AuditEntry.Verb``; ``target`` the object acted on, which must have
    its primary key still; ``changes`` maps field names to ``[old, new]``;
    ``data`` holds any other fact worth keeping (JSON, dates as ISO 8601);
    ``reason`` is the reason the person gave. The contest and visit it belongs
    to are read from the target when it names them, or given. Call it inside
    the transaction of the change, so that both are kept or neither.
    Raises ValueError for an unknown action.
    """
    verb = Verb(action)
    if contest is None and visit is None:
        contest_id, visit_id = _scope(target)
    else:
        contest_id = contest.pk if isinstance(contest, models.Model) else contest
        visit_id = visit.pk if isinstance(visit, models.Model) else visit
    user = actor if actor is not None and actor.is_authenticated else None
    # The name kept as text is the default language's, whoever acted.
    with translation.override(settings.LANGUAGE_CODE):
        name = str(getattr(target, "audit_repr", None) or target)
    return AuditEntry.objects.log_create(
        target,
        force_log=True,
        action=_ACTION_KINDS.get(verb, AuditEntry.Action.UPDATE),
        verb=verb,
        actor=user,
        actor_email=getattr(user, "email", None) or None,
        changes=_plain(changes) or None,
        additional_data=_plain(data) or None,
        reason=(reason or "").strip()[:2000],
        # A model whose name holds personal data names itself otherwise for the
        # log, which outlives the privacy purge.
        object_repr=name,
        object_facts=object_facts(target),
        contest_id=contest_id,
        visit_id=visit_id,
        timestamp=at or timezone.now(),
    )


def _both_unwritten(field: models.Field, before, after) -> bool:
    """A translation not written yet is NULL or empty, as the form saves it: no change."""
    return isinstance(field, TranslationField) and {before, after} <= {None, "None", ""}


def changes_between(
    old: models.Model | None, new: models.Model | None, *, hidden: Iterable[str] = ()
) -> dict[str, list[str | None]]:
    """What changed from ``old`` to ``new`` (either None for an addition or a deletion).

    ``{field name: [old value, new value]}`` over the model's own fields, the
    values written as django-auditlog writes them; the ``hidden`` fields say
    that they changed, not what they held.
    """
    model = (new or old)._meta.model
    hidden = set(hidden)
    # A field django-modeltranslation translates is kept once per language
    # (``title_en``, ``title_fr``): its own column only repeats one of them.
    translated = {
        field.translated_field.name
        for field in model._meta.concrete_fields
        if isinstance(field, TranslationField)
    }
    changes: dict[str, list[str | None]] = {}
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) or field.name in translated:
            # "Updated at" changes with every save: it says nothing; nor
            # does a translated field's own column, beside its languages'.
            continue
        if field.name in hidden:
            before = getattr(old, field.attname, None) if old is not None else None
            after = getattr(new, field.attname, None) if new is not None else None
            if before != after:
                changes[field.name] = [HIDDEN_VALUE, HIDDEN_VALUE]
            continue
        before = get_field_value(old, field) if old is not None else None
        after = get_field_value(new, field) if new is not None else None
        if before != after and not _both_unwritten(field, before, after):
            changes[field.name] = [before, after]
    return changes


def name_live_objects(entries: Iterable[AuditEntry]) -> None:
    """Name the objects that still exist as they are named now, for staff who read the log.

    A model whose name holds personal data keeps a bare number in the log
    (``audit_repr``), which outlives the privacy purge; while the object
    exists, and its model says so (``audit_named_live``), staff read its
    name. One query per kind of object.
    """
    wanted: dict[type[models.Model], list[AuditEntry]] = {}
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        if model is not None and getattr(model, "audit_named_live", False):
            wanted.setdefault(model, []).append(entry)
    for model, model_entries in wanted.items():
        pks = {entry.object_pk for entry in model_entries}
        found = {str(obj.pk): obj for obj in model._default_manager.filter(pk__in=pks)}
        for entry in model_entries:
            obj = found.get(entry.object_pk)
            if obj is not None:
                entry.live_name = str(obj)


def staff_actions(*, contest=None, visit=None, limit: int = STAFF_ACTIONS_LISTED) -> list:
    """The newest staff actions of a contest or a visit, who did them included.

    Objects that still exist are named as they are now (``name_live_objects``).
    """
    entries = AuditEntry.objects.select_related("actor", "content_type")
    if contest is not None:
        entries = entries.filter(contest=contest)
    if visit is not None:
        entries = entries.filter(visit=visit)
    entries = list(entries.order_by("-timestamp", "-pk")[:limit])
    name_live_objects(entries)
    return entries


def staff_actions_url(*, contest=None, visit=None) -> str:
    """The full list in the admin, filtered to the contest or the visit."""
    url = reverse("admin:tweetup_auditentry_changelist")
    if contest is not None:
        return f"{url}?contest__id__exact={contest.pk}"
    if visit is not None:
        return f"{url}?visit__id__exact={visit.pk}"
    return url
