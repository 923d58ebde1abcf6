"""The audit log in the admin (read only, for everyone), and the admin of every audited model.

``AuditedAdmin`` is the base of the site's model admins: each addition,
change and deletion (inline ones too) goes to ``tweetup.audit.log_action``
with who made it, what changed and the reason written on the form.
"""

import auditlog.admin  # noqa: F401 - registers the log's own admin, replaced below
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .audit import HIDDEN_VALUE, Verb, changes_between, log_action
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


class AuditedAdmin(admin.ModelAdmin):
    """A model admin whose additions, changes and deletions are kept in the audit log."""

    # Fields whose values the log must not keep (secrets, personal data): it
    # records that they changed, not what they held.
    audit_hidden_fields: tuple[str, ...] = ()

    def audit_scope(self, obj) -> dict:
        """The contest and/or visit the object belongs to, when it does not say so itself."""
        return {}

    # The reason, asked on every form that can save ---------------------------

    def _may_save(self, request, obj) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return self.has_change_permission(request, obj)

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
        if self._may_save(request, obj):
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


class ReadOnlyAdmin(admin.ModelAdmin):
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
        return f"{entry.content_type.name}: {entry.object_name}"

    @admin.display(description=_("object"), ordering="object_repr")
    def object_name(self, entry: AuditEntry) -> str:
        return entry.object_name

    @admin.display(description=_("why"))
    def reason_short(self, entry: AuditEntry) -> str:
        return entry.reason if len(entry.reason) <= 80 else f"{entry.reason[:79]}…"

    @admin.display(description=_("what changed"))
    def what_changed(self, entry: AuditEntry):
        changes = entry.changes or {}
        if not changes:
            return "—"
        model = entry.content_type.model_class()

        def label(name: str) -> str:
            try:
                return str(model._meta.get_field(name).verbose_name)
            except Exception:  # noqa: BLE001 - a field removed since is shown by its name
                return name

        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("field"),
            _("before"),
            _("after"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (label(name), *(values if len(values) == 2 else ("", values)))
                    for name, values in changes.items()
                ),
            ),
        )

    @admin.display(description=_("facts"))
    def facts(self, entry: AuditEntry):
        data = entry.additional_data or {}
        if not data:
            return "—"
        return format_html_join(
            "", "<div><strong>{}</strong>: {}</div>", ((key, value) for key, value in data.items())
        )


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
