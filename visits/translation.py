"""What tour admins write about the day and its places, in English and French.

django-modeltranslation: each field gets a column per language; the field
itself reads the active language's and falls back to the other one when it
is empty. English is required where the field is, French optional; a live
update, typed on the day, may be in either language or both.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import LiveUpdate, Location, TourStop, Visit


@register(Visit)
class VisitTranslationOptions(TranslationOptions):
    fields = ("title", "meeting_point", "practical_notes")
    required_languages = ("en",)


@register(Location)
class LocationTranslationOptions(TranslationOptions):
    fields = ("name", "address", "description")
    required_languages = ("en",)


@register(TourStop)
class TourStopTranslationOptions(TranslationOptions):
    fields = ("title", "guide", "notes")
    required_languages = ("en",)


@register(LiveUpdate)
class LiveUpdateTranslationOptions(TranslationOptions):
    fields = ("text",)
