"""Form fields shared by the apps' forms."""

from django import forms
from django.core.exceptions import ValidationError
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
