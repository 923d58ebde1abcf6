from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from . import draw_algorithm
from .choices import language_choices
from .models import Contest, Entry


@admin.register(Contest)
class ContestAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "state_label",
        "opens_at",
        "closes_at",
        "entries_total",
        "entries_confirmed",
        "winners_count",
    ]
    list_filter = ["published"]
    search_fields = ["title", "slug", "hashtag"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["commitment", "frozen_at", "tickets_digest", "tickets_count", "created_at"]
    date_hierarchy = "opens_at"
    fieldsets = [
        (None, {"fields": ["title", "slug", "hashtag", "description", "rules", "published"]}),
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
                ]
            },
        ),
        (_("Visit"), {"fields": ["visit"]}),
    ]

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

    @admin.display(description=_("state"))
    def state_label(self, obj: Contest) -> str:
        return obj.state.label

    @admin.display(description=_("entries"), ordering="entries_total_count")
    def entries_total(self, obj: Contest) -> int:
        return obj.entries_total_count

    @admin.display(description=_("confirmed"), ordering="entries_confirmed_count")
    def entries_confirmed(self, obj: Contest) -> int:
        return obj.entries_confirmed_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.seed = draw_algorithm.new_seed()
        super().save_model(request, obj, form, change)


class ConfirmedFilter(admin.SimpleListFilter):
    title = _("confirmed")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(confirmed_at__isnull=True)
        return queryset


class SpokenLanguageFilter(admin.SimpleListFilter):
    title = _("language spoken")
    parameter_name = "speaks"

    def lookups(self, request, model_admin):
        return language_choices()

    def queryset(self, request, queryset):
        if self.value():
            # The JSON list is searched as text so the filter works on SQLite too.
            return queryset.filter(languages__icontains=f'"{self.value()}"')
        return queryset


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = [
        "ticket",
        "name",
        "twitter_handle",
        "email",
        "country",
        "background",
        "language",
        "created_at",
        "confirmed_at",
        "in_draw",
        "invalidated_at",
        "contest",
    ]
    list_filter = [
        "contest",
        ConfirmedFilter,
        "country",
        SpokenLanguageFilter,
        "background",
        "language",
        "in_draw",
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
        "created_at",
        "confirmed_at",
        "in_draw",
        "invalidated_at",
        "invalidated_by",
        "invalid_reason",
    ]
    exclude = ["languages"]

    def has_add_permission(self, request):
        return False
