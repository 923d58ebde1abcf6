"""Validators shared by the forms of the apps."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Control and format characters, line and paragraph separators: line breaks,
# tabs, bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069),
# zero-width spaces, soft hyphens... Invisible, or moving the text around them,
# they let "Bob\u202eelif.exe" show as "Bobexe.file".
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# The zero-width non-joiner and joiner are format characters that Persian and
# Indic scripts write inside words, and emoji sequences between symbols: kept
# between two such characters, refused anywhere else.
JOINERS = frozenset({"\u200c", "\u200d"})


def _joinable(character: str) -> bool:
    category = unicodedata.category(character)
    return category[0] in "LMN" or category == "So"


def validate_single_line_text(value: str) -> None:
    """Refuse what a single line of visible text cannot hold.

    Letters, marks, digits, punctuation, symbols and spaces of every script
    pass; a control or format character (Unicode categories Cc and Cf), a
    line or paragraph separator (Zl, Zp) raises ValidationError naming it,
    except a zero-width (non-)joiner inside a word.
    """
    for index, character in enumerate(value):
        if unicodedata.category(character) not in REFUSED_CATEGORIES:
            continue
        if (
            character in JOINERS
            and 0 < index < len(value) - 1
            and _joinable(value[index - 1])
            and _joinable(value[index + 1])
        ):
            continue
        raise ValidationError(
            _(
                "Use one line of visible text: line breaks, tabs and invisible "
                "characters such as text direction marks are not accepted "
                "(found %(character)s)."
            ),
            code="invisible_character",
            params={"character": f"U+{ord(character):04X}"},
        )
