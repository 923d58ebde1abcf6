from django.apps import apps
from django.contrib import admin, messages
from django.template.defaultfilters import linebreaksbr
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tweetup.admin import StaffAdmin
from tweetup.signed_links import redact_signed_links
from tweetup.vocabulary import language_name

from .models import OutboxMessage
from .services import outbox

# Staff read the mail as sent, except the tokens of its signed links: a link
# acts only for the person it was mailed to.
REDACTED_BODIES = {"body_text": "body_text_redacted", "body_html": "body_html_redacted"}


@admin.register(OutboxMessage)
class OutboxMessageAdmin(StaffAdmin):
    # What the mail is, then whether it went: the status must show on a laptop's
    # screen. The language is a filter.
    list_display = [
        "kind",
        "status",
        "to_email",
        "created_at",
        "sent_at",
        "attempts",
        "contest",
    ]
    list_filter = ["status", "kind", "language", "contest"]
    search_fields = ["to_email", "subject", "key"]
    date_hierarchy = "created_at"
    list_select_related = ["contest"]
    list_per_page = 50
    actions = ["resend"]
    readonly_fields = [
        "key",
        "kind",
        "contest",
        "to_email",
        "language_shown",
        "subject",
        "body_text",
        "body_html",
        "concerns_shown",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "queued_at",
        "claimed_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "resend_requested_at",
        "failure_reported_at",
    ]

    # Shown named (language_shown, concerns_shown) rather than as codes.
    exclude = [*REDACTED_BODIES, "language", "concerns"]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [REDACTED_BODIES.get(field, field) for field in fields]

    @admin.display(description=_("text body"))
    def body_text_redacted(self, message: OutboxMessage) -> str:
        # Escaped, line breaks kept, as the admin shows a text field.
        return linebreaksbr(redact_signed_links(message.body_text))

    @admin.display(description=_("HTML body"))
    def body_html_redacted(self, message: OutboxMessage) -> str:
        return linebreaksbr(redact_signed_links(message.body_html))

    @admin.display(description=_("language"))
    def language_shown(self, message: OutboxMessage) -> str:
        return language_name(message.language)

    @admin.display(description=_("concerns"))
    def concerns_shown(self, message: OutboxMessage) -> str:
        """The person the mail is about, named, and linked to their page in the admin."""
        label, _sep, pk = (message.concerns or "").partition(":")
        try:
            model = apps.get_model(label)
            obj = model._default_manager.filter(pk=pk).first()
        except (LookupError, ValueError):
            obj = None
        if obj is None:
            return "—"
        try:
            url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[pk])
        except NoReverseMatch:
            return f"{obj._meta.verbose_name}: {obj}"
        return format_html('<a href="{}">{} {}</a>', url, capfirst(obj._meta.verbose_name), obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description=_("Resend the selected messages"), permissions=["change"])
    def resend(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = outbox.messages_resend(message_ids=ids, actor=request.user)
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
        if count < len(ids):
            self.message_user(
                request,
                _(
                    "The others were left alone: on their way already, resent a moment "
                    "ago, without an address since their personal data was removed, or "
                    "offering a place no longer open."
                ),
                messages.WARNING,
            )
