from django.contrib import admin, messages
from django.template.defaultfilters import linebreaksbr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tweetup.signed_links import redact_signed_links

from .models import OutboxMessage
from .services import outbox

# Staff read the mail as sent, except the tokens of its signed links: a link
# acts only for the person it was mailed to.
REDACTED_BODIES = {"body_text": "body_text_redacted", "body_html": "body_html_redacted"}


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "to_email",
        "language",
        "status",
        "attempts",
        "sent_at",
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
        "language",
        "subject",
        "body_text",
        "body_html",
        "concerns",
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

    exclude = list(REDACTED_BODIES)

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
                    "ago, or without an address since their personal data was removed."
                ),
                messages.WARNING,
            )
