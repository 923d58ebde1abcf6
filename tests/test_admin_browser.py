"""The back office's lists at 1280 px, the admin's menu open, in a real browser."""

import pytest
from django.urls import reverse

from notifications.models import OutboxMessage
from tests.browser import SHOTS, log_in
from tests.builders import drawn_contest
from tests.contests.drawing import organizer
from tests.factories import VisitFactory, staff_user
from tests.visits.factories import QuestionFactory, TourStopFactory
from tweetup.roles import TOUR_ADMINS
from visits.models import Question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_list(page, live_server, username: str, url: str, language: str, name: str) -> None:
    log_in(page, live_server, username)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(live_server.url + url)
    assert page.locator("#nav-sidebar").is_visible(), "the admin's menu is part of the test"
    page.screenshot(path=f"{SHOTS}/{name}_{language}.png", full_page=True)


def _fits(page, column: str) -> None:
    """The table fits its box (no column hidden behind a scroll), the key column on screen."""
    table = page.evaluate("document.querySelector('#result_list').getBoundingClientRect().width")
    box = page.evaluate("document.querySelector('#changelist .results').clientWidth")
    assert table <= box + 1, f"the list is {table:.0f} px wide in a {box} px box"
    cell = page.locator(f"#result_list td.field-{column}").first.bounding_box()
    assert cell is not None and cell["x"] + cell["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_outbox_list_shows_every_column_on_a_1280_px_screen(
    live_server, browser_page, language
):
    contest, _draw = drawn_contest(winners=3, alternates=2)
    OutboxMessage.objects.filter(contest=contest).update(
        status=OutboxMessage.Status.FAILED, attempts=5
    )
    organizer()
    url = reverse("admin:notifications_outboxmessage_changelist")
    _open_list(browser_page, live_server, "orga", url, language, "admin_outbox_list")
    _fits(browser_page, "status")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_question_list_shows_the_status_on_a_1280_px_screen(
    live_server, browser_page, language
):
    visit = VisitFactory(title="TweetUp walk: today's visit")
    stop = TourStopFactory(
        visit=visit, title="Wrap-up at the Globe: your questions, answered by the physicists"
    )
    for number in range(4):
        QuestionFactory(
            stop=stop,
            text=f"How do you cool the magnets of the LHC down to 1.9 kelvin? ({number})",
            author_name="Jean-Baptiste Delacroix-Moreau",
            status=Question.Status.PENDING,
        )
    staff_user("touradmin", TOUR_ADMINS)
    url = reverse("admin:visits_question_changelist")
    _open_list(browser_page, live_server, "touradmin", url, language, "admin_question_list")
    _fits(browser_page, "status")
