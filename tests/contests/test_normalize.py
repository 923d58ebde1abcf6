"""Normalised emails and handles: what makes two entries "the same person"."""

import pytest

from contests.normalize import is_disposable_email, normalize_email, normalize_handle
from tweetup.vocabulary import clean_handle


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Lucy@Example.org", "lucy@example.org"),
        ("  LUCY@EXAMPLE.ORG\n", "lucy@example.org"),
        ("lucy@example.org", "lucy@example.org"),
    ],
)
def test_email_is_trimmed_and_lower_cased(typed, normalised):
    assert normalize_email(typed) == normalised


@pytest.mark.parametrize(
    ("typed", "cleaned"),
    [
        ("CERN", "CERN"),
        ("@CERN", "CERN"),
        ("  @Lucy_M  ", "Lucy_M"),
        ("a", "a"),
        ("abcdefghijklmno", "abcdefghijklmno"),  # 15 characters
        ("https://twitter.com/CERN", "CERN"),
        ("http://www.twitter.com/CERN/", "CERN"),
        ("https://x.com/CERN?lang=fr", "CERN"),
        ("HTTPS://X.COM/Lucy_M/status/123", "Lucy_M"),
        ("x.com/@CERN", "CERN"),
        ("www.x.com/CERN", "CERN"),
    ],
)
def test_handle_loses_at_sign_spaces_and_profile_url(typed, cleaned):
    assert clean_handle(typed) == cleaned


def test_handle_keeps_its_case_but_normalises_to_lower_case():
    assert clean_handle("@CERN_Fr") == "CERN_Fr"
    assert normalize_handle("@CERN_Fr") == normalize_handle("cern_fr") == "cern_fr"
    assert normalize_handle("https://x.com/CERN") == normalize_handle("@cern")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "@",
        "   ",
        "abcdefghijklmnop",  # 16 characters
        "lucy m",
        "lucy-m",
        "lucy.m",
        "@@lucy",
        "lucé",
        "ｌｕｃｙ",  # full-width letters are not ASCII
        "lu\ncy",
        "lucy\x00",
        "https://twitter.com/",
        "https://example.org/lucy",
        "<script>",
    ],
)
def test_handle_outside_1_to_15_word_characters_is_refused(typed):
    with pytest.raises(ValueError):
        clean_handle(typed)


@pytest.mark.parametrize(
    ("email", "disposable"),
    [
        ("someone@mailinator.com", True),
        ("someone@MAILINATOR.COM", True),
        ("someone@sub.mailinator.com", True),
        ("someone@cern.ch", False),
        ("someone@example.org", False),
        ("someone@mailinator.com.example.org", False),
    ],
)
def test_throwaway_mail_domains_and_their_subdomains_are_recognised(email, disposable):
    assert is_disposable_email(email) is disposable
