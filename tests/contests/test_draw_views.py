"""The freeze and draw pages, draw.json, the results and live draw pages, the admin action."""

import io
import json
import re
from datetime import UTC, date
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from contests import draw_algorithm
from contests.models import Contest, Draw, Entry, Selection
from contests.services.draws import contest_freeze
from contests.tasks import run_draw_job
from tests.builders import drawn_contest
from tests.contests.drawing import add_entries, closed_contest, frozen_contest, organizer
from tests.factories import ContestFactory, VisitFactory, staff_user
from tweetup.models import Job
from tweetup.roles import PRESS_OFFICERS, TOUR_ADMINS

pytestmark = pytest.mark.django_db


def url(name: str, contest: Contest) -> str:
    return reverse(f"contests:{name}", kwargs={"slug": contest.slug})


# Who may freeze and draw ----------------------------------------------------


@pytest.mark.parametrize("page", ["freeze", "draw"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, page, method):
    contest = frozen_contest(5) if page == "draw" else closed_contest()
    response = getattr(client, method)(url(page, contest), {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    contest.refresh_from_db()
    assert not Draw.objects.exists()
    assert page == "draw" or contest.frozen_at is None


@pytest.mark.parametrize("page", ["freeze", "draw"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_outside_the_organizers_are_refused(client, page, method):
    contest = frozen_contest(5) if page == "draw" else closed_contest()
    tour_admin = User.objects.create_user("guide", is_staff=True)
    tour_admin.groups.add(Group.objects.get(name=TOUR_ADMINS))
    client.force_login(tour_admin)
    response = getattr(client, method)(url(page, contest), {"confirm": "on"})
    assert response.status_code == 403
    contest.refresh_from_db()
    assert not Draw.objects.exists()
    assert page == "draw" or contest.frozen_at is None


def test_staff_without_the_contest_permission_is_refused(client):
    contest = closed_contest()
    user = User.objects.create_user("almost", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contest"))
    client.force_login(user)
    assert client.post(url("freeze", contest), {"confirm": "on"}).status_code == 403
    assert contest.frozen_at is None


# Freeze page ---------------------------------------------------------------


def test_organizer_freezes_a_closed_contest(organizer_client, django_capture_on_commit_callbacks):
    contest = closed_contest()
    add_entries(contest, 4)
    page = organizer_client.get(url("freeze", contest))
    assert page.status_code == 200
    assert 'id="eligible-count">4<' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(url("freeze", contest), {"confirm": "on"})
    assert response.status_code == 302
    job = Job.objects.get(kind=Job.Kind.FREEZE, contest=contest)
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.requested_by.username == "orga"
    contest.refresh_from_db()
    assert contest.tickets_count == 4 and len(contest.tickets_digest) == 64
    detail = organizer_client.get(contest.get_absolute_url()).content.decode()
    assert contest.tickets_digest in detail


def test_freezing_says_how_many_tickets_are_in_the_draw_and_their_digest(
    organizer_client, django_capture_on_commit_callbacks
):
    contest = closed_contest()
    add_entries(contest, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(url("freeze", contest), {"confirm": "on"})
    page = organizer_client.get(response["Location"])
    contest.refresh_from_db()
    content = page.content.decode()
    assert (
        f"The contest is frozen: 3 tickets are in the draw, tickets digest "
        f"{contest.tickets_digest}." in content
    )
    assert '<progress id="job-progress" class="w-100" max="3" value="3">' in content
    assert url("draw", contest) in content


def test_a_second_press_on_freeze_shows_the_same_job(organizer_client):
    contest = closed_contest()
    add_entries(contest, 3)
    first = organizer_client.post(url("freeze", contest), {"confirm": "on"})
    second = organizer_client.post(url("freeze", contest), {"confirm": "on"})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Job.objects.filter(kind=Job.Kind.FREEZE).count() == 1
    # The freeze page says that the job is under way, and links it.
    page = organizer_client.get(url("freeze", contest)).content.decode()
    assert 'id="job-under-way"' in page and first["Location"] in page


def test_the_freeze_page_names_the_time_zone_of_the_freeze(organizer_client):
    contest = frozen_contest(3, time_zone="America/New_York")
    content = organizer_client.get(url("freeze", contest)).content.decode()
    assert "(America/New_York)." in content and "Frozen on " in content


@pytest.mark.parametrize("page", ["freeze", "draw"])
def test_freeze_and_draw_pages_warn_when_the_contest_leads_to_no_visit(organizer_client, page):
    contest = frozen_contest(3) if page == "draw" else closed_contest()
    content = organizer_client.get(url(page, contest)).content.decode()
    assert 'id="no-visit-warning"' in content
    assert "This contest leads to no visit yet." in content
    assert reverse("admin:contests_contest_change", args=[contest.pk]) + "#id_visit" in content


@pytest.mark.parametrize("page", ["freeze", "draw"])
def test_freeze_and_draw_pages_say_nothing_of_the_visit_when_there_is_one(organizer_client, page):
    visit = VisitFactory()
    contest = frozen_contest(3, visit=visit) if page == "draw" else closed_contest(visit=visit)
    assert 'id="no-visit-warning"' not in organizer_client.get(url(page, contest)).content.decode()


@pytest.mark.parametrize("page", ["freeze", "draw"])
def test_freeze_and_draw_pages_of_an_open_contest_say_when_it_closes(organizer_client, page):
    contest = ContestFactory(time_zone="America/New_York")
    content = organizer_client.get(url(page, contest)).content.decode()
    closes = date_format(
        localtime(contest.closes_at, ZoneInfo("America/New_York")), "DATETIME_FORMAT"
    )
    assert f"Entries close on {closes} (America/New_York)" in content
    # No link to a freeze that would only be refused.
    assert f'href="{url("freeze", contest)}"' not in content


def test_draw_page_offers_no_draw_the_service_would_refuse(organizer_client):
    contest = frozen_contest(0, visit=VisitFactory())
    content = organizer_client.get(url("draw", contest)).content.decode()
    assert 'id="draw-refused"' in content and "There is no ticket in the draw." in content
    assert 'id="draw-form"' not in content and "Draw the winners</button>" not in content


def test_draw_page_asks_before_drawing_a_contest_that_leads_to_no_visit(organizer_client):
    without = organizer_client.get(url("draw", frozen_contest(3))).content.decode()
    form = re.search(r'<form[^>]*id="draw-form"[^>]*>', without).group(0)
    assert "data-confirm=" in form and "leads to no visit" in form
    with_visit = organizer_client.get(url("draw", frozen_contest(3, visit=VisitFactory())))
    form = re.search(r'<form[^>]*id="draw-form"[^>]*>', with_visit.content.decode()).group(0)
    assert "data-confirm=" not in form


def test_freeze_page_of_a_drawn_contest_leads_to_its_results(organizer_client):
    contest, _draw = drawn_contest(entries=6, winners=1, alternates=1)
    content = organizer_client.get(url("freeze", contest)).content.decode()
    assert "Go to the draw" not in content and f'href="{url("draw", contest)}"' not in content
    assert f'href="{url("results", contest)}" id="freeze-next">See the results' in content
    # Invalidating is over once the tickets are frozen.
    assert "To invalidate an entry" not in content


def test_freeze_without_confirming_changes_nothing(organizer_client):
    contest = closed_contest()
    response = organizer_client.post(url("freeze", contest), {})
    assert response.status_code == 400
    contest.refresh_from_db()
    assert contest.frozen_at is None


def test_freezing_an_open_contest_answers_a_clear_error(organizer_client):
    contest = ContestFactory()
    response = organizer_client.post(url("freeze", contest), {"confirm": "on"})
    assert response.status_code == 400
    assert "Only a closed contest can be frozen" in response.content.decode()


def test_organizer_pages_of_an_unknown_contest_are_404(organizer_client):
    assert organizer_client.get("/contests/nope/freeze/").status_code == 404
    assert organizer_client.post("/contests/nope/draw/").status_code == 404


# Draw page -----------------------------------------------------------------


def test_draw_page_offers_the_contests_caps(organizer_client):
    contest = frozen_contest(5, max_winners_per_country=2)
    response = organizer_client.get(url("draw", contest))
    assert response.status_code == 200
    assert response.context["form"].initial["max_winners_per_country"] == 2
    assert contest.tickets_digest in response.content.decode()


def test_organizer_draws_with_entropy_and_caps(
    organizer_client, django_capture_on_commit_callbacks
):
    contest = frozen_contest(30, winners_count=3, alternates_count=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(
            url("draw", contest),
            {"external_entropy": "drand round 123456", "max_winners_per_country": "1"},
        )
    assert response.status_code == 302
    job = Job.objects.get(kind=Job.Kind.DRAW, contest=contest)
    assert response["Location"] == job.get_absolute_url()
    page = organizer_client.get(response["Location"]).content.decode()
    assert "The winners are drawn and their offers are sent." in page
    assert url("results", contest) in page
    draw = Draw.objects.get(contest=contest)
    assert draw.external_entropy == "drand round 123456"
    assert draw.caps == {"country": 1}
    assert draw.drawn_by.username == "orga"
    countries = Entry.objects.filter(ticket__in=draw.winners).values_list("country", flat=True)
    assert len(set(countries)) == 3


def test_pressing_draw_again_does_not_draw_again(
    organizer_client, django_capture_on_commit_callbacks
):
    contest = frozen_contest(10)
    first_press = organizer_client.post(url("draw", contest), {"external_entropy": "first"})
    # Pressed again before the job ran: the same job, which keeps its entropy.
    again = organizer_client.post(url("draw", contest), {"external_entropy": "again"})
    assert again["Location"] == first_press["Location"]
    job = Job.objects.get(kind=Job.Kind.DRAW)
    with django_capture_on_commit_callbacks(execute=True):
        run_draw_job.delay(job.pk)
    first = Draw.objects.get(contest=contest)
    response = organizer_client.post(url("draw", contest), {"external_entropy": "second"})
    assert response.status_code == 302
    assert response["Location"] == url("results", contest)
    assert Draw.objects.count() == 1
    assert Draw.objects.get().external_entropy == first.external_entropy == "first"
    assert Selection.objects.count() == contest.winners_count + contest.alternates_count


def test_drawing_before_the_freeze_answers_a_clear_error(organizer_client):
    contest = closed_contest()
    add_entries(contest, 5)
    response = organizer_client.post(url("draw", contest), {})
    assert response.status_code == 400
    assert "Freeze the contest before drawing" in response.content.decode()
    assert not Draw.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"max_winners_per_country": "0"},
        {"max_winners_per_background": "many"},
        {"external_entropy": "x" * 501},
        {"external_entropy": "nul\x00byte"},
    ],
)
def test_bad_draw_input_is_refused_without_drawing(organizer_client, data):
    contest = frozen_contest(5)
    response = organizer_client.post(url("draw", contest), data)
    assert response.status_code == 400
    assert not Draw.objects.exists()


# draw.json -----------------------------------------------------------------


def test_draw_json_is_404_before_the_draw(client):
    contest = frozen_contest(5)
    assert client.get(url("draw_json", contest)).status_code == 404
    assert client.get("/contests/nope/draw.json").status_code == 404


def test_draw_json_is_the_audit_record_streamed(client):
    contest, draw = drawn_contest(
        entries=40, winners=5, alternates=3, external_entropy="beacon", caps={"background": 2}
    )
    response = client.get(url("draw_json", contest))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    record = json.loads(b"".join(response.streaming_content))
    tickets = list(Entry.objects.in_draw(contest).values_list("ticket", flat=True))
    attributes = dict(Entry.objects.filter(contest=contest).values_list("ticket", "background"))
    assert record == draw_algorithm.build_audit_record(
        contest=contest.slug,
        seed=bytes(contest.seed),
        external_entropy="beacon",
        tickets=tickets,
        winners_count=contest.winners_count,
        alternates_count=contest.alternates_count,
        caps={"background": 2},
        attributes={t: {"background": b} for t, b in attributes.items()},
        drawn_at=draw.drawn_at.astimezone(UTC),
    )
    assert draw_algorithm.verify_audit_record(record) == []


def test_draw_json_of_an_unpublished_contest_is_404(client):
    contest, _draw = drawn_contest(entries=5, winners=5, alternates=3)
    Contest.objects.filter(pk=contest.pk).update(published=False)
    assert client.get(url("draw_json", contest)).status_code == 404


# Results page --------------------------------------------------------------


def test_results_show_winners_by_handle_or_first_name_only(client):
    contest, draw = drawn_contest(entries=12, winners=2, alternates=1)
    named, anonymous = Entry.objects.filter(ticket__in=draw.winners, contest=contest).order_by(
        "ticket"
    )
    Entry.objects.filter(pk=named.pk).update(
        publish_handle=True, twitter_handle="Lucy_M", name="Lucy McKenna"
    )
    Entry.objects.filter(pk=anonymous.pk).update(
        publish_handle=False,
        twitter_handle="secret_handle",
        name="Paolo Rossi",
        email="paolo@example.org",
    )
    response = client.get(url("results", contest))
    content = response.content.decode()
    assert response.status_code == 200
    assert "@Lucy_M" in content
    assert "Paolo" in content
    for private in ("Rossi", "secret_handle", "paolo@example.org", "McKenna"):
        assert private not in content
    for value in (contest.commitment, contest.tickets_digest, bytes(contest.seed).hex()):
        assert value in content
    assert url("draw_json", contest) in content
    assert "verify_draw" in content
    assert reverse("contests:verifier") in content


def test_results_say_a_place_was_passed_on_without_saying_why(client):
    contest, draw = drawn_contest(entries=12, winners=3, alternates=1)
    reasons = [Selection.Status.DECLINED, Selection.Status.EXPIRED, Selection.Status.DISQUALIFIED]
    for selection, status in zip(
        draw.selections.filter(kind=Selection.Kind.WINNER).order_by("position"),
        reasons,
        strict=True,
    ):
        Selection.objects.filter(pk=selection.pk).update(status=status)
    response = client.get(url("results", contest))
    content = response.content.decode()
    assert content.count("Place passed on") == 3
    for label in ("Declined", "Expired", "Disqualified"):
        assert label not in content
    assert "Waiting (alternate)" in content


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "none (no place answered yet)"),
        ("fr", "aucune (aucune place n'a encore reçu de réponse)"),
    ],
)
def test_results_say_plainly_that_no_place_is_answered_yet(client, language, expected):
    contest, _draw = drawn_contest(entries=6, winners=2, alternates=1)
    response = client.get(url("results", contest), HTTP_ACCEPT_LANGUAGE=language)
    answered = response.context["answers"]
    assert answered["answered"] == 0
    content = response.content.decode()
    cell = content[content.index('id="answered-by-staff"') :].split("</dd>")[0]
    assert expected in cell and "0" not in cell


@pytest.mark.parametrize("language", ["en", "fr"])
def test_results_say_alternates_were_not_called_once_the_visits_day_has_come(client, language):
    contest, draw = drawn_contest(entries=8, winners=1, alternates=2)
    waiting, not_called = (
        ("Waiting (alternate)", "Not called")
        if language == "en"
        else ("En attente (suppléance)", "Non appelée")
    )
    content = client.get(url("results", contest), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert waiting in content and not_called not in content

    # The visit took place years ago: the alternates were never called.
    contest.visit.date = date(2012, 7, 25)
    contest.visit.save()
    content = client.get(url("results", contest), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert waiting not in content
    alternates = content[content.index('id="alternates"') :]
    assert alternates.count(not_called) == 2
    # A label only: the places are as they were.
    assert set(
        draw.selections.filter(kind=Selection.Kind.ALTERNATE).values_list("status", flat=True)
    ) == {Selection.Status.WAITING}


def test_results_page_queries_stay_flat(client, django_assert_max_num_queries):
    contest, _draw = drawn_contest(entries=60, winners=5, alternates=5)
    with django_assert_max_num_queries(6):
        assert client.get(url("results", contest), {"ticket": "t0000001"}).status_code == 200


def test_results_before_the_freeze_are_404(client):
    assert client.get(url("results", closed_contest())).status_code == 404


def test_results_after_the_freeze_say_the_draw_is_coming(client):
    contest = frozen_contest(5)
    response = client.get(url("results", contest))
    assert response.status_code == 200
    assert 'id="not-drawn"' in response.content.decode()


def test_entrant_sees_their_ticket_in_the_draw(client):
    contest, draw = drawn_contest(entries=20, winners=5, alternates=3)
    not_chosen = (
        Entry.objects.in_draw(contest).exclude(ticket__in=[*draw.winners, *draw.alternates]).first()
    )
    response = client.get(url("results", contest), {"ticket": f"  {not_chosen.ticket.lower()} "})
    assert response.status_code == 200
    assert response.context["check"] == {
        "ticket": not_chosen.ticket,
        "in_draw": True,
        "kind": None,
        "position": None,
    }
    assert "is in the draw" in response.content.decode()


def test_winner_sees_their_rank(client):
    contest, draw = drawn_contest(entries=20, winners=5, alternates=3)
    response = client.get(url("results", contest), {"ticket": draw.winners[1]})
    assert response.context["check"]["kind"] == "winner"
    assert response.context["check"]["position"] == 2


def test_a_ticket_left_out_is_not_in_the_draw(client):
    contest = closed_contest()
    add_entries(contest, 5)
    late = add_entries(contest, 1, confirmed_at=contest.closes_at)[0]
    contest = contest_freeze(contest=contest, actor=None)
    response = client.get(url("results", contest), {"ticket": late.ticket})
    assert response.status_code == 200
    assert response.context["check"]["in_draw"] is False
    assert "is not in the draw" in response.content.decode()


def test_a_ticket_is_found_without_its_dash(client):
    contest = closed_contest()
    add_entries(contest, 1, ticket="K7F3-9QXD")
    contest = contest_freeze(contest=contest, actor=None)
    response = client.get(url("results", contest), {"ticket": "k7f3 9qxd"})
    assert response.context["check"]["in_draw"] is True


@pytest.mark.parametrize("ticket", ["", "   ", "x" * 41])
def test_bad_ticket_input_answers_400(client, ticket):
    contest = frozen_contest(3)
    response = client.get(url("results", contest), {"ticket": ticket})
    assert response.status_code == 400
    assert response.context["check"] is None


# Live draw page ------------------------------------------------------------


def test_live_page_reveals_winners_then_alternates(client):
    contest, draw = drawn_contest(entries=15, winners=3, alternates=2)
    response = client.get(url("live_draw", contest))
    content = response.content.decode()
    assert response.status_code == 200
    assert "live_draw.js" in content and "live-draw" in content
    assert content.count('data-kind="winner"') == 3
    assert content.count('data-kind="alternate"') == 2
    assert content.index(draw.winners[-1]) < content.index(draw.alternates[0])


def test_live_page_waits_for_the_draw_after_the_freeze(client):
    contest = frozen_contest(4)
    response = client.get(url("live_draw", contest))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'http-equiv="refresh"' in content and 'id="live-waiting"' in content


def test_live_page_before_the_freeze_is_ready_for_the_projector_and_refreshes(client):
    """The screen can be set up before the organizers freeze."""
    response = client.get(url("live_draw", closed_contest()))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'http-equiv="refresh"' in content
    assert "The tickets are not frozen yet." in content


# Admin ---------------------------------------------------------------------


def test_admin_action_invalidates_entries_with_a_reason(client):
    contest = closed_contest()
    entries = add_entries(contest, 3)
    user = organizer()
    client.force_login(user)
    changelist = reverse("admin:contests_entry_changelist")
    data = {"action": "invalidate", "_selected_action": [entries[0].pk, entries[1].pk]}

    page = client.post(changelist, data)
    assert page.status_code == 200
    assert 'id="invalidate-form"' in page.content.decode()
    assert not Entry.objects.filter(invalidated_at__isnull=False).exists()

    response = client.post(changelist, {**data, "apply": "1", "reason": "Duplicate person"})
    assert response.status_code == 302
    invalid = Entry.objects.filter(invalidated_at__isnull=False)
    assert set(invalid.values_list("pk", flat=True)) == {entries[0].pk, entries[1].pk}
    assert set(invalid.values_list("invalid_reason", "invalidated_by")) == {
        ("Duplicate person", user.pk)
    }


def test_admin_action_without_reason_invalidates_nothing(client):
    contest = closed_contest()
    entries = add_entries(contest, 1)
    client.force_login(organizer())
    response = client.post(
        reverse("admin:contests_entry_changelist"),
        {"action": "invalidate", "_selected_action": [entries[0].pk], "apply": "1", "reason": ""},
    )
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    assert not Entry.objects.filter(invalidated_at__isnull=False).exists()


def test_contest_admin_links_to_the_freeze_and_draw_pages(client):
    contest = frozen_contest(2)
    client.force_login(organizer())
    response = client.get(reverse("admin:contests_contest_change", args=[contest.pk]))
    assert url("draw", contest) in response.content.decode()


@pytest.mark.parametrize("role", [TOUR_ADMINS, PRESS_OFFICERS])
def test_contest_admin_offers_the_freeze_and_draw_pages_to_organizers_only(client, role):
    frozen = frozen_contest(2)
    drawn, _draw = drawn_contest(entries=6, winners=1, alternates=1)
    client.force_login(staff_user("reader", role))
    for contest in (closed_contest(), frozen, drawn):
        response = client.get(reverse("admin:contests_contest_change", args=[contest.pk]))
        assert response.status_code == 200
        content = response.content.decode()
        assert url("freeze", contest) not in content
        assert url("draw", contest) not in content
    # The public pages of a drawn contest stay linked.
    assert url("results", drawn) in content and url("live_draw", drawn) in content


def test_contest_admin_says_figer_for_the_freeze_in_french(client):
    contest = closed_contest()
    client.force_login(organizer())
    response = client.get(
        reverse("admin:contests_contest_change", args=[contest.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    content = response.content.decode()
    assert url("freeze", contest) in content
    assert "Figer…" in content and "Gel…" not in content


def _admin_form_data(response) -> dict:
    """The data a browser would post back from an admin change form, unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        # A file input posts nothing back unless a new file is chosen.
        if value is None or value is False or isinstance(value, FieldFile):
            continue
        data[name] = field.widget.format_value(value) if hasattr(value, "tzinfo") else value
    return data


def test_contest_admin_keeps_the_published_draw_fields_once_frozen(client):
    contest, _draw = drawn_contest(entries=12, winners=2, alternates=2)
    before = json.loads(b"".join(client.get(url("draw_json", contest)).streaming_content))
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    change = reverse("admin:contests_contest_change", args=[contest.pk])

    page = client.get(change)
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    for name in ("slug", "closes_at", "winners_count", "alternates_count"):
        assert name not in form_fields
    response = client.post(
        change,
        {
            **_admin_form_data(page),
            "slug": "renamed",
            "winners_count": "9",
            "alternates_count": "0",
            "max_winners_per_country": "1",
            "title_en": "A new title",
        },
    )
    assert response.status_code == 302
    contest.refresh_from_db()
    assert (contest.title, contest.slug, contest.winners_count) == (
        "A new title",
        before["contest"],
        2,
    )
    after = json.loads(b"".join(client.get(url("draw_json", contest)).streaming_content))
    assert after == before
    assert draw_algorithm.verify_audit_record(after) == []


def test_contest_admin_edits_the_draw_fields_before_the_freeze(client):
    contest = closed_contest(winners_count=2)
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    page = client.get(reverse("admin:contests_contest_change", args=[contest.pk]))
    assert "winners_count" in page.context["adminform"].form.fields


def test_entry_admin_keeps_capped_fields_and_tickets_of_a_frozen_contest(client):
    contest, _draw = drawn_contest(entries=6, winners=5, alternates=3, caps={"country": 1})
    record = json.loads(b"".join(client.get(url("draw_json", contest)).streaming_content))
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    entry = Entry.objects.filter(contest=contest).first()
    change = reverse("admin:contests_entry_change", args=[entry.pk])

    page = client.get(change)
    assert {"country", "background"}.isdisjoint(page.context["adminform"].form.fields)
    response = client.post(change, {**_admin_form_data(page), "country": "JP", "name": "New Name"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.name, entry.country) == (
        "New Name",
        record["attributes"][entry.ticket]["country"],
    )

    assert client.post(reverse("admin:contests_entry_delete", args=[entry.pk])).status_code == 403
    changelist = reverse("admin:contests_entry_changelist")
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "Cannot delete" in response.content.decode()
    assert Entry.objects.filter(pk=entry.pk).exists()
    after = json.loads(b"".join(client.get(url("draw_json", contest)).streaming_content))
    assert after == record


def test_entry_admin_deletes_entries_before_the_freeze(client):
    contest = closed_contest()
    entry = add_entries(contest, 1)[0]
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    response = client.post(
        reverse("admin:contests_entry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Entry.objects.filter(pk=entry.pk).exists()


# The demo ------------------------------------------------------------------


def test_demo_has_a_past_contest_frozen_and_drawn(client):
    from tweetup.demo.draw import SLUG

    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    contest = Contest.objects.get(slug=SLUG)
    assert contest.state == Contest.State.DRAWN
    assert Draw.objects.filter(contest=contest).count() == 1
    assert Entry.objects.filter(contest=contest, invalidated_at__isnull=False).count() == 2
    statuses = set(Selection.objects.filter(draw__contest=contest).values_list("status", flat=True))
    assert {"accepted", "declined", "expired", "waiting"} <= statuses
    assert not Selection.objects.filter(draw__contest=contest, status="pending").exists()

    assert url("results", contest) in client.get("/").content.decode()
    assert client.get(url("results", contest)).status_code == 200
    assert client.get(url("live_draw", contest)).status_code == 200
    response = client.get(url("draw_json", contest))
    record = json.loads(b"".join(response.streaming_content))
    assert draw_algorithm.verify_audit_record(record) == []
    assert record["caps"] == {"country": 2}


def test_not_even_a_superuser_may_delete_a_frozen_contest(client):
    frozen, open_contest = frozen_contest(3), ContestFactory()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    page = client.get(reverse("admin:contests_contest_change", args=[frozen.pk])).content.decode()
    assert reverse("admin:contests_contest_delete", args=[frozen.pk]) not in page
    assert (
        client.post(
            reverse("admin:contests_contest_delete", args=[frozen.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Contest.objects.filter(pk=frozen.pk).exists()
    # A contest not frozen yet may still go.
    response = client.post(
        reverse("admin:contests_contest_delete", args=[open_contest.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Contest.objects.filter(pk=open_contest.pk).exists()
