"""The words every app shares: backgrounds, mail languages, spoken languages, handles."""

import gettext as gettext_module
import re
import unicodedata
from functools import cache

import pycountry
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The label of ``value`` among ``choices``, in the active language; the value if unknown.

    ``get_FOO_display()`` builds a dict of every choice on each call, which
    translates each lazy label to hash it: a page listing many rows pays that
    for each row. This looks the one choice up.
    """
    try:
        return str(choices(value).label)
    except ValueError:
        return value


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


def language_choices() -> list[tuple[str, str]]:
    """Every ISO 639-1 language (two-letter code), named and sorted in the active language."""
    return _language_choices_in((get_language() or "en")[:2])


@cache
def _language_choices_in(language: str) -> list[tuple[str, str]]:
    names = gettext_module.translation(
        "iso639-3", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )
    choices = [
        (lang.alpha_2, names.gettext(lang.name))
        for lang in pycountry.languages
        if hasattr(lang, "alpha_2")
    ]
    return sorted(choices, key=lambda item: _sort_key(item[1]))


def _sort_key(name: str) -> str:
    # Sort "Écossais" with the E's, as a reader expects.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


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


HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def clean_handle(handle: str) -> str:
    """The Twitter/X handle as typed, without surrounding space, a leading @ or a profile URL.

    Raises ValueError when what remains is not 1 to 15 of letters, digits and _.
    """
    value = handle.strip()
    for prefix in ("https://", "http://"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    for host in ("www.twitter.com/", "twitter.com/", "www.x.com/", "x.com/"):
        if value.lower().startswith(host):
            value = value[len(host) :].split("/")[0].split("?")[0]
    value = value.removeprefix("@")
    if not HANDLE_RE.fullmatch(value):
        raise ValueError(value)
    return value
