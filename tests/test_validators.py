"""One line of visible text: what the public forms accept in a name.

An entrant named ``Bob\\u202eelif.exe`` was listed as "Bobexe.file": control
and format characters (bidirectional overrides and isolates, zero-width
characters), line and paragraph separators are refused in every single-line
field people fill in, while names in any script are kept.
"""

import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from contests.forms import EntryForm
from contests.models import Entry
from tests.factories import entry_form_data
from tweetup.validators import validate_single_line_text
from visitors.forms import VisitorProfileForm
from visitors.models import VisitorProfile
from visits.forms import QuestionForm

NAMES = [
    "José Martínez",
    "Zoë O'Brien-Smith",
    "李雷",
    "محمد عبد الله",  # Arabic, right to left without any override
    "שרה כהן",
    "Ngũgĩ wa Thiong'o",
    "Ærøskøbing Ødegård",
    "Анна Каренина",
    "Nguyễn Thị Minh Khai",
    "สมชาย ใจดี",
    "देवनागरी क्ष्‍ष",  # a zero-width joiner inside an Indic word
    "نسرین‌دخت",  # a zero-width non-joiner inside a Persian name
    "J. R. R. Tolkien (Jr.)",
]
REFUSED = [
    "Bob\u202eelif.exe",  # right-to-left override
    "Bob\u202aSmith",  # left-to-right embedding
    "Bob\u2066Smith\u2069",  # isolates
    "Bob\u200bSmith",  # zero-width space
    "Bob\ufeffSmith",  # byte order mark
    "Bob\u00adSmith",  # soft hyphen
    "Bob\nSmith",
    "Bob\r\nSmith",
    "Bob\tSmith",
    "Bob\x07Smith",  # bell
    "Bob\u2028Smith",  # line separator
    "Bob\u2029Smith",  # paragraph separator
    "Bob\u200d",  # a joiner that joins nothing
    "\u200cBob",
]
# Every control and format character but the two joiners, which NAMES and
# REFUSED try in and out of words; and the two separators.
INVISIBLE = [
    chr(n)
    for n in range(0x110000)
    if unicodedata.category(chr(n)) in {"Cc", "Cf", "Zl", "Zp"} and chr(n) not in "\u200c\u200d"
]


@pytest.mark.parametrize("name", NAMES)
def test_names_in_any_script_are_accepted(name):
    validate_single_line_text(name)


@pytest.mark.parametrize("name", REFUSED)
def test_control_format_and_separator_characters_are_refused(name):
    with pytest.raises(ValidationError) as refused:
        validate_single_line_text(name)
    assert "one line of visible text" in refused.value.messages[0]


@given(
    st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"])),
    st.sampled_from(INVISIBLE),
    st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"])),
)
def test_any_visible_text_is_accepted_and_any_invisible_character_refused(before, character, after):
    validate_single_line_text(before + after)
    with pytest.raises(ValidationError):
        validate_single_line_text(before + character + after)


@pytest.mark.parametrize(
    "field", ["display_name", "background_other", "emergency_contact_name", "dietary_needs"]
)
def test_the_visitor_profile_refuses_invisible_characters_in_its_single_line_fields(field):
    data = {
        "display_name": "Ada",
        "background": "other",
        "background_other": "Poet",
        "language": "en",
        "language_0": "en",
        "level_0": "native",
        field: "Ada\u202eecalevol",
    }
    form = VisitorProfileForm(data=data, profile=VisitorProfile())
    assert not form.is_valid()
    assert list(form.errors) == [field]
    data[field] = "Zoë"
    assert VisitorProfileForm(data=data, profile=VisitorProfile()).is_valid()


def test_a_question_refuses_an_author_name_written_backwards():
    form = QuestionForm(data={"text": "How cold is the LHC?", "author_name": "Bob\u202eelif.exe"})
    assert list(form.errors) == ["author_name"]
    assert QuestionForm(data={"text": "How cold is the LHC?", "author_name": "李雷"}).is_valid()


@pytest.mark.parametrize("field", ["name", "background_other"])
def test_the_entry_form_refuses_invisible_characters(field):
    data = entry_form_data(background="other", background_other="Poet")
    data[field] = "Bob\u202eelif.exe"
    form = EntryForm(data=data)
    assert not form.is_valid()
    assert list(form.errors) == [field]


@pytest.mark.django_db
def test_an_entrant_named_backwards_is_refused_with_a_clear_message(client, contest):
    response = client.post(contest.get_absolute_url(), entry_form_data(name="Bob\u202eelif.exe"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Use one line of visible text" in page
    assert "U+202E" in page
    assert not Entry.objects.exists()
    response = client.post(contest.get_absolute_url(), entry_form_data(name="محمد عبد الله"))
    assert response.status_code == 302
    assert Entry.objects.get().name == "محمد عبد الله"
