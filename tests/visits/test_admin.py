"""Tour admins schedule a visit and its stops in the admin, stops inline."""

from datetime import date

import pytest
from django.utils import translation

from tests.factories import staff_user
from tests.visits.factories import LocationFactory, QuestionFactory, TourStopFactory, at, visitor
from tweetup.roles import ORGANIZERS, TOUR_ADMINS
from visits.models import LiveUpdate, Question, StopChange, TourStop, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def tour_admin_client(client, db):
    client.force_login(staff_user("touradmin", TOUR_ADMINS))
    return client


def visit_post(visit_fields: dict, stops: list[dict], *, initial: int = 0) -> dict:
    data = {
        **visit_fields,
        "stops-TOTAL_FORMS": str(len(stops)),
        "stops-INITIAL_FORMS": str(initial),
        "stops-MIN_NUM_FORMS": "0",
        "stops-MAX_NUM_FORMS": "1000",
    }
    for index, stop in enumerate(stops):
        for name, value in stop.items():
            data[f"stops-{index}-{name}"] = value
    return data


def stop_fields(title, location, start, end, **extra) -> dict:
    return {
        "title_en": title,
        "location": str(location.pk),
        "starts_at_0": "2031-07-25",
        "starts_at_1": start,
        "ends_at_0": "2031-07-25",
        "ends_at_1": end,
        "guide_en": "",
        "language": "en",
        "capacity": "",
        "notes_en": "",
        **extra,
    }


VISIT = {
    "title_en": "TweetUp 2031",
    "slug": "tweetup-2031",
    "date": "2031-07-25",
    "time_zone": "Asia/Tokyo",
    "meeting_point_en": "Gate A",
    "practical_notes_en": "",
}


def test_the_list_of_visits_links_each_visits_pages(tour_admin_client, visit):
    page = tour_admin_client.get("/admin/visits/visit/").content.decode()
    for path in ("", "group/", "check-in/", "live/"):
        assert f'href="/visits/{visit.slug}/{path}"' in page


