"""The audit log in the admin (read only, for everyone), and the admin of every audited model.

``AuditedAdmin`` is the base of the site's model admins: each addition,
change and deletion (inline ones too) goes to ``tweetup.audit.log_action``
with who made it, what changed and the reason written on the form.
"""

import functools
from datetime import datetime

import auditlog.admin  # noqa: F401 - registers the log's own admin, replaced below
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .audit import (
    HIDDEN_VALUE,
    Verb,
    changes_between,
    log_action,
    name_live_objects,
    staff_actions_url,
)
from .models import AuditEntry, Job

REASON_FIELD = "audit_reason"


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for this change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Kept in the staff actions with your name and what changed."),
    )


@functools.cache
def _compact_column(model, name: str):
    """A list column showing a date and time as "30 Nov 2026, 13:44" (SHORT_DATETIME_FORMAT).

    The admin shows it with the weekday and the month in full
    (DATETIME_FORMAT), which leaves no room for the other columns. Cached, so
    that the column is the same object on every request.
    """
    field = model._meta.get_field(name)

    @admin.display(description=field.verbose_name, ordering=name)
    def column(obj):
        value = getattr(obj, field.attname)
        if value is None:
            return None
        shown = formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
        # A narrow column breaks the line after the date only ("30 Nov 2026," / "13:44").
        return ", ".join(part.replace(" ", "\u00a0") for part in shown.split(", "))

    column.__name__ = name
    return column


def _is_date_time(model, name) -> bool:
    if not isinstance(name, str):
        return False
    try:
        return isinstance(model._meta.get_field(name), models.DateTimeField)
    except Exception:  # noqa: BLE001 - a column that is no field of the model
        return False


class StaffAdmin(admin.ModelAdmin):
    """The base of the site's model admins.

    - Its lists show dates and times short, so that their columns fit a
      laptop's screen beside the admin's menu.
    - Its History button leads to the object's staff actions, where the site
      keeps every change (Django's own history stays empty).
    - A page where nothing can be changed offers no Save button.
    """

    def get_list_display(self, request):
        return [
            _compact_column(self.model, name) if _is_date_time(self.model, name) else name
            for name in super().get_list_display(request)
        ]

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return redirect(object_staff_actions_url(obj))

    def _changes_something(self, request, obj, fieldsets) -> bool:
        """Whether the page of ``obj`` has a field or an inline this user can change."""
        if obj is None:
            return self.has_add_permission(request)
        if not self.has_change_permission(request, obj):
            return False
        readonly = {*self.get_readonly_fields(request, obj), REASON_FIELD}
        if any(field not in readonly for field in flatten_fieldsets(fieldsets)):
            return True
        for inline in self.get_inline_instances(request, obj):
            if inline.has_add_permission(request, obj) or (
                inline.can_delete and inline.has_delete_permission(request, obj)
            ):
                return True
            if inline.has_change_permission(request, obj):
                inline_readonly = set(inline.get_readonly_fields(request, obj))
                fields = flatten_fieldsets(inline.get_fieldsets(request, obj))
                if any(field not in inline_readonly for field in fields):
                    return True
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and not self._changes_something(request, obj, self.get_fieldsets(request, obj)):
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def object_staff_actions_url(obj) -> str:
    """The staff actions on ``obj``, in the admin; a contest's or a visit's, all of theirs."""
    label = obj._meta.label
    if label == "contests.Contest":
        return staff_actions_url(contest=obj)
    if label == "visits.Visit":
        return staff_actions_url(visit=obj)
    content_type = ContentType.objects.get_for_model(obj)
    return f"{staff_actions_url()}?content_type={content_type.pk}&object_pk={obj.pk}"


