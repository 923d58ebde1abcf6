"""The demo that ``make run`` loads at every start: coherent, and the same however often it runs."""

import io
import re
from datetime import date, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from contests.models import Contest
from tweetup.demo import DESCRIPTION_BEFORE, visit_date_after
from tweetup.demo.visits import STOPS_UPCOMING
from tweetup.roles import ORGANIZERS
from visitors.models import VisitorProfile
from visits.models import LiveUpdate, Location, Question, TourStop, Visit

OPEN_SLUG = "cern-tweetup"
DRAWN_SLUG = "first-cern-tweetup-2012"
VISIT_2012_SLUG = "cern-tweetup-2012"
APPS = ("auth", "contests", "visits", "notifications")


@pytest.fixture
def demo(db) -> None:
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())


def demo_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for label in APPS
        for model in apps.get_app_config(label).get_models()
    }


def visit_url(slug: str) -> str:
    return reverse("visits:detail", kwargs={"slug": slug})


def test_the_open_contest_leads_to_its_own_upcoming_visit_after_it_closes(demo):
    contest = Contest.objects.select_related("visit").get(slug=OPEN_SLUG)
    visit = contest.visit
    assert contest.state == Contest.State.OPEN
    assert visit is not None and visit.slug != VISIT_2012_SLUG
    assert visit.time_zone == "Europe/Zurich"
    assert visit.date > timezone.localdate(timezone.now(), visit.tzinfo)
    # A few weeks after the closing: time for the draw, the answers and the alternates.
    assert visit.day_start >= contest.closes_at + timedelta(weeks=3)
    assert visit.date - timezone.localdate(contest.closes_at, visit.tzinfo) < timedelta(weeks=8)


def test_the_upcoming_visit_follows_the_2012_day_and_has_no_visitors_yet(demo, client):
    visit = Contest.objects.get(slug=OPEN_SLUG).visit
    titles = list(visit.stops.order_by("starts_at").values_list("title", flat=True))
    assert any("Computing Centre" in title for title in titles)
    assert any("Control Centre" in title for title in titles)
    assert titles[-1].startswith("Public talk")
    assert not VisitorProfile.objects.for_visit(visit).exists()
    assert not Question.objects.filter(stop__visit=visit).exists()
    assert not LiveUpdate.objects.filter(visit=visit).exists()
    # Its page says who will come and how, where the 2012 page shows the visitors.
    assert 'id="visitors-to-come"' in client.get(visit.get_absolute_url()).content.decode()
    page = client.get(visit_url(VISIT_2012_SLUG)).content.decode()
    assert 'id="visitors"' in page and 'id="visitors-to-come"' not in page


def test_the_drawn_contest_keeps_the_2012_visit_and_its_day(demo):
    visit = Contest.objects.get(slug=DRAWN_SLUG).visit
    assert visit.slug == VISIT_2012_SLUG
    assert visit.date == date(2012, 7, 25)
    assert VisitorProfile.objects.for_visit(visit).count() == 5
    assert Question.objects.filter(stop__visit=visit).exists()
    assert LiveUpdate.objects.filter(visit=visit).exists()


def test_each_contest_page_links_its_own_visit(demo, client):
    upcoming = Contest.objects.get(slug=OPEN_SLUG).visit
    page = client.get(reverse("contests:detail", kwargs={"slug": OPEN_SLUG})).content.decode()
    assert upcoming.get_absolute_url() in page
    assert visit_url(VISIT_2012_SLUG) not in page
    page = client.get(reverse("contests:detail", kwargs={"slug": DRAWN_SLUG})).content.decode()
    assert visit_url(VISIT_2012_SLUG) in page
    assert upcoming.get_absolute_url() not in page


def test_the_home_page_lists_the_upcoming_visit_before_the_2012_one(demo, client):
    upcoming = Contest.objects.get(slug=OPEN_SLUG).visit.get_absolute_url()
    page = client.get("/").content.decode()
    visits = re.search(r'id="home-visits">(.*?)</div>', page, re.S)
    assert visits is not None
    links = re.findall(r'href="([^"]+)"', visits[1])
    assert links == [upcoming, visit_url(VISIT_2012_SLUG)]
    for link in links:
        assert client.get(link).status_code == 200


def test_loaddemo_run_again_leaves_the_same_data(demo):
    counts = demo_counts()
    visits = list(Visit.objects.order_by("slug").values_list("slug", "date"))
    links = dict(Contest.objects.values_list("slug", "visit__slug"))
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    assert demo_counts() == counts
    assert list(Visit.objects.order_by("slug").values_list("slug", "date")) == visits
    assert dict(Contest.objects.values_list("slug", "visit__slug")) == links


