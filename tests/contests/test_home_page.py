"""The home page's lists come from the cache, stay true, and hold nothing of a visitor.

The lists of contests and visits are rendered once per language and kept
(``contests.home_page``); these tests hold them to what the database says
and to each visitor's language, and count what a visit costs once they are kept.
"""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contests import home_page
from contests.models import Contest
from contests.services.entries import contest_save
from tests.builders import drawn_contest
from tests.contests.drawing import frozen_contest, organizer
from tests.factories import ContestFactory, EntryFactory, VisitFactory, contest_admin_post

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def home(client: Client, language: str = "en") -> str:
    response = client.get("/", headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


def test_a_warm_visit_runs_no_query_however_many_contests_and_entries():
    ContestFactory(title="Open one")
    VisitFactory(title="The day itself")
    Client().get("/")  # the lists rendered and kept
    with CaptureQueriesContext(connection) as few:
        page = home(Client())
    assert "Open one" in page and "The day itself" in page
    for number in range(12):
        contest = ContestFactory(title=f"Busy {number}")
        EntryFactory.create_batch(5, contest=contest)
        ContestFactory(title=f"Soon {number}", opens_at=timezone.now() + timedelta(days=2))
        VisitFactory()
    Client().get("/")
    with CaptureQueriesContext(connection) as many:
        page = home(Client())
    assert "Busy 11" in page and "Soon 11" in page
    assert len(few) == len(many) == 0, [q["sql"] for q in many.captured_queries]


def test_a_cold_visit_reads_the_lists_in_a_few_narrow_queries():
    for number in range(5):
        ContestFactory(title=f"Open {number}", visit=VisitFactory())
    drawn_contest(winners=1, alternates=1, entries=3)
    with CaptureQueriesContext(connection) as cold:
        home(Client())
    contests = [q["sql"] for q in cold.captured_queries if 'FROM "contests_contest"' in q["sql"]]
    assert len(cold) <= 5 and len(contests) == 3
    for sql in contests:
        # Only what a card shows: not the description, the rules, the seed nor the draw's record.
        for column in ("description_en", "rules_fr", '"seed"', '"ranking"', '"winners"'):
            assert column not in sql, (column, sql)


def test_a_contest_saved_in_the_admin_shows_on_the_home_page_at_once(client):
    client.force_login(organizer())
    post = contest_admin_post(title_en="Before the edit", slug="edited")
    added = client.post(reverse("admin:contests_contest_add"), post)
    assert added.status_code == 302
    contest = Contest.objects.get(slug="edited")
    visitor = Client()
    assert "Before the edit" in home(visitor)
    assert "Before the edit" in home(visitor)  # from the cache now

    changed = client.post(
        reverse("admin:contests_contest_change", args=[contest.pk]),
        {**post, "title_en": "After the edit"},
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    page = home(visitor)
    assert "After the edit" in page and "Before the edit" not in page

    unpublished = {key: value for key, value in post.items() if key != "published"}
    changed = client.post(
        reverse("admin:contests_contest_change", args=[contest.pk]),
        {**unpublished, "title_en": "After the edit"},
    )
    assert changed.status_code == 302
    assert "After the edit" not in home(visitor)


def test_a_contest_deleted_leaves_the_home_page_at_once():
    contest = ContestFactory(title="Soon gone")
    visitor = Client()
    assert "Soon gone" in home(visitor)
    contest.delete()
    assert "Soon gone" not in home(visitor)


def test_a_freeze_a_draw_and_a_visit_show_on_the_home_page_at_once():
    contest = frozen_contest(entries=4, title="Closed for the draw")
    visitor = Client()
    page = home(visitor)
    assert "Closed for the draw" in page and "state-frozen" in page and "state-drawn" not in page
    from contests.services.draws import draw_run

    draw_run(contest=contest, actor=None, notify=False)
    assert "state-drawn" in home(visitor)

    visit = VisitFactory(title="Control Centre day")
    assert "Control Centre day" in home(visitor)
    visit.title_en = "Computing Centre day"
    visit.save()
    page = home(visitor)
    assert "Computing Centre day" in page and "Control Centre day" not in page


def test_the_lists_turn_over_when_a_contest_opens_or_closes_without_any_save(settings):
    settings.HOME_PAGE_CACHE_SECONDS = 3600  # longer than the contests take to turn over
    now = timezone.now()
    ContestFactory(title="Opens soon", opens_at=now + timedelta(minutes=5))
    ContestFactory(title="Closes soon", closes_at=now + timedelta(minutes=10))
    kept = home_page.home_lists(now=now)
    assert kept.index("Closes soon") < kept.index("Coming soon") < kept.index("Opens soon")

    opened = home_page.home_lists(now=now + timedelta(minutes=6))
    assert "Coming soon" not in opened and "Past contests" not in opened  # both open now
    assert opened.index("Open now") < opened.index("Opens soon")
    closed = home_page.home_lists(now=now + timedelta(minutes=11))
    assert closed.index("Opens soon") < closed.index("Past contests") < closed.index("Closes soon")


def test_a_new_confirmed_count_shows_within_the_stated_time(settings):
    contest = ContestFactory(title="Counting")
    EntryFactory.create_batch(2, contest=contest)
    now = timezone.now()
    assert "2 confirmed entries" in home_page.home_lists(now=now)
    EntryFactory.create_batch(3, contest=contest)  # no contest saved: the count is kept
    assert "2 confirmed entries" in home_page.home_lists(now=now + timedelta(seconds=30))
    later = now + timedelta(seconds=settings.HOME_PAGE_CACHE_SECONDS)
    assert "5 confirmed entries" in home_page.home_lists(now=later)


def test_english_and_french_visitors_each_get_their_own_lists():
    now = timezone.now()
    ContestFactory(
        title_en="Open day", title_fr="Journée portes ouvertes", opens_at=now - timedelta(days=1)
    )
    ContestFactory(title_en="Next year", title_fr="L'an prochain", opens_at=now + timedelta(days=3))
    VisitFactory(title_en="Tour of the lab", title_fr="Visite du labo")
    english = {"Open day", "Next year", "Tour of the lab", "Open now", "Coming soon"}
    french = {"Journée portes ouvertes", "an prochain", "Visite du labo", "Ouverts en ce moment"}
    # Each language warms the cache for the other, in both orders, twice.
    for language in ("fr", "en", "fr", "en", "en", "fr"):
        page = home(Client(), language)
        shown, hidden = (french, english) if language == "fr" else (english, french)
        for text in shown:
            assert text in page, (language, text)
        for text in hidden:
            assert text not in page, (language, text)


def test_each_visitor_gets_their_own_token_and_menu_with_the_lists_kept(client):
    ContestFactory(title="Open one")
    client.force_login(organizer())
    staff_page = home(client)  # a staff member fills the cache first
    assert "Back office" in staff_page and "Open one" in staff_page
    secrets = set()
    for _ in range(3):
        visitor = Client(enforce_csrf_checks=True)
        page = home(visitor)
        assert "Open one" in page and "Back office" not in page
        secrets.add(visitor.cookies["csrftoken"].value)
        # The language switcher's token is this visitor's: Django accepts it.
        (token,) = CSRF_INPUT.findall(page)
        switched = visitor.post(
            reverse("set_language"), {"csrfmiddlewaretoken": token, "language": "fr", "next": "/"}
        )
        assert switched.status_code == 302
    assert len(secrets) == 3


@pytest.mark.django_db(transaction=True)
def test_a_visit_that_reads_the_lists_before_a_save_commits_does_not_keep_them():
    """The generation moves again after the commit: lists read between the
    save and its commit (by another connection) are not served afterwards."""
    contest = ContestFactory(title="Old title")
    saved, go_on = threading.Event(), threading.Event()
    problems = []

    def edit() -> None:
        try:
            with transaction.atomic():
                contest.title_en = "New title"
                contest_save(contest=contest)
                saved.set()
                go_on.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            problems.append(exc)
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    assert saved.wait(10)
    assert "Old title" in home(Client())  # read before the commit, kept in the cache
    go_on.set()
    editor.join(10)
    assert not problems
    page = home(Client())
    assert "New title" in page and "Old title" not in page