class AuditedAdmin(StaffAdmin):
    """A model admin whose additions, changes and deletions are kept in the audit log."""

    # Fields whose values the log must not keep (secrets, personal data): it
    # records that they changed, not what they held.
    audit_hidden_fields: tuple[str, ...] = ()

    def audit_scope(self, obj) -> dict:
        """The contest and/or visit the object belongs to, when it does not say so itself."""
        return {}

    # The reason, asked on every form that can save ---------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        fields = kwargs.get("fields", ...)
        if fields is ...:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        if fields:
            kwargs["fields"] = [field for field in fields if field != REASON_FIELD]
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {REASON_FIELD: _reason_field()})

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != REASON_FIELD]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if self._changes_something(request, obj, fieldsets):
            fieldsets.append((_("Why"), {"fields": [REASON_FIELD]}))
        return fieldsets

    # The log -------------------------------------------------------------------

    def _log(self, request, verb, obj, changes, reason: str = "") -> None:
        log_action(
            actor=request.user,
            action=verb,
            target=obj,
            changes=changes,
            reason=reason,
            **self.audit_scope(obj),
        )

    @staticmethod
    def _reason(form) -> str:
        return (getattr(form, "cleaned_data", None) or {}).get(REASON_FIELD, "")

    # Saving, through the services -------------------------------------------

    def save_object(self, request, obj, form, change) -> None:
        """Save the object the form built; admins with rules to keep save it through a service."""
        obj.save()

    def save_inline_objects(self, request, form, formset, change) -> None:
        """Save an inline formset's objects; admins with rules to keep save them through a service.

        After it, ``formset.new_objects``, ``changed_objects`` and
        ``deleted_objects`` say what was done, as ``formset.save()`` leaves them.
        """
        formset.save()

    def save_model(self, request, obj, form, change):
        old = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
        self.save_object(request, obj, form, change)
        changes = changes_between(old, obj, hidden=self.audit_hidden_fields)
        if changes or not change:
            verb = Verb.ADMIN_CHANGE if change else Verb.ADMIN_ADD
            self._log(request, verb, obj, changes, self._reason(form))

    def save_formset(self, request, form, formset, change):
        hidden = self._inline_hidden_fields(formset.model)
        known = [f.instance.pk for f in formset.initial_forms if f.instance.pk]
        before = {o.pk: o for o in formset.model._default_manager.filter(pk__in=known)}
        reason = self._reason(form)
        # A deleted object has no primary key any more: log it first.
        for inline_form in formset.deleted_forms:
            obj = before.get(inline_form.instance.pk)
            if obj is not None:
                changes = changes_between(obj, None, hidden=hidden)
                self._log(request, Verb.ADMIN_DELETE, obj, changes, reason)
        self.save_inline_objects(request, form, formset, change)
        for obj in formset.new_objects:
            changes = changes_between(None, obj, hidden=hidden)
            self._log(request, Verb.ADMIN_ADD, obj, changes, reason)
        for obj, _fields in formset.changed_objects:
            changes = changes_between(before.get(obj.pk), obj, hidden=hidden)
            if changes:
                self._log(request, Verb.ADMIN_CHANGE, obj, changes, reason)

    def _inline_hidden_fields(self, model) -> tuple[str, ...]:
        return self.audit_hidden_fields if model is self.model else ()

    def delete_model(self, request, obj):
        self._log(request, Verb.ADMIN_DELETE, obj, self._deleted(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._log(request, Verb.ADMIN_DELETE, obj, self._deleted(obj))
        super().delete_queryset(request, queryset)

    def _deleted(self, obj) -> dict:
        return changes_between(obj, None, hidden=self.audit_hidden_fields)


# The log itself --------------------------------------------------------------


admin.site.unregister(AuditEntry)


class ReadOnlyAdmin(StaffAdmin):
    """A record staff read and nobody edits: no add, change or delete, whoever asks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The staff actions, newest first: read only, for everyone, superusers included."""

    list_display = ["timestamp", "who", "verb", "object_name", "reason_short", "contest", "visit"]
    list_filter = ["verb", "contest", "visit"]
    list_select_related = ["actor", "content_type", "contest", "visit"]
    search_fields = ["object_repr", "reason", "actor__username", "actor_email"]
    date_hierarchy = "timestamp"
    ordering = ["-timestamp", "-pk"]
    list_per_page = 50
    show_full_result_count = False
    actions = None
    fields = [
        "timestamp",
        "who",
        "verb",
        "target",
        "reason",
        "what_changed",
        "facts",
        "contest",
        "visit",
    ]
    readonly_fields = fields

    @admin.display(description=_("who"), ordering="actor__username")
    def who(self, entry: AuditEntry) -> str:
        if entry.actor is not None:
            return entry.actor.get_username()
        if entry.actor_email:
            return entry.actor_email
        return _("the site, by itself")

    @admin.display(description=_("on"))
    def target(self, entry: AuditEntry) -> str:
        name_live_objects([entry])
        return _("%(kind)s: %(name)s") % {
            "kind": capfirst(entry.content_type.name),
            "name": entry.object_name,
        }

    @admin.display(description=_("object"), ordering="object_repr")
    def object_name(self, entry: AuditEntry) -> str:
        return entry.object_name

    @admin.display(description=_("why"))
    def reason_short(self, entry: AuditEntry) -> str:
        return entry.reason if len(entry.reason) <= 80 else f"{entry.reason[:79]}…"

    def get_changelist(self, request, **kwargs):
        return _NamingChangeList

    @admin.display(description=_("what changed"))
    def what_changed(self, entry: AuditEntry):
        changes = entry.changes or {}
        if not changes:
            return "—"
        model = entry.content_type.model_class()
        rows = []
        for name, values in changes.items():
            field = _field_of(model, name)
            before, after = values if len(values) == 2 else ("", values)
            rows.append(
                (
                    _field_label(field, name),
                    _value_shown(field, before),
                    _value_shown(field, after),
                )
            )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("field"),
            _("before"),
            _("after"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description=_("facts"))
    def facts(self, entry: AuditEntry):
        data = entry.additional_data or {}
        if not data:
            return "—"
        model = entry.content_type.model_class()
        rows = []
        for key, value in data.items():
            field = _field_of(model, key)
            label = FACT_LABELS[key] if key in FACT_LABELS else _field_label(field, key)
            rows.append((capfirst(label), gettext(":"), _value_shown(field, value)))
        # Django's label suffix: ":" in English, " :" in French.
        return format_html_join("", "<div><strong>{}{}</strong> {}</div>", rows)


# Facts the log keeps that are no field of the object acted on.
FACT_LABELS = {
    "pending_places": _("places offered"),
    "recipients": _("recipients"),
    "visitors": pgettext_lazy("count", "visitors"),
    "job": _("background job"),
    "tickets_count": _("tickets in the draw"),
}


def _field_of(model, name: str):
    try:
        return model._meta.get_field(name) if model is not None else None
    except Exception:  # noqa: BLE001 - a field removed since is shown by its name
        return None


def _field_label(field, name: str) -> str:
    return str(field.verbose_name) if field is not None else name.replace("_", " ")


def _value_shown(field, value) -> str:
    """A value the log kept, as a person reads it: a choice's label, a local date and time."""
    if value is None or value in ("", "None"):
        return "—"
    if value == HIDDEN_VALUE:
        return gettext("(hidden)")
    if isinstance(value, list):
        return ", ".join(_value_shown(field, item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_value_shown(None, item)}" for key, item in value.items())
    text = str(value)
    if field is not None and field.flatchoices:
        labels = {str(key): label for key, label in field.flatchoices}
        if text in labels:
            return str(labels[text])
    if isinstance(field, models.BooleanField) and text in ("True", "False"):
        return gettext("Yes") if text == "True" else gettext("No")
    when = _date_time(text)
    if when is not None:
        return formats.date_format(timezone.localtime(when), "DATETIME_FORMAT")
    return text


def _date_time(text: str) -> datetime | None:
    if len(text) < 16 or text[4:5] != "-" or text[10:11] not in ("T", " "):
        return None
    try:
        when = parse_datetime(text)
    except ValueError:
        return None
    return when if when is not None and timezone.is_aware(when) else None


class _NamingChangeList(ChangeList):
    """The list of staff actions names objects that still exist as they are now named."""

    def get_results(self, request):
        super().get_results(request)
        name_live_objects(self.result_list)


__all__ = ["AuditedAdmin", "AuditEntryAdmin", "HIDDEN_VALUE", "REASON_FIELD"]


# Background jobs -------------------------------------------------------------


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """The background jobs, newest first: read only; each links its own page."""

    list_display = ["requested_at", "kind", "state", "rows_done", "rows_total", "page", "contest"]
    list_filter = ["state", "kind"]
    list_select_related = ["contest", "visit", "requested_by"]
    ordering = ["-requested_at", "-pk"]
    list_per_page = 50
    actions = None
    readonly_fields = [field.name for field in Job._meta.fields]

    @admin.display(description=_("page"))
    def page(self, job: Job) -> str:
        return format_html('<a href="{}">{}</a>', job.get_absolute_url(), _("progress and outcome"))
