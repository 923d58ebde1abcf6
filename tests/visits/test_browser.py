"""The visits app in a real browser: scheduling stops, questions, the itinerary and its admin."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from tests.browser import SHOTS, log_in
from tests.factories import VisitFactory
from tests.visits.factories import (
    LiveUpdateFactory,
    LocationFactory,
    QuestionFactory,
    TourStopFactory,
    at,
)
from tweetup.roles import TOUR_ADMINS, groups_ensure
from visits.models import Question, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tour_admin() -> User:
    groups_ensure()
    user = User.objects.create_user("touradmin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=TOUR_ADMINS))
    return user


def fill_stop(page, index: int, *, title: str, location, day: str, start: str, end: str):
    prefix = f"#id_stops-{index}-"
    page.fill(f"{prefix}title_en", title)
    page.select_option(f"{prefix}location", str(location.pk))
    page.fill(f"{prefix}starts_at_0", day)
    page.fill(f"{prefix}starts_at_1", start)
    page.fill(f"{prefix}ends_at_0", day)
    page.fill(f"{prefix}ends_at_1", end)


def test_tour_admin_schedules_stops_and_sees_a_conflict_refused(live_server, browser):
    tour_admin()
    computing = LocationFactory(name="Computing Centre, Building 513")
    control = LocationFactory(name="CERN Control Centre")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, live_server, "touradmin")
    page.goto(live_server.url + reverse("admin:visits_visit_add"))
    page.fill("#id_title_en", "TweetUp 2031")
    page.fill("#id_date", "2031-07-25")
    page.select_option("#id_time_zone", "Europe/Zurich")
    page.fill("#id_meeting_point_en", "Reception, Building 33")
    fill_stop(page, 0, title="Computing Centre", location=computing, day="2031-07-25",
              start="10:00", end="11:30")  # fmt: skip
    page.click(".add-row a")
    fill_stop(page, 1, title="Control Centre", location=control, day="2031-07-25",
              start="11:00", end="12:00")  # fmt: skip
    page.click("input[name=_save]")
    errors = page.inner_text(".errorlist.nonform, .errornote")
    assert "“Computing Centre” (10:00–11:30) and “Control Centre” (11:00–12:00) overlap." in (
        page.inner_text("#content")
    ), errors
    page.screenshot(path=f"{SHOTS}/visit_admin_conflict.png", full_page=True)
    assert not Visit.objects.exists()

    page.fill("#id_stops-1-starts_at_1", "11:30")
    page.fill("#id_stops-1-ends_at_1", "12:30")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/visits/visit/")
    visit = Visit.objects.get(title="TweetUp 2031")
    assert [s.title for s in visit.stops.all()] == ["Computing Centre", "Control Centre"]
    assert visit.stops.last().starts_at == at(visit, 11, 30)


def test_public_question_is_approved_by_a_tour_admin_and_shows(live_server, browser):
    tour_admin()
    visit = VisitFactory(title="CERN TweetUp")
    stop = TourStopFactory(visit=visit, title="CERN Control Centre", starts_at=at(visit, 11))
    QuestionFactory(stop=stop, text="How long does a fill last?", status="approved")
    LiveUpdateFactory(visit=visit, text="Beams are back!", posted_at=timezone.now())

    public = browser.new_page(viewport={"width": 1280, "height": 900})
    public.goto(live_server.url + stop.get_absolute_url())
    public.fill("#id_text", "What happens when a magnet quenches?")
    public.fill("#id_author_name", "@curious")
    public.click("#question-form [type=submit]")
    public.wait_for_selector(".alert-success")
    assert "What happens when a magnet quenches?" not in public.inner_text("main")
    question = Question.objects.get(text="What happens when a magnet quenches?")

    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(admin, live_server, "touradmin")
    admin.goto(live_server.url + reverse("admin:visits_question_changelist") + "?status=pending")
    admin.check(f"input[name=_selected_action][value='{question.pk}']")
    admin.select_option("select[name=action]", "approve")
    admin.click("button[name=index]")
    admin.wait_for_selector(".messagelist")
    assert Question.objects.get(pk=question.pk).status == Question.Status.APPROVED

    public.goto(live_server.url + stop.get_absolute_url())
    assert "What happens when a magnet quenches?" in public.inner_text("main")
    public.click(f"#question-{question.pk} button[type=submit]")
    public.wait_for_selector(f"#question-{question.pk} .votes-count")
    assert public.inner_text(f"#question-{question.pk} .votes-count") == "1"
    public.screenshot(path=f"{SHOTS}/visit_stop.png", full_page=True)

    # The live page refreshes by itself.
    live = browser.new_page(viewport={"width": 1280, "height": 900})
    live.goto(live_server.url + reverse("visits:live", args=[visit.slug]))
    LiveUpdateFactory(
        visit=visit, text="Stable beams declared", posted_at=timezone.now() + timedelta(seconds=1)
    )
    # The page polls every 20 s; showing the tab again polls at once.
    live.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    # A locator waits from Playwright's own script, which the page's CSP does not
    # govern (wait_for_function would need 'unsafe-eval').
    live.locator("#live-updates", has_text="Stable beams declared").wait_for(timeout=30000)
    texts = live.locator(".live-update-text").all_inner_texts()
    assert texts[0] == "Stable beams declared"
    live.screenshot(path=f"{SHOTS}/visit_live.png", full_page=True)


def test_the_itinerary_reads_on_a_phone_without_scrolling_sideways(live_server, browser):
    visit = VisitFactory(title="CERN TweetUp")
    place = LocationFactory(name="CERN Computing Centre, Building 513", address="Meyrin site")
    TourStopFactory(
        visit=visit,
        location=place,
        title="The Computing Centre: Tier-0 of the LHC grid",
        starts_at=at(visit, 10),
        ends_at=at(visit, 11, 30),
        guide="Computing Centre team",
        language="fr",
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(live_server.url + visit.get_absolute_url())
    table = page.locator("#stops")
    page.screenshot(path=f"{SHOTS}/visit_itinerary_phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    wrapper = "document.querySelector('#stops').parentElement"
    assert page.evaluate(f"{wrapper}.scrollWidth <= {wrapper}.clientWidth")
    row = table.locator("tbody tr").first
    assert row.is_visible()
    seen = row.inner_text()
    for text in ("10:00–11:30", "Tier-0", "Building 513", "Computing Centre team", "French"):
        assert text in seen
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390

    page.set_viewport_size({"width": 1280, "height": 900})
    headers = table.locator("thead th:visible").all_inner_texts()
    assert headers == ["When", "Stop", "Where", "Guide", "Language"]


def test_the_visit_admin_fits_a_laptop_and_names_the_time_zone_once(live_server, browser):
    tour_admin()
    visit = VisitFactory(title="CERN TweetUp", time_zone="Europe/Zurich")
    TourStopFactory(visit=visit, title="Computing Centre", notes="Closed shoes.")
    # A browser in another time zone than the visit's: the admin would warn under every field.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
    )
    page = context.new_page()
    log_in(page, live_server, "touradmin")
    page.goto(live_server.url + reverse("admin:visits_visit_change", args=[visit.pk]))
    page.screenshot(path=f"{SHOTS}/visit_admin_stops.png", full_page=True)
    assert page.title().startswith("CERN TweetUp | ")
    assert page.locator("#stops-time-zone").inner_text() == (
        "Stop times are in the visit's time zone (Europe/Zurich)."
    )
    assert page.locator(".timezonewarning:visible").count() == 0
    wrapper = "document.querySelector('#stops-group .wrapper')"
    assert page.evaluate(f"{wrapper}.scrollWidth <= {wrapper}.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    context.close()
