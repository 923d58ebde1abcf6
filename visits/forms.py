from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from tweetup.validators import validate_single_line_text

from .models import LiveUpdate, TourStop, Visit


class QuestionForm(forms.Form):
    """A question from anyone for a tour stop; a honeypot keeps naive bots out."""

    text = forms.CharField(
        label=_("Your question"),
        max_length=280,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 280}),
        help_text=_("Up to 280 characters. The visit team reads it before it appears."),
    )
    author_name = forms.CharField(
        label=_("Your name or handle (optional)"),
        max_length=60,
        required=False,
        validators=[validate_single_line_text],
    )
    # Honeypot: hidden from people, filled in by naive bots.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "question-form"
        self.helper.layout = Layout(
            "text",
            "author_name",
            Div(Field("website", autocomplete="off", tabindex="-1"), css_class="hp-field"),
            Submit("submit", _("Send the question")),
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class LiveUpdateForm(forms.ModelForm):
    """A live update in English, French or both; each reader sees their language first."""

    class Meta:
        model = LiveUpdate
        fields = ["text_en", "text_fr", "stop"]
        labels = {"text_en": _("Update in English"), "text_fr": _("Update in French")}
        widgets = {
            "text_en": forms.Textarea(attrs={"rows": 2, "maxlength": 500, "lang": "en"}),
            "text_fr": forms.Textarea(attrs={"rows": 2, "maxlength": 500, "lang": "fr"}),
        }

    def __init__(self, *args, visit: Visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stop"].queryset = TourStop.objects.filter(visit=visit)
        self.fields["stop"].required = False
        self.helper = FormHelper()
        self.helper.form_id = "live-update-form"
        self.helper.add_input(Submit("submit", _("Post the update")))
