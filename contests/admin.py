import re

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import display_for_value
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin

from tweetup.admin import AuditedAdmin
from tweetup.permissions import is_organizer
from tweetup.vocabulary import language_name

from .admin_filters import ConfirmedFilter, CountryInUseFilter, InDrawFilter, SpokenLanguageFilter
from .errors import ContestError
from .forms import ContestAdminForm, EntryAdminForm, InvalidateForm
from .models import Contest, Entry, Selection, SelectionEvent
from .services import draws as draw_services
from .services import entries as entry_services
from .services import selections as selection_services
from .services.draws import CAP_FIELDS

# Once a contest is frozen these make its published draw (the audit record
# and the eligibility of its tickets): changing them would break the record.
CONTEST_FIELDS_FIXED_AT_FREEZE = [
    "slug",
    "opens_at",
    "closes_at",
    "winners_count",
    "alternates_count",
    "max_winners_per_country",
    "max_winners_per_background",
]
# An entry's capped fields are published in the audit record's attributes.
ENTRY_FIELDS_FIXED_AT_FREEZE = list(CAP_FIELDS)


# The translated fields (contests.translation) show once per language, side by
# side; the contest is still saved through the service.
@admin.register(Contest)
class ContestAdmin(AuditedAdmin, TranslationAdmin):
    form = ContestAdminForm
    # Few columns, so that the dashboard link fits a 1280 px screen; the slug,
    # the opening time and the number of winners are on the contest's own page.
    list_display = [
        "title",
        "state_label",
        "closes_at",
        "entries_total",
        "entries_confirmed",
        "dashboard_link",
    ]
    list_filter = ["published"]
    search_fields = ["title_en", "title_fr", "slug", "hashtag_en", "hashtag_fr"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "commitment",
        "frozen_at",
        "tickets_digest",
        "tickets_count",
        "created_at",
        "draw_page",
        "draw_links",
    ]
    date_hierarchy = "opens_at"
    # The seed is secret until the draw: the log says a contest got one, not which.
    audit_hidden_fields = ("seed",)
    fieldsets = [
        (
            None,
            {
                # Each text in English and French side by side, on one line.
                "fields": [
                    ("title_en", "title_fr"),
                    "slug",
                    ("hashtag_en", "hashtag_fr"),
                    ("description_en", "description_fr"),
                    ("rules_en", "rules_fr"),
                    "banner",
                    "published",
                ]
            },
        ),
        (_("When"), {"fields": ["time_zone", "opens_at", "closes_at"]}),
        (
            _("Draw"),
            {
                "fields": [
                    "winners_count",
                    "alternates_count",
                    "acceptance_hours",
                    "max_winners_per_country",
                    "max_winners_per_background",
                    "commitment",
                    "frozen_at",
                    "tickets_count",
                    "tickets_digest",
                    "draw_page",
                ]
            },
        ),
        (_("Visit"), {"fields": ["visit"]}),
    ]

    class Media:
        css = {"all": ["css/admin-languages.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                entries_total_count=Count("entries"),
                entries_confirmed_count=Count(
                    "entries", filter=Q(entries__confirmed_at__isnull=False)
                ),
            )
        )

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        # The dashboard is the organizers'; tour admins only read contests.
        if not request.user.has_perm("contests.change_contest"):
            fields = [field for field in fields if field != "dashboard_link"]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_organizer(request.user):
            return fieldsets
        # The freeze and draw pages are the organizers': others get the public links only.
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        "draw_links" if field == "draw_page" else field
                        for field in options["fields"]
                    ],
                },
            )
            for name, options in fieldsets
        ]

    # A property of the model: the admin would label it in English, untranslated.
    @admin.display(description=_("Commitment"))
    def commitment(self, obj: Contest) -> str:
        return obj.commitment or "—"

    @admin.display(description=_("state"))
    def state_label(self, obj: Contest) -> str:
        return obj.state.label

    @admin.display(description=_("dashboard"))
    def dashboard_link(self, obj: Contest) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("contests:dashboard", kwargs={"slug": obj.slug}),
            _("Dashboard"),
        )

    @admin.display(description=_("draw"))
    def draw_links(self, obj: Contest) -> str:
        if obj.pk is None or not obj.is_drawn:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("contests:results", kwargs={"slug": obj.slug}),
            _("Results"),
            reverse("contests:live_draw", kwargs={"slug": obj.slug}),
            _("Live draw page"),
        )

    @admin.display(description=_("freeze and draw"))
    def draw_page(self, obj: Contest) -> str:
        if obj.pk is None:
            return "—"
        if obj.is_drawn:
            return self.draw_links(obj)
        if obj.frozen_at:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("contests:draw", kwargs={"slug": obj.slug}),
                _("Draw…"),
            )
        return format_html(
            '<a href="{}">{}</a>',
            reverse("contests:freeze", kwargs={"slug": obj.slug}),
            _("Freeze…"),
        )

    @admin.display(description=_("entries"), ordering="entries_total_count")
    def entries_total(self, obj: Contest) -> int:
        return obj.entries_total_count

    @admin.display(description=_("confirmed"), ordering="entries_confirmed_count")
    def entries_confirmed(self, obj: Contest) -> int:
        return obj.entries_confirmed_count

    def get_changeform_initial_data(self, request):
        # A new contest starts as a draft: the public sees it once the
        # organizer ticks "published", not the moment it is first saved.
        return {"published": False, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.frozen_at is not None:
            fields += CONTEST_FIELDS_FIXED_AT_FREEZE
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        if obj is not None and obj.frozen_at is not None:
            return {}
        return super().get_prepopulated_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        # A frozen contest's tickets are published, and its draw is on the
        # record: it stays. The bulk delete action asks this for each one.
        if obj is not None and obj.frozen_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_object(self, request, obj, form, change):
        entry_services.contest_save(contest=obj)


@admin.register(Entry)
class EntryAdmin(AuditedAdmin):
    form = EntryAdminForm
    # Personal data goes with the privacy purge; the log keeps that it changed.
    audit_hidden_fields = (
        "name",
        "email",
        "email_normalized",
        "twitter_handle",
        "handle_normalized",
        "motivation",
        "background_other",
    )
    list_display = [
        "ticket",
        "name",
        "twitter_handle",
        "email",
        "country",
        "background",
        "confirmed_at",
        "in_draw_once_frozen",
        "invalidated_at",
        "contest",
    ]
    list_filter = [
        "contest",
        ConfirmedFilter,
        CountryInUseFilter,
        SpokenLanguageFilter,
        "background",
        "language",
        InDrawFilter,
    ]
    search_fields = ["name", "email", "twitter_handle", "ticket"]
    list_select_related = ["contest"]
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "created_at"
    readonly_fields = [
        "contest",
        "ticket",
        "email_normalized",
        "handle_normalized",
        "languages_spoken",
        "created_at",
        "confirmed_at",
        "in_draw_once_frozen",
        "invalidated_at",
        "invalidated_by",
        "reason_for_invalidation",
        "withdrawn_at",
    ]
    # The reason shows in the reader's language (reason_for_invalidation).
    exclude = ["languages", "invalid_reason"]
    actions = ["invalidate"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("reason for invalidation"))
    def reason_for_invalidation(self, obj: Entry) -> str:
        return obj.invalid_reason_shown or "—"

    @admin.display(description=_("languages spoken"))
    def languages_spoken(self, obj: Entry) -> str:
        return ", ".join(language_name(code) for code in obj.languages) or "—"

    def get_queryset(self, request):
        # in_the_draw: from the contest's cut-off (the freeze writes no entry).
        return super().get_queryset(request).with_in_draw()

    @admin.display(description=_("in the draw"), ordering="in_the_draw")
    def in_draw_once_frozen(self, obj: Entry) -> str:
        # Tickets enter the draw at the freeze: before it, "not in the draw"
        # would say something false about a confirmed entry.
        if obj.contest.frozen_at is None:
            return "—"
        return display_for_value(obj.in_draw, "", boolean=True)

    def changelist_view(self, request, extra_context=None):
        # The entries' columns need the page's width more than the admin's menu.
        extra_context = {**(extra_context or {}), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # Handles are stored without their @, but people search for "@CERN".
        search_term = re.sub(r"(^|\s)@", r"\1", search_term)
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.contest.frozen_at is not None:
            fields += ENTRY_FIELDS_FIXED_AT_FREEZE
        return fields

    def has_delete_permission(self, request, obj=None):
        # The tickets of a frozen contest are published: invalidate before
        # the freeze instead of deleting. The bulk delete action asks this
        # for every entry too, and refuses the whole deletion.
        if obj is not None and obj.contest.frozen_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_object(self, request, obj, form, change):
        entry_services.entry_correct(entry=obj)

    @admin.action(description=_("Invalidate with a reason"), permissions=["change"])
    def invalidate(self, request, queryset):
        """Invalidate entries before the freeze; the reason stays on record."""
        form = InvalidateForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for entry in queryset.only("pk", "contest_id", "ticket"):
                try:
                    draw_services.entry_invalidate(
                        entry=entry, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                except ContestError as exc:
                    self.message_user(request, f"{entry.ticket}: {exc}", messages.WARNING)
                else:
                    done += 1
            self.message_user(
                request,
                ngettext("%(count)d entry invalidated.", "%(count)d entries invalidated.", done)
                % {"count": done},
            )
            return None
        return TemplateResponse(
            request,
            "contests/draw/admin_invalidate.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Invalidate entries"),
                "opts": self.model._meta,
                "entries": queryset.select_related("contest")[:200],
                "count": queryset.count(),
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "select_across": request.POST.get("select_across", "0"),
            },
        )


class SelectionEventInline(admin.TabularInline):
    model = SelectionEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "cause", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Selection)
