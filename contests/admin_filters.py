"""The list filters of the entries' admin: confirmed, in the draw, country, language spoken.

The country and language filters offer the values the entries use
(``contests.selectors``), not every country or language of the world.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from tweetup.vocabulary import language_choices

from . import selectors


class ConfirmedFilter(admin.SimpleListFilter):
    # A noun: the admin writes "By confirmation".
    title = _("confirmation")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(confirmed_at__isnull=True)
        return queryset


class InDrawFilter(admin.SimpleListFilter):
    """Entries whose tickets the freeze fixed, or the others (from the contest's cut-off)."""

    title = _("presence in the draw")
    parameter_name = "in_draw"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(in_the_draw=self.value() == "yes")
        return queryset


class CountryInUseFilter(admin.SimpleListFilter):
    """The countries of the entries only, not the 250 of the world."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        in_use = set(selectors.entry_countries_in_use())
        # django-countries lists countries sorted by name in the active language.
        return [(country.code, country.name) for country in countries if country.code in in_use]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(country=self.value())
        return queryset


class SpokenLanguageFilter(admin.SimpleListFilter):
    """The languages spoken in the entries only, not every ISO 639-1 language."""

    title = _("language spoken")
    parameter_name = "speaks"

    def lookups(self, request, model_admin):
        in_use = set(selectors.entry_languages_in_use())
        return [(code, name) for code, name in language_choices() if code in in_use]

    def queryset(self, request, queryset):
        if self.value():
            # The JSON list is searched as text so the filter works on SQLite too.
            return queryset.filter(languages__icontains=f'"{self.value()}"')
        return queryset
