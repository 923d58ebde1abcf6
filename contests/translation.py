"""What organizers write about a contest, in English and French (django-modeltranslation).

Each field gets a column per language (``title_en``, ``title_fr``); ``title``
reads the active language's and falls back to the other one when it is empty
(MODELTRANSLATION_FALLBACK_LANGUAGES). English is required, as the site's
default language; French is optional. Entries, draws and selections are not
translated: the published audit record names tickets, not texts.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import Contest


@register(Contest)
class ContestTranslationOptions(TranslationOptions):
    fields = ("title", "description", "rules", "hashtag")
    required_languages = ("en",)
