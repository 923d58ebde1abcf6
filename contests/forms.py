"""Forms of the contests app: the entry, the freeze, the draw, the ticket check, invalidations."""

import re

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from tweetup.forms import ChoicesPerLanguage, HandleField
from tweetup.validators import validate_single_line_text
from tweetup.vocabulary import Background, MailLanguage, language_choices_grouped

from .errors import ContestError
from .models import Contest, Draw, Entry
from .normalize import is_disposable_email, normalize_email
from .services.banners import banner_check
from .services.entries import entry_identity_conflicts


def country_choices() -> list[tuple[str, str]]:
    """Every country, named and sorted in the active language, after an empty choice."""
    return [("", "---------"), *countries]


def page_mail_language() -> str:
    """The mail language matching the active page language, English when none does."""
    language = (get_language() or "")[:2]
    return language if language in MailLanguage.values else MailLanguage.EN.value


class EntryForm(forms.Form):
    """The public entry form; its field names are a public contract."""

    name = forms.CharField(
        label=_("Your name"), max_length=100, validators=[validate_single_line_text]
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send a link to this address: your entry counts once you confirm it."),
    )
    twitter_handle = HandleField(
        label=_("Twitter/X handle"),
        help_text=_("1 to 15 letters, digits or _, with or without the @."),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        choices=ChoicesPerLanguage(country_choices),
        error_messages={"required": _("Choose the country you live in.")},
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages you speak"),
        choices=ChoicesPerLanguage(language_choices_grouped),
        error_messages={"required": _("Choose at least one language you speak.")},
        help_text=_("Tick every language you speak; choose any other in the list."),
        # Rendered as checkboxes for the common languages and a list for the
        # others (contests/_languages_field.html), both posted as "languages".
        widget=forms.SelectMultiple,
    )
    # No background is preselected: a default would be recorded for everyone who
    # skips the field and skew the breakdowns and the caps.
    background = forms.ChoiceField(
        label=_("Background"),
        choices=[("", "---------"), *Background.choices],
        error_messages={"required": _("Choose the background closest to yours.")},
    )
    background_other = forms.CharField(
        label=_("Your background, if other"),
        max_length=100,
        required=False,
        validators=[validate_single_line_text],
    )
    motivation = forms.CharField(
        label=_("Why should you be there?"),
        max_length=1000,
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    language = forms.ChoiceField(label=_("Language for our emails"), choices=MailLanguage.choices)
    publish_handle = forms.BooleanField(
        label=_("If I win, you may publish my handle (otherwise only my first name)."),
        required=False,
    )
    accept_rules = forms.BooleanField(
        label=_("I have read and accept the contest rules."),
        error_messages={"required": _("Accept the rules to enter the contest.")},
    )
    # Honeypot: hidden from people, filled in by naive bots.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        motivation = self.fields["motivation"]
        motivation.help_text = gettext("Between %(min)d and %(max)d characters.") % {
            "min": motivation.min_length,
            "max": motivation.max_length,
        }
        # Mail in the language of the page the person reads, unless they choose.
        self.fields["language"].initial = page_mail_language()
        self.helper = FormHelper()
        # The page writes the <form> tag and its CSRF token itself, so that the
        # empty form (some 450 options) can be cached per language: crispy must
        # not render a token of its own, or every visitor would get the one of
        # the visitor whose request filled the cache.
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "name",
            "email",
            "twitter_handle",
            "country",
            Field("languages", template="contests/_languages_field.html"),
            "background",
            "background_other",
            "motivation",
            "language",
            "publish_handle",
            "accept_rules",
            HTML(
                '{% load i18n %}<p class="small text-muted" id="entry-privacy">'
                '{% translate "What we keep about you, for how long, and how to withdraw:" %} '
                '<a href="{% url \'privacy\' %}">{% translate "Privacy notice" %}</a></p>'
            ),
            Div(Field("website", autocomplete="off", tabindex="-1"), css_class="hp-field"),
            Submit("submit", _("Enter the contest")),
        )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        # Lower-casing may lengthen an address ("İ" becomes two characters);
        # the normalised form must fit its column too.
        if len(normalize_email(email)) > Entry._meta.get_field("email_normalized").max_length:
            raise forms.ValidationError(_("Enter a valid email address."))
        if is_disposable_email(email):
            raise forms.ValidationError(
                _("Addresses from throwaway mail services are not accepted; use your own address.")
            )
        return email

    def clean(self):
        data = super().clean()
        if data.get("background") == Background.OTHER and not data.get("background_other"):
            self.add_error("background_other", _("Tell us your background."))
        return data

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class ConfirmAgainForm(forms.Form):
    email = forms.EmailField(label=_("The email address you entered with"), max_length=254)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Send me a new link")))


class EntryAdminForm(forms.ModelForm):
    """An entry an organizer corrects in the admin, saved by ``entry_correct``.

    The form checks the fields; the one-entry-per-person rule is the
    service's (``entry_identity_conflicts``), shown here on its field.
    """

    class Meta:
        model = Entry
        # What an organizer may correct; the rest is the entrant's or the draw's.
        fields = [
            "name",
            "email",
            "twitter_handle",
            "country",
            "background",
            "background_other",
            "motivation",
            "language",
            "publish_handle",
        ]
        field_classes = {"twitter_handle": HandleField}

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        # The normalised form must fit its column too.
        if len(normalize_email(email)) > Entry._meta.get_field("email_normalized").max_length:
            raise forms.ValidationError(_("Enter a valid email address."))
        return email

    def clean(self):
        data = super().clean()
        conflicts = entry_identity_conflicts(
            entry=self.instance,
            email=data.get("email") or "",
            twitter_handle=data.get("twitter_handle") or "",
        )
        for field, message in conflicts.items():
            self.add_error(field, message)
        return data


# The freeze, the draw, the ticket check and the invalidation of entries ----------


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
        # A button, not an input: its words wrap on a narrow card ("Tirer au sort les
        # personnes gagnantes"), where an input's would run past the card.
        self.helper.layout = Layout(
            *self.fields,
            StrictButton(_("Draw the winners"), type="submit", name="draw", css_class="btn-danger"),
        )

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
    )


class ContestAdminForm(forms.ModelForm):
    """A contest in the admin, saved by ``contest_save``; a refused banner shows on its field."""

    class Meta:
        model = Contest
        # The admin gives the fields of its fieldsets.
        fields = ["banner"]

    def clean_banner(self):
        banner = self.cleaned_data.get("banner")
        if isinstance(banner, UploadedFile):
            try:
                banner_check(banner)
            except ContestError as exc:
                raise forms.ValidationError(exc.message) from None
        return banner
