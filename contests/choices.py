"""Choice lists shared by contests and visits."""

from functools import cache

import pycountry
from django.db import models
from django.utils.translation import gettext_lazy as _


class Background(models.TextChoices):
    SCIENCE = "science", _("Science and research")
    ENGINEERING = "engineering", _("Engineering and computing")
    STUDENT = "student", _("Student")
    TEACHING = "teaching", _("Teaching")
    JOURNALISM = "journalism", _("Journalism and media")
    COMMUNICATION = "communication", _("Science communication")
    ARTS = "arts", _("Arts and photography")
    LAW = "law", _("Law")
    BUSINESS = "business", _("Business")
    OTHER = "other", _("Other")


class MailLanguage(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")


@cache
def language_choices() -> list[tuple[str, str]]:
    """Every ISO 639-1 language (two-letter code), sorted by English name."""
    languages = [
        (lang.alpha_2, lang.name) for lang in pycountry.languages if hasattr(lang, "alpha_2")
    ]
    return sorted(languages, key=lambda item: item[1])


def language_name(code: str) -> str:
    return dict(language_choices()).get(code, code)


COMMON_LANGUAGES = (
    "en",
    "fr",
    "de",
    "it",
    "es",
    "pt",
    "nl",
    "el",
    "pl",
    "ru",
    "ar",
    "zh",
    "ja",
    "hi",
)


def language_choices_grouped() -> list[tuple[str, list[tuple[str, str]]]]:
    """Languages for a form: the most common first, then every other ISO 639-1 code."""
    names = dict(language_choices())
    return [
        (_("Common"), [(code, names[code]) for code in COMMON_LANGUAGES]),
        (
            _("All languages"),
            [item for item in language_choices() if item[0] not in COMMON_LANGUAGES],
        ),
    ]
