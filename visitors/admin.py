from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tweetup.admin import AuditedAdmin

from .errors import VisitorError
from .models import VisitMessage, VisitorProfile
from .services.check_in import visitor_check_in
from .services.profiles import visitor_profile_save


def _username(user) -> str:
    """A staff member named as text: a link to the users' admin is 403 for most staff."""
    return user.get_username() if user is not None else "—"


@admin.register(VisitorProfile)
class VisitorProfileAdmin(AuditedAdmin):
    list_display = [
        "__str__",
        "handle",
        "visit_title",
        "language",
        "public_consent",
        "photo_consent",
        "attendance_confirmed_at",
        "checked_in_at",
    ]
    list_filter = ["selection__draw__contest__visit", "public_consent", "photo_consent"]
    list_select_related = ["selection__entry", "selection__draw__contest__visit"]
    search_fields = ["display_name", "handle", "email"]
    # The place and who checked the visitor in, as text: links to the places'
    # and the users' admin would be 403 for the tour admins and press officers.
    readonly_fields = [
        "place",
        "languages_in_words",
        "attendance_confirmed_at",
        "checked_in_at",
        "checked_in_by_name",
        "created_at",
        "updated_at",
        "private_data_removed_at",
    ]
    # No link to the visitor's own pages: a signed link acts only for the visitor
    # (tweetup.permissions.addressee_only); staff edit here, on the record.
    fieldsets = [
        (None, {"fields": ["place"]}),
        (
            _("Public, with consent"),
            {
                "fields": [
                    "display_name",
                    "handle",
                    "bio",
                    "background",
                    "background_other",
                    "languages_in_words",
                    "public_consent",
                    "photo_consent",
                ]
            },
        ),
        (
            _("Private"),
            {
                "fields": [
                    "email",
                    "language",
                    "dietary_needs",
                    "accessibility_needs",
                    "emergency_contact_name",
                    "emergency_contact_phone",
                ]
            },
        ),
        (
            _("The day"),
            {
                "fields": [
                    "attendance_confirmed_at",
                    "checked_in_at",
                    "checked_in_by_name",
                    "created_at",
                    "updated_at",
                    "private_data_removed_at",
                ]
            },
        ),
    ]
    actions = ["check_in"]
    # Private data goes with the privacy purge; the log keeps that it changed.
    audit_hidden_fields = (
        "email",
        "display_name",
        "handle",
        "bio",
        "background_other",
        "dietary_needs",
        "accessibility_needs",
        "emergency_contact_name",
        "emergency_contact_phone",
    )

    def has_add_permission(self, request):
        return False

    def audit_scope(self, profile: VisitorProfile) -> dict:
        contest = profile.selection.draw.contest
        return {"contest": contest.pk, "visit": contest.visit_id}

    @admin.display(description=_("visit"), ordering="selection__draw__contest__visit__date")
    def visit_title(self, profile: VisitorProfile) -> str:
        return str(profile.visit or "—")

    @admin.display(description=_("place"))
    def place(self, profile: VisitorProfile) -> str:
        return str(profile.selection)

    @admin.display(description=_("checked in by"))
    def checked_in_by_name(self, profile: VisitorProfile) -> str:
        return _username(profile.checked_in_by)

    # The visitor states their languages on their own form; staff read them here, in words.
    @admin.display(description=_("languages with levels"))
    def languages_in_words(self, profile: VisitorProfile) -> str:
        return (
            ", ".join(
                f"{item['name']} ({item['level_name'].lower()})"
                if item["level_name"]
                else item["name"]
                for item in profile.languages_display
            )
            or "—"
        )

    def save_object(self, request, obj, form, change):
        visitor_profile_save(profile=obj)

    @admin.action(description=_("Check the chosen visitors in"), permissions=["check_in"])
    def check_in(self, request, queryset):
        count = 0
        for profile in queryset:
            try:
                visitor_check_in(profile=profile, actor=request.user)
            except VisitorError:
                continue
            count += 1
        self.message_user(
            request,
            ngettext("%(count)s visitor checked in.", "%(count)s visitors checked in.", count)
            % {"count": count},
        )

    def has_check_in_permission(self, request) -> bool:
        return request.user.has_perm("visitors.check_in_visitorprofile")


@admin.register(VisitMessage)
class VisitMessageAdmin(AuditedAdmin):
    list_display = ["subject_en", "visit", "audience", "recipients_count", "sent_at", "sent_by"]
    list_filter = ["visit", "audience"]
    list_select_related = ["visit", "sent_by"]
    # Who sent it, as text: a link to the users' admin would be 403 for most staff.
    fields = [
        "visit",
        "audience",
        "subject_en",
        "body_en",
        "subject_fr",
        "body_fr",
        "sent_at",
        "sender",
        "recipients_count",
    ]
    readonly_fields = ["sender"]

    @admin.display(description=_("sent by"))
    def sender(self, message: VisitMessage) -> str:
        return _username(message.sent_by)

    def has_add_permission(self, request):
        # Messages are written on the visit's message page, which sends them.
        return False

    def has_change_permission(self, request, obj=None):
        return False
