"""The winner's side: answer an offered place through the signed link of the mail.

A GET only shows a confirmation page; the answer is a POST. The token names one
selection and its current offer, so a link never acts on anybody else's place.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tweetup.http import require_form_methods
from tweetup.links import request_base_url
from tweetup.permissions import addressee_only

from .. import services
from ..models import Selection
from ..services import selections as selection_services


class AcceptForm(forms.Form):
    can_attend = forms.BooleanField(required=True)

    def __init__(self, *args, visit=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["can_attend"]
        if visit is not None:
            field.label = _("I can come on %(date)s") % {
                "date": formats.date_format(visit.date, "l j F Y")
            }
        else:
            field.label = _("I can come on the day of the visit")
        field.error_messages["required"] = _(
            "Please confirm that you can come on the day of the visit."
        )
        self.helper = FormHelper()
        self.helper.form_id = "accept-form"
        self.helper.add_input(
            Submit("accept", gettext_lazy("Accept my place"), css_class="btn-success")
        )


class DeclineForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "decline-form"
        self.helper.add_input(
            Submit("decline", gettext_lazy("Yes, decline my place"), css_class="btn-danger")
        )


def _link_failed(request, error: str):
    return render(request, "contests/selections/link_failed.html", {"error": error}, status=400)


def _visitor_profile_url(request, selection: Selection, profile=None) -> str | None:
    """The visitor profile's page, when the visits app offers one."""
    visits = selection_services.visits_services()
    if visits is None or not hasattr(visits, "visitor_profile_url"):
        return None
    if profile is None:
        for name in ("visitor_profile", "visitorprofile", "profile"):
            try:
                profile = getattr(selection, name, None)
            except ObjectDoesNotExist:
                profile = None
            if profile is not None:
                break
    if profile is None:
        return None
    return visits.visitor_profile_url(profile, base_url=request_base_url(request))


def _context(selection: Selection, **extra) -> dict:
    contest = selection.draw.contest
    return {
        "selection": selection,
        "entry": selection.entry,
        "contest": contest,
        "visit": contest.visit,
        "time_zone": services.selection_deadline_zone(contest),
        **extra,
    }


def _answered(request, selection: Selection, status: int = 200):
    return render(
        request,
        "contests/selections/answered.html",
        _context(selection, profile_url=_visitor_profile_url(request, selection)),
        status=status,
    )


@addressee_only
@require_form_methods
def selection_accept(request, token: str):
    try:
        selection = services.selection_from_token(token=token)
    except services.ContestError as exc:
        return _link_failed(request, str(exc))
    if selection.status != Selection.Status.PENDING and request.method == "GET":
        return _answered(request, selection)
    visit = selection.draw.contest.visit
    form = AcceptForm(request.POST if request.method == "POST" else None, visit=visit)
    if request.method == "POST":
        if selection.status != Selection.Status.PENDING:
            return _answered(request, selection, status=409)
        if form.is_valid():
            try:
                selection = services.selection_accept(
                    selection=selection,
                    can_attend=form.cleaned_data["can_attend"],
                    base_url=request_base_url(request),
                )
            except services.ContestError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("contests:selection_accept", token=token)
    return render(
        request,
        "contests/selections/answer.html",
        _context(
            selection,
            form=form,
            action="accept",
            answer_by=services.selection_answer_deadline(selection),
        ),
        status=400 if request.method == "POST" else 200,
    )


@addressee_only
@require_form_methods
def selection_decline(request, token: str):
    try:
        selection = services.selection_from_token(token=token)
    except services.ContestError as exc:
        return _link_failed(request, str(exc))
    if selection.status != Selection.Status.PENDING and request.method == "GET":
        return _answered(request, selection)
    form = DeclineForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if selection.status != Selection.Status.PENDING:
            return _answered(request, selection, status=409)
        try:
            services.selection_decline(
                selection=selection,
                note=_("Declined through the link in the mail."),
                base_url=request_base_url(request),
            )
        except services.ContestError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("contests:selection_decline", token=token)
    return render(
        request,
        "contests/selections/answer.html",
        _context(
            selection,
            form=form,
            action="decline",
            answer_by=services.selection_answer_deadline(selection),
        ),
        status=400 if request.method == "POST" else 200,
    )