def test_tour_admin_schedules_a_visit_with_stops_in_its_time_zone(tour_admin_client):
    place = LocationFactory()
    response = tour_admin_client.post(
        "/admin/visits/visit/add/",
        visit_post(
            VISIT,
            [
                stop_fields("Computing Centre", place, "10:00", "11:00"),
                stop_fields("Control Centre", place, "11:00", "12:30"),
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    visit = Visit.objects.get(slug="tweetup-2031")
    stops = list(visit.stops.all())
    assert [s.title for s in stops] == ["Computing Centre", "Control Centre"]
    assert stops[0].starts_at == at(visit, 10)
    assert str(stops[0].starts_at.utcoffset()) == "0:00:00"  # stored in UTC
    assert stops[0].starts_at.astimezone(visit.tzinfo).hour == 10


def test_overlapping_stops_are_refused_by_name_and_nothing_is_saved(tour_admin_client):
    place = LocationFactory()
    response = tour_admin_client.post(
        "/admin/visits/visit/add/",
        visit_post(
            VISIT,
            [
                stop_fields("Computing Centre", place, "10:00", "11:00"),
                stop_fields("Control Centre", place, "10:30", "12:00"),
                stop_fields("Backwards", place, "15:00", "14:00"),
            ],
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "“Computing Centre” (10:00–11:00) and “Control Centre” (10:30–12:00) overlap." in page
    assert "“Backwards” ends (14:00) before it starts (15:00)." in page
    assert not Visit.objects.exists() and not TourStop.objects.exists()


def test_changing_a_visits_date_away_from_its_stops_is_refused(tour_admin_client):
    visit = Visit.objects.create(
        slug="v", title="V", date=date(2031, 7, 25), time_zone="Europe/Zurich", meeting_point="B33"
    )
    stop = TourStopFactory(visit=visit, title="Talk")
    response = tour_admin_client.post(
        f"/admin/visits/visit/{visit.pk}/change/",
        visit_post(
            {**VISIT, "slug": "v", "time_zone": "Europe/Zurich", "date": "2031-07-26"},
            [
                {
                    **stop_fields("Talk", stop.location, "10:00", "11:00"),
                    "id": str(stop.pk),
                    "visit": str(visit.pk),
                }
            ],
            initial=1,
        ),
    )
    assert response.status_code == 200
    assert "“Talk” is not within the day of the visit" in response.content.decode()
    visit.refresh_from_db()
    assert visit.date == date(2031, 7, 25)


def test_moving_a_stop_in_the_admin_records_the_change_for_the_visitors(tour_admin_client, visit):
    visitor(visit, confirmed=True)
    stop = TourStopFactory(visit=visit, title="Talk", starts_at=at(visit, 10))
    day = visit.date.isoformat()
    fields = {
        **stop_fields("Talk", stop.location, "14:00", "15:00"),
        "starts_at_0": day,
        "ends_at_0": day,
        "id": str(stop.pk),
        "visit": str(visit.pk),
    }
    response = tour_admin_client.post(
        f"/admin/visits/visit/{visit.pk}/change/",
        visit_post(
            {
                "title_en": visit.title,
                "slug": visit.slug,
                "date": day,
                "time_zone": visit.time_zone,
                "meeting_point_en": visit.meeting_point,
                "practical_notes_en": "",
            },
            [fields],
            initial=1,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = StopChange.objects.get()
    assert (change.old_starts_at, change.new_starts_at) == (at(visit, 10), at(visit, 14))


@pytest.mark.parametrize(
    ("date_typed", "message"),
    [("", "This field is required."), ("2031-02-30", "Enter a valid date.")],
)
def test_a_visit_without_a_valid_date_says_so_and_keeps_its_stops(
    tour_admin_client, date_typed, message
):
    place = LocationFactory()
    response = tour_admin_client.post(
        "/admin/visits/visit/add/",
        visit_post(
            {**VISIT, "date": date_typed},
            [stop_fields("Computing Centre", place, "10:00", "11:00")],
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="Computing Centre"' in page
    assert not Visit.objects.exists() and not TourStop.objects.exists()


def test_a_live_update_names_a_stop_of_its_own_visit(tour_admin_client, visit):
    other = TourStopFactory(title="Elsewhere")
    response = tour_admin_client.post(
        "/admin/visits/liveupdate/add/",
        {
            "visit": str(visit.pk),
            "stop": str(other.pk),
            "text_en": "Beams are back!",
            "posted_at_0": visit.date.isoformat(),
            "posted_at_1": "10:00",
        },
    )
    assert response.status_code == 200
    assert "“Elsewhere” is a stop of another visit" in response.content.decode()
    assert not LiveUpdate.objects.exists()


def test_the_live_update_form_names_each_stops_visit_and_time(tour_admin_client, visit):
    """Two visits may each have a "Computing Centre": the choice says which is which."""
    mine = TourStopFactory(visit=visit, title="Computing Centre", starts_at=at(visit, 14, 30))
    other = TourStopFactory(title="Computing Centre")
    page = tour_admin_client.get("/admin/visits/liveupdate/add/").content.decode()
    assert f'<option value="{mine.pk}">{visit.title} · 14:30 Computing Centre</option>' in page
    assert f"{other.visit.title} · " in page


def test_the_questions_stop_filter_names_each_stops_visit_and_keeps_to_the_chosen_one(
    tour_admin_client, visit
):
    mine = TourStopFactory(visit=visit, title="Computing Centre", starts_at=at(visit, 14, 30))
    TourStopFactory(visit=visit, title="Control Centre", starts_at=at(visit, 16))
    other = TourStopFactory(title="Computing Centre")
    page = tour_admin_client.get("/admin/visits/question/").content.decode()
    assert f"{visit.title} · 14:30 Computing Centre" in page
    assert f"{other.visit.title} · " in page
    page = tour_admin_client.get(
        f"/admin/visits/question/?stop__visit__id__exact={visit.pk}"
    ).content.decode()
    assert f"stop__id__exact={mine.pk}" in page and f"stop__id__exact={other.pk}" not in page


def test_a_live_update_is_written_in_a_box_per_language(tour_admin_client):
    page = tour_admin_client.get("/admin/visits/liveupdate/add/").content.decode()
    for language in ("en", "fr"):
        assert f'<textarea name="text_{language}"' in page, language
        assert f'<input type="text" name="text_{language}"' not in page, language


def test_the_guides_answer_is_recorded_only_for_an_approved_question(tour_admin_client):
    from tests.visits.factories import QuestionFactory
    from visits.models import Question

    pending = QuestionFactory(status=Question.Status.PENDING)
    response = tour_admin_client.post(
        f"/admin/visits/question/{pending.pk}/change/", {"answer": "Forty-two."}
    )
    assert response.status_code == 200
    assert "Approve the question before recording the guide" in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.answer) == (Question.Status.PENDING, "")

    approved = QuestionFactory(status=Question.Status.APPROVED)
    response = tour_admin_client.post(
        f"/admin/visits/question/{approved.pk}/change/", {"answer": "  About 1.9 K.  "}
    )
    assert response.status_code == 302
    approved.refresh_from_db()
    assert (approved.status, approved.answer) == (Question.Status.ANSWERED, "About 1.9 K.")
    assert approved.answered_at is not None

    response = tour_admin_client.post(
        f"/admin/visits/question/{approved.pk}/change/", {"answer": ""}
    )
    assert response.status_code == 200
    assert "An answer cannot be removed." in response.content.decode()
    approved.refresh_from_db()
    assert approved.answer == "About 1.9 K."


def test_the_visit_edit_page_keeps_its_title_and_names_the_time_zone_once(tour_admin_client):
    visit = Visit.objects.create(
        slug="v",
        title="CERN TweetUp",
        date=date(2031, 7, 25),
        time_zone="Asia/Tokyo",
        meeting_point="B33",
    )
    TourStopFactory(visit=visit, title="Talk")
    page = tour_admin_client.get(f"/admin/visits/visit/{visit.pk}/change/").content.decode()
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("CERN TweetUp | Change visit")
    assert "<h2>CERN TweetUp</h2>" in page
    assert page.count("Stop times are in the visit's time zone (Asia/Tokyo).") == 1
    add_page = tour_admin_client.get("/admin/visits/visit/add/").content.decode()
    assert add_page.split("<title>", 1)[1].startswith("Add visit |")
    assert add_page.count("Stop times are in the visit's time zone, chosen above.") == 1


@pytest.mark.parametrize(
    ("action", "status", "one", "two"),
    [
        ("approve", Question.Status.PENDING, "1 question approved.", "2 questions approved."),
        ("reject", Question.Status.PENDING, "1 question rejected.", "2 questions rejected."),
        (
            "mark_asked",
            Question.Status.APPROVED,
            "1 question marked as asked.",
            "2 questions marked as asked.",
        ),
    ],
)
def test_question_actions_count_with_the_right_plural(tour_admin_client, action, status, one, two):
    questions = [QuestionFactory(status=status) for _ in range(3)]

    def run(chosen) -> str:
        response = tour_admin_client.post(
            "/admin/visits/question/",
            {"action": action, "_selected_action": [str(q.pk) for q in chosen]},
            follow=True,
        )
        return response.content.decode()

    assert one in run(questions[:1])
    assert two in run(questions[1:])


def test_question_actions_count_in_french(tour_admin_client):
    questions = [QuestionFactory(status=Question.Status.PENDING) for _ in range(3)]

    def approve(chosen) -> str:
        # The override puts the test's language back once the French request is over.
        with translation.override("fr"):
            response = tour_admin_client.post(
                "/admin/visits/question/",
                {"action": "approve", "_selected_action": [str(q.pk) for q in chosen]},
                headers={"accept-language": "fr"},
                follow=True,
            )
        return response.content.decode()

    assert "1 question approuvée." in approve(questions[:1])
    assert "2 questions approuvées." in approve(questions[1:])


def test_no_staff_member_gets_the_visitors_signed_link(tour_admin_client, client, visit):
    """The signed link acts for the visitor only: staff edit the profile in the admin."""
    profile = visitor(visit)
    organizer = staff_user("organizer", ORGANIZERS)
    pages = [
        "/admin/visitors/visitorprofile/",
        f"/admin/visitors/visitorprofile/{profile.pk}/change/",
    ]
    for page in pages:
        response = tour_admin_client.get(page)
        assert response.status_code == 200
        assert "/visits/profile/" not in response.content.decode()
    client.force_login(organizer)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        assert "/visits/profile/" not in response.content.decode()
