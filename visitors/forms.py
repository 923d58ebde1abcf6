"""Forms of the visitors app: the answer to an offer, the profile, messages to visitors."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Fieldset, Layout, Row, Submit
from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from tweetup.forms import HandleField
from tweetup.validators import validate_single_line_text
from tweetup.vocabulary import Background, MailLanguage, language_choices_grouped

from .models import LanguageLevel, SiteAccess, VisitMessage, VisitorProfile


class AcceptForm(forms.Form):
    can_attend = forms.BooleanField(required=True)

    def __init__(self, *args, visit=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["can_attend"]
        if visit is not None:
            field.label = _("I can come on %(date)s") % {
                "date": formats.date_format(visit.date, "DATE_FORMAT")
            }
        else:
            field.label = _("I can come on the day of the visit")
        field.error_messages["required"] = _(
            "Please confirm that you can come on the day of the visit."
        )
        self.helper = FormHelper()
        self.helper.form_id = "accept-form"
        self.helper.add_input(Submit("accept", _("Accept my place"), css_class="btn-success"))


class DeclineForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "decline-form"
        self.helper.add_input(Submit("decline", _("Yes, decline my place"), css_class="btn-danger"))


LANGUAGE_ROWS = 6
# The profile's own fields, edited one to one by the form.
PROFILE_FIELDS = (
    "display_name",
    "handle",
    "background",
    "background_other",
    "bio",
    "dietary_needs",
    "accessibility_needs",
    "emergency_contact_name",
    "emergency_contact_phone",
    "language",
    "public_consent",
    "photo_consent",
)


class VisitorProfileForm(forms.Form):
    """What a visitor completes through their signed link."""

    display_name = forms.CharField(
        label=_("Display name"),
        max_length=60,
        help_text=_("How the guides and the other visitors call you."),
        validators=[validate_single_line_text],
    )
    handle = HandleField(label=_("Twitter/X handle"), required=False)
    background = forms.ChoiceField(label=_("Background"), choices=Background.choices)
    background_other = forms.CharField(
        label=_("Your background, if other"),
        max_length=100,
        required=False,
        validators=[validate_single_line_text],
    )
    bio = forms.CharField(
        label=_("A short bio"),
        max_length=400,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Up to 400 characters."),
    )
    dietary_needs = forms.CharField(
        label=_("Dietary needs"),
        max_length=300,
        required=False,
        help_text=_("Private: only the organizers and the visit team see it."),
        validators=[validate_single_line_text],
    )
    accessibility_needs = forms.CharField(
        label=_("Accessibility needs"),
        max_length=300,
        required=False,
        help_text=_("Private: only the organizers and the visit team see it."),
        validators=[validate_single_line_text],
    )
    emergency_contact_name = forms.CharField(
        label=_("Emergency contact: name"),
        max_length=100,
        required=False,
        validators=[validate_single_line_text],
    )
    emergency_contact_phone = forms.CharField(
        label=_("Emergency contact: phone"),
        max_length=40,
        required=False,
        validators=[validate_single_line_text],
    )
    language = forms.ChoiceField(label=_("Language for our emails"), choices=MailLanguage.choices)
    public_consent = forms.BooleanField(
        label=_("Show my display name, handle, languages and bio on the public pages."),
        required=False,
    )
    photo_consent = forms.BooleanField(
        label=_("I agree to appear in photos published by the organizers."), required=False
    )
    confirm_attendance = forms.BooleanField(
        label=_("I confirm that I will attend the visit."), required=False
    )

    def __init__(
        self,
        *args,
        profile: VisitorProfile,
        site_access: bool = False,
        locked: bool = False,
        **kwargs,
    ):
        """``locked``: the profile can no longer change, so it is shown read-only, unsaveable."""
        self.profile = profile
        super().__init__(*args, **kwargs)
        self.site_access = site_access
        if site_access:
            self.fields.update(_site_access_fields())
        language_fields = []
        for index in range(LANGUAGE_ROWS):
            self.fields[f"language_{index}"] = forms.ChoiceField(
                label=_("Language"),
                choices=[("", "---------"), *language_choices_grouped()],
                required=False,
            )
            self.fields[f"level_{index}"] = forms.ChoiceField(
                label=_("Level"),
                choices=[("", "---------"), *LanguageLevel.choices],
                required=False,
            )
            language_fields.append(
                Row(
                    Column(f"language_{index}", css_class="col-sm-7"),
                    Column(f"level_{index}", css_class="col-sm-5"),
                )
            )
        if profile.is_confirmed:
            self.fields["confirm_attendance"].initial = True
            self.fields["confirm_attendance"].disabled = True
        if locked:
            for field in self.fields.values():
                field.disabled = True
        self.helper = FormHelper()
        self.helper.form_id = "profile-form"
        self.helper.layout = Layout(
            Fieldset(
                _("About you"),
                "display_name",
                "handle",
                "background",
                "background_other",
                "bio",
            ),
            Fieldset(_("Languages you speak"), *language_fields),
            Fieldset(
                _("Private"),
                "dietary_needs",
                "accessibility_needs",
                Row(
                    Column("emergency_contact_name", css_class="col-sm-6"),
                    Column("emergency_contact_phone", css_class="col-sm-6"),
                ),
                "language",
            ),
            *(
                [
                    Fieldset(
                        _("Site access"),
                        HTML(
                            '{% load i18n %}<p class="small text-muted" id="site-access-why">'
                            "{% translate \"The site's security asks for these details to let "
                            "you in: write them exactly as on the identity document you will "
                            "bring. Only the organizers see them, to send them to security; "
                            'they are deleted a few days after the visit." %} '
                            '<a href="{% url \'privacy\' %}">{% translate "Privacy notice" %}'
                            "</a></p>"
                        ),
                        *SITE_ACCESS_FIELDS,
                    )
                ]
                if site_access
                else []
            ),
            Fieldset(
                _("Consent and attendance"),
                "public_consent",
                "photo_consent",
                "confirm_attendance",
            ),
            *([] if locked else [Submit("submit", _("Save my profile"))]),
        )

    @classmethod
    def initial_for(cls, profile: VisitorProfile, *, site_access: bool = False) -> dict:
        initial = {name: getattr(profile, name) for name in PROFILE_FIELDS}
        details = SiteAccess.objects.filter(profile=profile).first() if site_access else None
        if details is not None:
            for name in SITE_ACCESS_FIELDS:
                initial[name] = getattr(details, name.removeprefix("site_access_"))
        for index, item in enumerate((profile.languages or [])[:LANGUAGE_ROWS]):
            initial[f"language_{index}"] = item.get("code", "")
            initial[f"level_{index}"] = item.get("level", "")
        return initial

    def clean(self):
        data = super().clean()
        if data.get("background") == Background.OTHER and not data.get("background_other"):
            self.add_error("background_other", _("Tell us your background."))
        languages = []
        seen = set()
        for index in range(LANGUAGE_ROWS):
            code, level = data.get(f"language_{index}"), data.get(f"level_{index}")
            if code and not level:
                self.add_error(f"level_{index}", _("Choose your level in this language."))
            elif level and not code:
                self.add_error(f"language_{index}", _("Choose the language."))
            elif code and code in seen:
                self.add_error(f"language_{index}", _("This language is already listed."))
            elif code:
                seen.add(code)
                languages.append({"code": code, "level": level})
        if not languages and not self.errors:
            self.add_error("language_0", _("List at least one language you speak."))
        data["languages"] = languages
        return data

    def site_access_fields(self) -> dict | None:
        """The site-access details as ``site_access_save`` takes them, when the visit asks."""
        if not self.site_access:
            return None
        return {
            name.removeprefix("site_access_"): self.cleaned_data[name]
            for name in SITE_ACCESS_FIELDS
        }

    def profile_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in PROFILE_FIELDS}
        fields["languages"] = data["languages"]
        return fields


SITE_ACCESS_FIELDS = (
    "site_access_name_on_document",
    "site_access_nationality",
    "site_access_date_of_birth",
    "site_access_document_type",
    "site_access_document_number",
)


def _validate_born(value) -> None:
    if value >= timezone.localdate():
        raise forms.ValidationError(_("Enter your date of birth."))


def _site_access_fields() -> dict[str, forms.Field]:
    """The fields the gate asks for; only on the form of a visit that asks for them."""
    return {
        "site_access_name_on_document": forms.CharField(
            label=_("Name as on the identity document"),
            max_length=150,
            validators=[validate_single_line_text],
        ),
        "site_access_nationality": forms.ChoiceField(
            label=_("Nationality"), choices=[("", "---------"), *countries]
        ),
        "site_access_date_of_birth": forms.DateField(
            label=_("Date of birth"),
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            validators=[_validate_born],
        ),
        "site_access_document_type": forms.ChoiceField(
            label=_("Identity document"),
            choices=[("", "---------"), *SiteAccess.DocumentType.choices],
        ),
        "site_access_document_number": forms.CharField(
            label=_("Document number"),
            max_length=40,
            validators=[validate_single_line_text],
        ),
    }


class VisitMessageForm(forms.ModelForm):
    class Meta:
        model = VisitMessage
        fields = ["audience", "subject_en", "body_en", "subject_fr", "body_fr"]
        widgets = {
            "body_en": forms.Textarea(attrs={"rows": 6}),
            "body_fr": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "message-form"
        self.helper.layout = Layout(
            "audience",
            Fieldset(_("English"), "subject_en", "body_en"),
            Fieldset(
                _("French (optional: French readers get the English text without it)"),
                "subject_fr",
                "body_fr",
            ),
            HTML(""),
            Submit("submit", _("Send through the outbox")),
        )

    def clean(self):
        data = super().clean()
        if bool(data.get("subject_fr")) != bool(data.get("body_fr")):
            raise forms.ValidationError(_("Write both the French subject and message, or neither."))
        return data
