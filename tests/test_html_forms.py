"""tests/html_forms.py sends what a browser sends, stale hidden fields included."""

import pytest
from django.http import QueryDict
from django.utils.http import urlencode

from tests.html_forms import BrowserForm

PAGE = """
<form id="other"><input type="hidden" name="csrfmiddlewaretoken" value="switcher"></form>
<form method="post" id="entry-form">
  <input type="hidden" name="csrfmiddlewaretoken" value="fresh">
  <input type="text" name="name" value="">
  <select name="country"><option value="">---</option><option value="CH">Switzerland</option>
  </select>
  <select name="languages" multiple><optgroup label="Common"><option value="en">English
  <option value="fr" selected>French</optgroup></select>
  <textarea name="motivation">
Physics &amp; people</textarea>
  <input type="checkbox" name="publish_handle">
  <input type="checkbox" name="accept_rules">
  <input type="text" name="website">
  <input type="hidden" name="csrfmiddlewaretoken" value="stale">
  <input type="submit" name="submit" value="Enter">
</form>
"""


def test_an_untouched_form_sends_its_defaults_and_hidden_fields_in_order():
    form = BrowserForm.parse(PAGE, "entry-form")
    assert form.data() == [
        ("csrfmiddlewaretoken", "fresh"),
        ("name", ""),
        ("country", ""),
        ("languages", "fr"),
        ("motivation", "Physics & people"),
        ("website", ""),
        ("csrfmiddlewaretoken", "stale"),
    ]
    assert form.options("languages") == ["en", "fr"]


def test_a_filled_form_sends_the_choices_and_the_pressed_button_and_django_reads_the_last_token():
    form = BrowserForm.parse(PAGE, "entry-form")
    pairs = form.data(
        {"name": "Ada", "country": "CH", "languages": ["en", "fr"], "accept_rules": True},
        submitter="submit",
    )
    posted = QueryDict(urlencode(pairs))
    assert posted["csrfmiddlewaretoken"] == "stale"
    assert posted.getlist("languages") == ["en", "fr"]
    assert (posted["accept_rules"], posted["submit"], posted["website"]) == ("on", "Enter", "")
    assert "publish_handle" not in posted


@pytest.mark.parametrize(
    "filled",
    [{"csrfmiddlewaretoken": "mine"}, {"country": "XX"}, {"nickname": "Ada"}],
    ids=["hidden field", "option not offered", "no such field"],
)
def test_a_person_cannot_fill_what_the_form_does_not_offer(filled):
    with pytest.raises(ValueError):
        BrowserForm.parse(PAGE, "entry-form").data(filled)


BOXES_AND_LIST = """
<form method="post" id="entry-form">
  <input type="checkbox" name="languages" value="en">
  <input type="checkbox" name="languages" value="fr" checked>
  <select name="languages" multiple><option value="de">German<option value="it">Italian</select>
</form>
"""


def test_values_under_a_name_of_boxes_and_a_list_go_each_to_the_control_offering_them():
    form = BrowserForm.parse(BOXES_AND_LIST, "entry-form")
    assert form.data() == [("languages", "fr")]
    pairs = form.data({"languages": ["en", "it"]})
    assert pairs == [("languages", "en"), ("languages", "it")]
    with pytest.raises(ValueError, match="offers no option \\['xx'\\]"):
        form.data({"languages": ["en", "xx"]})
