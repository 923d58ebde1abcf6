"""Form fields shared by the apps' forms."""

from collections.abc import Callable
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils.choices import BaseChoiceIterator, normalize_choices
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .vocabulary import clean_handle


class HandleField(forms.CharField):
    """A Twitter/X handle as people type it (``@CERN``, a profile URL), cleaned to the handle.

    What was typed is checked as typed first (required, ``max_length``), then
    reduced to the bare handle; an empty optional field stays empty.
    """

    default_error_messages = {
        "invalid_handle": _("Enter a handle of 1 to 15 letters, digits or underscores, like @CERN.")
    }

    def __init__(self, *, max_length: int = 40, **kwargs) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def clean(self, value) -> str:
        value = super().clean(value)
        if value in self.empty_values:
            return self.empty_value
        try:
            return clean_handle(value)
        except ValueError:
            raise ValidationError(
                self.error_messages["invalid_handle"], code="invalid_handle"
            ) from None


@cache
def _choices_in(build: Callable[[], list], language: str | None) -> list:
    return normalize_choices(build())


class ChoicesPerLanguage(BaseChoiceIterator):
    """Long choice lists (countries, languages) built once per process and page language.

    ``build`` returns the choices in the active language. A form field given
    this iterator neither builds nor normalises them again for each form: the
    entry form's 450 options are made once per language, not per request.
    """

    def __init__(self, build: Callable[[], list]) -> None:
        self.build = build

    def __iter__(self):
        return iter(_choices_in(self.build, get_language()))

    def __deepcopy__(self, memo):
        # Each form copies its fields; the choices are the same for all.
        return self
