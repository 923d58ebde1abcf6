from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import OutboxMessage


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
        "status",
        "attempts",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description=_("Resend the selected messages"), permissions=["change"])
    def resend(self, request, queryset):
        count = services.messages_resend(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
