"""No dead links: every link and asset a page of the site shows leads somewhere.

Starting from the home page, the demo's contests and visit, and a visitor's own
pages, the crawl follows every internal ``href`` and ``src`` for three kinds of
user and records any that answers 404 or 500. Links into the admin are checked
but not followed further (the admin's own links are Django's).
"""

import io
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.support import rows_for_the_module
from visitors.models import VisitorProfile
from visitors.services.links import visitor_profile_token

MAX_PAGES = 600
NOT_FOLLOWED = ("/admin/",)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value and tag != "form":
                self.links.append(value)


def internal_links(base_url: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    links = []
    for raw in parser.links:
        url, _fragment = urldefrag(urljoin(base_url, raw))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
            continue
        links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def crawl(client: Client, start: list[str]) -> tuple[dict[str, int], list[str]]:
    """Breadth-first walk of the site from ``start``; (status by URL, dead links)."""
    seen: dict[str, int] = {}
    dead: list[str] = []
    queue = deque((url, "(start)") for url in start)
    while queue and len(seen) < MAX_PAGES:
        url, found_on = queue.popleft()
        if url in seen:
            continue
        if url.startswith(settings.STATIC_URL):
            # Look the asset up where the static files are, without opening it.
            path = urlsplit(url).path.removeprefix(settings.STATIC_URL)
            seen[url] = 200 if finders.find(path) else 404
            if seen[url] == 404:
                dead.append(f"{url} is not a static file (linked from {found_on})")
            continue
        response = client.get(url)
        # Reading a stream to its end closes it (and the file behind it).
        body = b"".join(response.streaming_content) if response.streaming else response.content
        seen[url] = response.status_code
        if response.status_code in (404, 500):
            dead.append(f"{url} answers {response.status_code} (linked from {found_on})")
            continue
        if (
            response.status_code != 200
            or "text/html" not in response.get("Content-Type", "")
            or url.startswith(NOT_FOLLOWED)
        ):
            continue
        for link in internal_links("http://testserver" + url, body.decode()):
            if link not in seen:
                queue.append((link, url))
    return seen, dead


def _demo() -> list[str]:
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    profile = VisitorProfile.objects.order_by("pk").first()
    assert profile is not None, "the demo has no visitor"
    token = visitor_profile_token(profile)
    return ["/", reverse("visitors:profile", kwargs={"token": token})]


@pytest.fixture(scope="module")
def _demo_start(django_db_setup, django_db_blocker) -> Iterator[list[str]]:
    """The demo, loaded once for the module's crawls."""
    yield from rows_for_the_module(django_db_blocker, _demo)


@pytest.fixture
def demo_start(_demo_start, db) -> list[str]:
    cache.clear()
    return _demo_start


@pytest.mark.django_db
@pytest.mark.parametrize("username", [None, "organizer", "touradmin", "pressofficer"])
def test_every_link_the_site_shows_leads_somewhere(demo_start, username):
    client = Client()
    client.raise_request_exception = False
    if username:
        client.force_login(User.objects.get(username=username))
    seen, dead = crawl(client, demo_start)
    # The walk reaches the contests, the results of the drawn one and the visit day.
    reached = set(seen)
    for expected in (
        reverse("contests:detail", kwargs={"slug": "cern-tweetup"}),
        reverse("contests:results", kwargs={"slug": "first-cern-tweetup-2012"}),
        reverse("visits:detail", kwargs={"slug": "cern-tweetup-2012"}),
        # A past day offers no calendar; the coming one does.
        reverse("visits:calendar", kwargs={"slug": "cern-tweetup"}),
        reverse("visits:updates_feed", kwargs={"slug": "cern-tweetup-2012"}),
    ):
        assert expected in reached, f"{expected} is not linked from the site"
    assert len(seen) > 20
    assert not dead, "\n".join(dead)


def test_internal_links_keep_the_path_and_query_and_drop_other_sites():
    html = (
        '<a href="/contests/x/">x</a><a href="https://twitter.com/intent/tweet?text=a">t</a>'
        '<img src="/static/img/a.png"><a href="results/?ticket=A#top">r</a>'
        '<a href="mailto:a@example.org">m</a>'
    )
    assert internal_links("http://testserver/contests/x/", html) == [
        "/contests/x/",
        "/static/img/a.png",
        "/contests/x/results/?ticket=A",
    ]


@pytest.mark.django_db
def test_every_page_answers_head_as_it_answers_get(demo_start):
    """Link checkers and uptime monitors send HEAD: it gets the GET's status, no body."""
    client = Client()
    client.raise_request_exception = False
    seen, _dead = crawl(client, demo_start)
    pages = [url for url in seen if not url.startswith((settings.STATIC_URL, *NOT_FOLLOWED))]
    assert len(pages) > 20
    differ = []
    for url in pages:
        head = client.head(url)
        body = b"".join(head.streaming_content) if head.streaming else head.content
        if head.status_code != seen[url] or body:
            differ.append(f"HEAD {url}: {head.status_code}, GET: {seen[url]}")
    assert not differ, "\n".join(differ)


def test_the_browsers_favicon_request_leads_to_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert finders.find(response["Location"].removeprefix(settings.STATIC_URL))
