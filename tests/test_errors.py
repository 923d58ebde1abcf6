"""The one place where a rule's refusal becomes what a page shows."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from contests.errors import ContestError
from tweetup.errors import errors_shown


class NoteForm(forms.Form):
    note = forms.CharField(required=False)


def a_request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_a_refusal_goes_above_the_forms_fields():
    form = NoteForm({"note": "x"})
    assert form.is_valid()
    with errors_shown(form) as outcome:
        raise ContestError("This contest is already frozen.")
    assert not outcome.ok
    assert form.non_field_errors() == ["This contest is already frozen."]


def test_a_refusal_becomes_a_message_on_the_next_page():
    request = a_request()
    with errors_shown(request) as outcome:
        raise ContestError("Only a closed contest can be frozen.")
    assert not outcome.ok
    assert [str(m) for m in get_messages(request)] == ["Only a closed contest can be frozen."]
    assert [m.level_tag for m in get_messages(request)] == ["error"]


def test_nothing_is_shown_when_the_rule_is_met():
    request = a_request()
    with errors_shown(request) as outcome:
        pass
    assert outcome.ok and outcome.error is None
    assert list(get_messages(request)) == []


def test_other_exceptions_are_not_taken_for_refusals():
    with pytest.raises(KeyError), errors_shown(a_request()):
        raise KeyError("a bug stays a bug")
