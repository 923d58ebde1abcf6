"""The back office as staff read it: history, read-only pages, the log's words, the 403 page.

History leads to the site's own staff actions; a page where nothing can be
changed offers no reason box and no Save button; the log shows choices by
their labels, times in the site's time zone and format, objects by their
names; French pages have French labels; a colleague refused a page is told
which groups may open it and how to go on.
"""

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from contests.services.selections import selection_disqualify
from notifications.models import OutboxMessage
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import closed_contest, organizer
from tests.factories import VisitFactory, staff_user
from tests.visits.factories import on_the_day, visitor
from tweetup.audit import Verb, log_action
from tweetup.models import AuditEntry
from tweetup.roles import PRESS_OFFICERS, TOUR_ADMINS
from visitors.services.check_in import visitor_check_in

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    """The page's text, tags dropped and spaces squeezed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def in_french(client) -> None:
    client.cookies["django_language"] = "fr"


# History -------------------------------------------------------------------------


def test_a_contests_history_leads_to_its_staff_actions(client):
    contest = closed_contest()
    other = closed_contest(slug="other-contest")
    log_action(actor=None, action=Verb.CONTEST_FREEZE, target=contest, reason="Closed on time")
    log_action(actor=None, action=Verb.CONTEST_FREEZE, target=other, reason="Another one")
    client.force_login(organizer())
    response = client.get(reverse("admin:contests_contest_history", args=[contest.pk]), follow=True)
    page = text_of(response)
    assert response.redirect_chain, "History still shows Django's own, empty, history"
    assert response.status_code == 200
    assert "Closed on time" in page and "Another one" not in page
    assert "It probably wasn't added via this admin site" not in page


def test_an_objects_history_lists_the_staff_actions_on_that_object_only(client):
    _contest, draw = drawn_contest(winners=2, alternates=1)
    first, second = winner(draw, 1), winner(draw, 2)
    user = organizer()
    selection_disqualify(selection=first, actor=user, reason="Fake account")
    selection_disqualify(selection=second, actor=user, reason="Entered twice")
    client.force_login(user)
    response = client.get(reverse("admin:contests_selection_history", args=[first.pk]), follow=True)
    page = text_of(response)
    assert response.status_code == 200 and response.redirect_chain
    assert "Fake account" in page and "Entered twice" not in page


def test_a_staff_action_has_no_history_button(client):
    entry = log_action(actor=None, action=Verb.CONTEST_FREEZE, target=closed_contest())
    client.force_login(organizer())
    page = client.get(reverse("admin:tweetup_auditentry_change", args=[entry.pk]))
    assert reverse("admin:tweetup_auditentry_history", args=[entry.pk]) not in page.content.decode()


# Pages where nothing can be changed ----------------------------------------------------


def test_a_place_whose_every_field_is_read_only_has_no_reason_box_nor_save_button(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    client.force_login(organizer())
    page = client.get(reverse("admin:contests_selection_change", args=[winner(draw).pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Reason for this change" not in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html


def test_an_outbox_message_shows_no_save_button(client):
    contest, draw = drawn_contest(winners=1, alternates=0)
    message = OutboxMessage.objects.filter(contest=contest).first()
    assert message is not None
    client.force_login(organizer())
    page = client.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html and 'name="_continue"' not in html


def test_a_page_with_fields_to_change_still_asks_the_reason_and_saves(client):
    contest = closed_contest()
    client.force_login(organizer())
    html = client.get(reverse("admin:contests_contest_change", args=[contest.pk])).content.decode()
    assert "Reason for this change" in html and 'name="_save"' in html


# The log's words -------------------------------------------------------------------


def test_a_promotion_in_the_log_shows_the_status_labels_and_a_local_deadline(client):
    _contest, draw = drawn_contest(winners=1, alternates=1)
    user = organizer()
    selection_disqualify(selection=winner(draw), actor=user, reason="Fake account")
    promoted = AuditEntry.objects.get(verb=Verb.SELECTION_PROMOTE)
    deadline = alternate(draw).deadline
    client.force_login(user)
    page = text_of(client.get(reverse("admin:tweetup_auditentry_change", args=[promoted.pk])))
    assert "Waiting (alternate)" in page and "Pending answer" in page
    assert "waiting" not in page.replace("Waiting (alternate)", "")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page), "an ISO time in the facts"
    local = timezone.localtime(deadline)
    assert f"{local:%H:%M}" in page and f"{local.day} {local:%B %Y}" in page


def test_the_places_events_are_headed_by_their_label_and_local_time(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    place = winner(draw)
    event = place.events.order_by("at").first()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    page = text_of(client.get(reverse("admin:contests_selection_change", args=[place.pk])))
    local = timezone.localtime(event.at)
    assert f"{event.action_label} · {local.day} {local:%b %Y, %H:%M}" in page
    assert f"{event.action} · {event.at:%Y-%m-%d}" not in page


def test_an_outbox_message_is_titled_by_its_kind_and_names_the_person_it_concerns(client):
    contest, draw = drawn_contest(winners=1, alternates=0)
    entry = winner(draw).entry
    message = OutboxMessage.objects.get(contest=contest, concerns=f"contests.entry:{entry.pk}")
    client.force_login(organizer())
    page = client.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk]))
    text = text_of(page)
    assert f"{message.get_kind_display()} → {message.to_email}" in text
    assert f"{message.kind} →" not in text
    assert message.concerns not in text
    assert reverse("admin:contests_entry_change", args=[entry.pk]) in page.content.decode()


def test_a_check_in_names_the_visitor_in_the_log_while_the_profile_exists(client):
    visit = VisitFactory()
    profile = visitor(visit, name="Ravi Kumar")
    on_the_day(visit)
    user = staff_user("touradmin", TOUR_ADMINS)
    visitor_check_in(profile=profile, actor=user)
    client.force_login(user)
    listed = text_of(client.get(reverse("admin:tweetup_auditentry_changelist")))
    assert str(profile) in listed and f"#{profile.pk}" not in listed
    group = text_of(client.get(reverse("visitors:group", kwargs={"slug": visit.slug})))
    assert f"#{profile.pk}" not in group


# French labels ---------------------------------------------------------------------------


def test_the_french_admin_names_the_commitment_the_log_time_and_the_filters_in_french(client):
    contest = closed_contest()
    log_action(actor=None, action=Verb.CONTEST_FREEZE, target=contest)
    client.force_login(organizer())
    in_french(client)
    contest_page = text_of(client.get(reverse("admin:contests_contest_change", args=[contest.pk])))
    assert "Engagement (empreinte)" in contest_page and "Commitment" not in contest_page
    log = text_of(client.get(reverse("admin:tweetup_auditentry_changelist")))
    assert "timestamp" not in log.lower() and "Date et heure" in log
    entries = text_of(client.get(reverse("admin:contests_entry_changelist")))
    assert "Par dans le tirage" not in entries and "Par confirmées" not in entries
    assert "Par présence dans le tirage au sort" in entries


# The 403 page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "group", "needed"),
    [
        ("en", TOUR_ADMINS, "This page is for the staff of this group: Organizers."),
        ("fr", PRESS_OFFICERS, "Cette page est réservée au groupe Organisation."),
    ],
)
def test_a_colleague_refused_a_page_is_told_which_group_may_and_how_to_go_on(
    client, language, group, needed
):
    contest = closed_contest()
    client.force_login(staff_user("colleague", group))
    if language == "fr":
        in_french(client)
    response = client.get(reverse("contests:dashboard", kwargs={"slug": contest.slug}))
    html, text = response.content.decode(), text_of(response)
    assert response.status_code == 403
    assert needed in text and "colleague" in text
    assert "Log in with an account that has it" not in text
    assert f'action="{reverse("admin:logout")}"' in html
    assert f'href="{reverse("admin:index")}"' in html


def test_a_stranger_is_still_sent_to_the_login_page(client):
    contest = closed_contest()
    response = client.get(reverse("contests:dashboard", kwargs={"slug": contest.slug}))
    assert response.status_code == 302 and "login" in response["Location"]
