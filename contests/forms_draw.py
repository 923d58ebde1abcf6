"""Forms of the freeze, the draw, the ticket check and the invalidation of entries."""

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Draw


class FreezeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Fix the tickets now. No entry can be added or invalidated afterwards."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "freeze-form"
        self.helper.add_input(Submit("freeze", _("Freeze the contest"), css_class="btn-warning"))


class DrawForm(forms.Form):
    external_entropy = forms.CharField(
        label=_("External entropy (optional)"),
        max_length=Draw._meta.get_field("external_entropy").max_length,
        required=False,
        help_text=_(
            "A value published after the freeze that nobody could know in advance, "
            "e.g. a randomness-beacon round or a lottery result, copied exactly. "
            "Leave empty to draw with the committed seed alone."
        ),
    )
    max_winners_per_country = forms.IntegerField(
        label=_("At most winners per country"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=_("Empty for no cap. Use the caps announced in the rules."),
    )
    max_winners_per_background = forms.IntegerField(
        label=_("At most winners per background"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=_("Empty for no cap."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "draw-form"
        self.helper.add_input(Submit("draw", _("Draw the winners"), css_class="btn-danger"))

    def clean_external_entropy(self) -> str:
        value = self.cleaned_data["external_entropy"]
        if "\x00" in value:
            raise forms.ValidationError(_("The external entropy cannot contain a NUL character."))
        return value

    @property
    def caps(self) -> dict[str, int]:
        caps = {}
        if self.cleaned_data.get("max_winners_per_country"):
            caps["country"] = self.cleaned_data["max_winners_per_country"]
        if self.cleaned_data.get("max_winners_per_background"):
            caps["background"] = self.cleaned_data["max_winners_per_background"]
        return caps


class TicketCheckForm(forms.Form):
    ticket = forms.CharField(
        label=_("Your ticket"),
        max_length=40,
        help_text=_("As shown when you confirmed your entry, e.g. K7F3-9QXD."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "ticket-check"
        # Sent back, the page opens at the form and its answer, not at the top.
        self.helper.form_action = "#ticket-check"
        self.helper.add_input(Submit("check", _("Check my ticket"), css_class="btn-primary"))

    def clean_ticket(self) -> str:
        ticket = re.sub(r"\s+", "", self.cleaned_data["ticket"]).upper()
        if not ticket:
            raise forms.ValidationError(_("Enter your ticket."))
        return ticket

    @property
    def candidates(self) -> list[str]:
        """The ticket as typed, and with its dash when it was left out (K7F39QXD)."""
        ticket = self.cleaned_data["ticket"]
        candidates = [ticket]
        if len(ticket) == 8 and "-" not in ticket:
            candidates.append(f"{ticket[:4]}-{ticket[4:]}")
        return candidates


class InvalidateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Kept on record, e.g. “duplicate person (same as K7F3-9QXD)” or “ineligible”."),
        widget=forms.TextInput(attrs={"size": 80}),
    )
