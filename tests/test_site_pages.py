"""The markup of the public pages: headings in order, machine-readable times the
HTML standard accepts, and the description and card that sharing a link shows."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from tests.public_site import public_site
from tests.support import rows_for_the_module

pytestmark = pytest.mark.django_db

# A valid global date and time string of the HTML standard, to the second: the
# standard allows at most three digits of a fraction, and a page needs none.
HTML_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.times: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "time":
            self.times.append(dict(attrs).get("datetime", ""))
        if tag == "meta":
            attributes = dict(attrs)
            key = attributes.get("property") or attributes.get("name")
            if key:
                self.meta[key] = attributes.get("content") or ""


def read(client, url: str) -> _Page:
    response = client.get(url)
    assert response.status_code == 200, url
    page = _Page()
    page.feed(response.content.decode())
    return page


@pytest.fixture(scope="module")
def _site(django_db_setup, django_db_blocker) -> Iterator[dict[str, str]]:
    """The site, built once: the tests only read its pages."""
    yield from rows_for_the_module(django_db_blocker, public_site)


@pytest.fixture
def urls(_site, db) -> dict[str, str]:
    return _site


def test_headings_start_at_h1_and_never_skip_a_level(client, urls):
    """Screen readers list the headings as an outline: /contests/ used to go from h1 to h3."""
    for name, url in urls.items():
        levels = read(client, url).headings
        assert levels and levels[0] == 1, (name, levels)
        jumps = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
        assert not jumps, (name, levels)


def test_times_carry_a_datetime_without_fractions_of_a_second(client, urls):
    """The countdown and the live updates' times were written to the microsecond,
    which the HTML standard (and the Nu HTML Checker) refuses."""
    contest = read(client, urls["contest"]).times
    live = read(client, urls["visit_live"]).times
    assert contest and live
    for value in contest + live:
        assert HTML_DATETIME.fullmatch(value), value


SHARE_CARD = (
    "description",
    "og:title",
    "og:description",
    "og:url",
    "og:image",
    "og:image:alt",
    "twitter:card",
    "twitter:title",
    "twitter:description",
    "twitter:image",
    "twitter:image:alt",
)


@pytest.mark.parametrize(
    "name", ["home", "contests", "contest", "results", "live_draw", "visit", "visit_live"]
)
def test_pages_people_share_carry_a_description_and_a_card_with_its_alt_text(client, urls, name):
    meta = read(client, urls[name]).meta
    missing = [key for key in SHARE_CARD if not meta.get(key, "").strip()]
    assert not missing, (name, missing)
    assert meta["og:image"].startswith("http://testserver/static/img/tweetup-card")
    assert meta["og:url"] == "http://testserver" + urls[name]
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image:alt"] == meta["twitter:image:alt"]
    assert meta["og:description"] == meta["description"]


def test_the_results_card_names_its_contest_and_the_visit_card_its_date(client, urls):
    assert read(client, urls["results"]).meta["og:title"] == (
        "Results: CERN's first TweetUp, 25 July 2012"
    )
    visit = read(client, urls["visit"]).meta
    assert visit["og:title"] == "The first CERN TweetUp, behind the scenes of the LHC"
    assert re.search(r"\d{4}", visit["description"]), visit["description"]
