"""The freeze and the draw in a real browser: organizers only, winners shown, live reveal."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from contests.models import Draw
from tests.browser import SHOTS, log_in
from tests.builders import drawn_contest
from tests.contests.drawing import add_entries, closed_contest, frozen_contest, organizer
from tests.factories import VisitFactory
from tweetup.roles import TOUR_ADMINS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_organizer_freezes_draws_and_sees_the_winners(live_server, browser):
    contest = closed_contest(winners_count=3, alternates_count=2)
    add_entries(contest, 25)
    organizer()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server, "orga")

    page.goto(live_server.url + reverse("contests:freeze", kwargs={"slug": contest.slug}))
    assert page.inner_text("#eligible-count") == "25"
    page.check("#id_confirm")
    page.click("#freeze-form [type=submit]")
    # The freeze is a background job (run at once by the tests' eager worker): its page
    # shows the outcome and leads to the draw.
    page.wait_for_url("**/jobs/*/")
    assert "The contest is frozen: 25 tickets are in the draw" in page.inner_text("#job-outcome")
    page.click("text=Go to the draw")
    page.wait_for_url(f"**/contests/{contest.slug}/draw/")
    digest = page.inner_text("#tickets-digest")
    assert len(digest) == 64
    page.screenshot(path=f"{SHOTS}/draw_organizer.png", full_page=True)

    page.fill("#id_external_entropy", "drand round 4242")
    # The contest leads to no visit: the draw asks first, and the organizer goes on.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("#draw-form [type=submit]")
    page.wait_for_url("**/jobs/*/")
    assert "The winners are drawn" in page.inner_text("#job-outcome")
    assert len(questions) == 1 and "leads to no visit" in questions[0]
    page.click("text=See the results")
    page.wait_for_url(f"**/contests/{contest.slug}/results/")
    draw = Draw.objects.get(contest=contest)
    names = page.locator("#winners .winner-name").all_inner_texts()
    assert len(names) == 3 and all(names)
    for ticket in draw.winners:
        assert ticket in page.inner_text("#winners")
    assert page.inner_text("#external-entropy") == "drand round 4242"
    assert page.inner_text("#tickets-digest") == digest
    page.screenshot(path=f"{SHOTS}/draw_results_after_draw.png", full_page=True)

    # Pressing "draw" again from a stale page does not draw again.
    page.goto(live_server.url + reverse("contests:draw", kwargs={"slug": contest.slug}))
    assert "already been drawn" in page.inner_text("main")
    assert Draw.objects.count() == 1


def test_the_draw_button_wraps_within_its_card_on_a_french_phone(live_server, browser):
    contest = frozen_contest(5, visit=VisitFactory())
    organizer()
    page = browser.new_page(viewport={"width": 360, "height": 800})
    log_in(page, live_server, "orga")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto(live_server.url + reverse("contests:draw", kwargs={"slug": contest.slug}))
    button = page.get_by_role("button", name="Tirer au sort les personnes gagnantes")
    page.screenshot(path=f"{SHOTS}/draw_button_fr_360.png", full_page=True)
    box = button.bounding_box()
    card = page.locator("#draw-form").bounding_box()
    assert box is not None and card is not None
    assert box["x"] + box["width"] <= card["x"] + card["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_outsiders_are_refused_every_organizer_page(live_server, browser):
    contest = closed_contest()
    add_entries(contest, 3)
    guide = User.objects.create_user("guide", password="pw", is_staff=True)
    guide.groups.add(Group.objects.get_or_create(name=TOUR_ADMINS)[0])
    pages = [
        reverse(f"contests:{name}", kwargs={"slug": contest.slug})
        # The exports are presses (POST): tests/test_site_robustness.py refuses them.
        for name in ("freeze", "draw", "dashboard")
    ]
    anonymous = browser.new_page()
    for path in pages:
        anonymous.goto(live_server.url + path)
        assert "/admin/login/" in anonymous.url
        assert anonymous.locator("#id_password").count() == 1

    page = browser.new_page()
    log_in(page, live_server, "guide")
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == 403
        assert page.locator("#freeze-form, #draw-form, #entry-counts").count() == 0
    contest.refresh_from_db()
    assert contest.frozen_at is None
    assert not Draw.objects.exists()


def test_live_draw_reveals_winners_one_by_one(live_server, browser):
    contest, draw = drawn_contest(entries=12, winners=3, alternates=1)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("contests:live_draw", kwargs={"slug": contest.slug}))
    items = page.locator("[data-reveal]")
    assert items.count() == 4
    assert page.locator("[data-reveal].concealed").count() == 4
    assert not page.locator("#live-alternates").is_visible()

    page.keyboard.press("Space")
    assert page.locator("[data-reveal].concealed").count() == 3
    assert draw.winners[0] in items.nth(0).inner_text()
    page.click("#reveal-next")
    page.click("#reveal-next")
    assert page.locator("[data-reveal].concealed").count() == 1
    page.screenshot(path=f"{SHOTS}/draw_live.png", full_page=True)
    page.keyboard.press("ArrowRight")
    assert page.locator("#live-alternates").is_visible()
    assert draw.alternates[0] in items.nth(3).inner_text()
    assert page.locator("#reveal-next").is_disabled()


def test_a_job_page_follows_its_job_to_the_end_by_itself(live_server, browser):
    """The page polls the job's status (static script, under the site's CSP) and shows the end."""
    from django.utils import timezone

    from tweetup.models import Job

    contest = closed_contest()
    organizer()
    job = Job.objects.create(
        kind=Job.Kind.EXPORT_ENTRIES,
        task="contests.tasks.run_export_job",
        contest=contest,
        requested_at=timezone.now(),
        state=Job.State.RUNNING,
        started_at=timezone.now(),
        rows_done=10,
        rows_total=40,
    )
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    log_in(page, live_server, "orga")
    page.goto(live_server.url + job.get_absolute_url())
    assert page.get_attribute("#job-progress", "value") == "10"
    Job.objects.filter(pk=job.pk).update(rows_done=30)
    page.wait_for_selector("#job-rows:has-text('30 of 40 rows')")
    assert page.locator("#job-progress").evaluate("bar => bar.value") == 30
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.FAILED, outcome="The disk is full.", finished_at=timezone.now()
    )
    page.wait_for_selector("text=This job failed.")
    assert "The disk is full." in page.inner_text("#job-outcome")
    assert errors == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_results_keep_each_handle_whole_on_a_phone(live_server, browser, language):
    """Found in the walk-through: "@Marek/Nowak14/7" broke inside the handle at 360 px."""
    people = [
        {"twitter_handle": handle, "publish_handle": True}
        for handle in ("MarekNowak147", "ChloeCosta9712", "AnaFernandez60", "IngridHaddad28")
    ]
    contest, _draw = drawn_contest(winners=people[:2], alternates=people[2:])
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(live_server.url + reverse("contests:results", kwargs={"slug": contest.slug}))
    page.screenshot(path=f"{SHOTS}/results_handles_{language}_360.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    names = page.locator(".results-table .public-name")
    assert names.count() == 4
    for index in range(4):
        name = names.nth(index)
        assert name.inner_text().startswith("@")
        box = name.bounding_box()
        line = page.evaluate(
            "(el) => parseFloat(getComputedStyle(el).lineHeight)", name.element_handle()
        )
        assert box is not None and box["height"] < 1.5 * line, name.inner_text()
        assert box["x"] + box["width"] <= 360
    # The ticket and the place are under the name, in view.
    row = page.locator("#winners tbody tr").first
    name = row.locator(".public-name").bounding_box()
    for part in ("td.font-monospace", ".badge"):
        box = row.locator(part).bounding_box()
        assert box is not None and name is not None, part
        assert box["y"] >= name["y"] + name["height"] - 1, part
        assert box["x"] + box["width"] <= 360, part