def test_loaddemo_gives_an_earlier_demos_open_contest_a_visit_of_its_own(demo):
    """A database loaded when the open contest led to the 2012 visit is put right."""
    contest = Contest.objects.get(slug=OPEN_SLUG)
    upcoming = contest.visit
    Contest.objects.filter(pk=contest.pk).update(
        visit=Visit.objects.get(slug=VISIT_2012_SLUG), description=DESCRIPTION_BEFORE
    )
    upcoming.delete()
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    contest.refresh_from_db()
    assert contest.visit.slug == upcoming.slug
    assert contest.visit.stops.count() == len(STOPS_UPCOMING)
    assert "STS-134" not in contest.description


@pytest.mark.parametrize(
    ("closes_on", "visit_on"),
    [
        (date(2026, 3, 4), date(2026, 3, 25)),  # A Wednesday: three weeks later.
        (date(2026, 3, 5), date(2026, 4, 1)),  # The Wednesday after.
        (date(2026, 11, 25), date(2026, 12, 16)),  # Before CERN's end-of-year closure.
        (date(2026, 11, 26), date(2027, 1, 13)),  # 23 December is in it: after it.
        (date(2026, 12, 1), date(2027, 1, 13)),
        (date(2027, 1, 1), date(2027, 1, 27)),
    ],
)
def test_the_upcoming_visit_is_a_wednesday_weeks_after_the_closing_outside_cerns_closure(
    closes_on, visit_on
):
    zurich = Visit(time_zone="Europe/Zurich").tzinfo
    closes_at = datetime.combine(closes_on, datetime.min.time(), tzinfo=zurich) + timedelta(
        hours=23, minutes=59
    )
    assert visit_date_after(closes_at) == visit_on


def test_loaddemo_refuses_a_database_without_debug_and_creates_nobody(db, settings):
    """Its staff's password is published: with DEBUG off it asks for an explicit flag."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--yes-on-a-production-database") as refused:
        call_command("loaddemo", stdout=io.StringIO())
    assert "createorganizer" in str(refused.value)
    assert not User.objects.filter(username__in=["organizer", "touradmin"]).exists()
    assert not Contest.objects.exists()


def test_loaddemo_runs_under_debug_without_the_flag(db, settings):
    settings.DEBUG = True
    call_command("loaddemo", stdout=io.StringIO())
    assert User.objects.filter(username="organizer", groups__name=ORGANIZERS).exists()


def test_each_contests_rules_announce_the_places_it_draws(demo):
    """The rules entrants accept say how many are drawn: the contest must draw as many."""
    numbers = {"five": 5, "three": 3, "two": 2, "one": 1}
    for contest in Contest.objects.all():
        found = re.search(r"(\w+) winners and (\w+) alternates", contest.rules)
        assert found, contest.slug
        announced = (numbers[found[1].lower()], numbers[found[2].lower()])
        assert announced == (contest.winners_count, contest.alternates_count), contest.slug


def test_the_demo_reads_in_french_with_the_english_hashtag_where_none_was_written(demo, client):
    def read(path: str, language: str = "fr") -> str:
        response = client.get(path, headers={"accept-language": language})
        assert response.status_code == 200, path
        return response.content.decode()

    contest = read(reverse("contests:detail", kwargs={"slug": OPEN_SLUG}))
    assert "TweetUp du CERN : une journée dans les coulisses" in contest
    assert "Une participation par personne" in contest and "One entry per person" not in contest
    assert "#CERNTweetup" in contest
    day = read(visit_url(VISIT_2012_SLUG))
    assert "Accueil et badges" in day and "Welcome and badges" not in day
    # The places too: their names and addresses.
    assert "Centre de calcul du CERN, bâtiment 513" in day and "Site de Meyrin" in day
    assert "Building 513" not in day and "Meyrin site" not in day
    assert "Les faisceaux sont de retour" in read(visit_url(VISIT_2012_SLUG) + "live/")
    assert "Welcome and badges" in read(visit_url(VISIT_2012_SLUG), "en")


def test_a_demo_loaded_before_it_had_french_gets_it_on_the_next_run(demo, client):
    Contest.objects.update(title_fr=None, rules_fr="")
    Visit.objects.update(title_fr=None, meeting_point_fr=None)
    TourStop.objects.update(title_fr=None, notes_fr=None)
    LiveUpdate.objects.update(text_fr=None)
    Location.objects.update(name_fr=None, address_fr=None, description_fr=None)
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    contest = Contest.objects.get(slug=OPEN_SLUG)
    assert contest.title_fr == "TweetUp du CERN : une journée dans les coulisses"
    assert contest.rules_fr.startswith("1. Ouvert à toute personne")
    assert not Contest.objects.filter(title_fr__isnull=True).exists()
    assert not Visit.objects.filter(title_fr__isnull=True).exists()
    assert not TourStop.objects.filter(title_fr__isnull=True).exists()
    assert not LiveUpdate.objects.filter(text_fr__isnull=True).exists()
    assert not Location.objects.filter(name_fr__isnull=True).exists()
    assert Location.objects.filter(description_fr__startswith="Les serveurs").exists()
    assert (
        "Accueil et badges"
        in client.get(
            visit_url(VISIT_2012_SLUG), headers={"accept-language": "fr"}
        ).content.decode()
    )