class SelectionAdmin(AuditedAdmin):
    list_display = [
        "__str__",
        "status",
        "deadline",
        "contest",
        "kind",
        "position",
        "promoted_at",
        "answered_at",
    ]
    list_filter = ["status", "kind", "draw__contest"]
    search_fields = ["entry__ticket", "entry__name", "entry__email", "entry__twitter_handle"]
    list_select_related = ["entry", "draw__contest"]
    ordering = ["-draw__drawn_at", "kind", "position"]
    inlines = [SelectionEventInline]
    actions = ["disqualify"]
    readonly_fields = [
        "draw",
        "entry",
        "kind",
        "position",
        "status",
        "deadline",
        "answered_at",
        "promoted_at",
        "reason",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def audit_scope(self, obj: Selection) -> dict:
        return {"contest": obj.draw.contest_id}

    @admin.display(description=_("contest"), ordering="draw__contest__title")
    def contest(self, obj: Selection):
        return obj.draw.contest

    @admin.action(
        description=_("Disqualify the selected places (asks for a reason)"),
        permissions=["change"],
    )
    def disqualify(self, request, queryset):
        error = ""
        if "apply" in request.POST:
            reason = request.POST.get("reason", "").strip()
            if reason:
                done = 0
                for selection in queryset.select_related("entry"):
                    try:
                        selection_services.selection_disqualify(
                            selection=selection,
                            actor=request.user,
                            reason=reason,
                            message=request.POST.get("message", ""),
                        )
                    except ContestError as exc:
                        self.message_user(request, f"{selection}: {exc}", messages.WARNING)
                    else:
                        done += 1
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d selection disqualified.",
                        "%(count)d selections disqualified.",
                        done,
                    )
                    % {"count": done},
                )
                return None
            error = _("Give a reason for the disqualification.")
        return TemplateResponse(
            request,
            "contests/organizer/admin_disqualify.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Disqualify selections"),
                "opts": self.model._meta,
                "selections": queryset.select_related("entry"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "error": error,
            },
        )
