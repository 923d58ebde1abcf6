"""Every staff action is on the record: one audit log, written through ``log_action``.

Freeze, draw, invalidation, disqualification, promotion, offers, notices,
messages to visitors, question moderation, check-in and every admin change
to contests, entries, places, stops and profiles leave an entry with who,
when, what changed and why. Organizers and tour admins read it on their pages
and in the admin, where nobody can add, change or delete an entry.
"""

import importlib
import json
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone, translation

from contests.models import Contest, Selection, SelectionEvent
from contests.services.draws import contest_freeze, draw_run, entry_invalidate
from contests.services.notices import contest_notify_not_chosen
from contests.services.selection_mail import selection_notify
from contests.services.selections import selection_decline, selection_disqualify
from notifications.models import OutboxMessage
from notifications.services.outbox import messages_resend
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import add_entries, closed_contest, frozen_contest, organizer
from tests.contests.test_draw_views import _admin_form_data
from tests.factories import EntryFactory, VisitFactory, contest_admin_post, staff_user
from tests.visits.factories import QuestionFactory, TourStopFactory, at, on_the_day, visitor
from tweetup.audit import HIDDEN_VALUE, Verb, log_action
from tweetup.models import AuditEntry
from tweetup.roles import TOUR_ADMINS
from visitors.services.check_in import visitor_check_in
from visitors.services.messages import visit_message_job_start, visit_message_send
from visitors.services.places import place_accept
from visits.models import Question
from visits.services.questions import question_answer, question_moderate

pytestmark = pytest.mark.django_db


def tour_admin() -> User:
    return staff_user("touradmin", TOUR_ADMINS)


def only(verb: str) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(verb=verb))
    assert len(entries) == 1, [str(e) for e in AuditEntry.objects.all()]
    return entries[0]


# The entry point -------------------------------------------------------------


def test_log_action_keeps_who_when_what_and_why():
    contest = closed_contest()
    user = organizer()
    at = timezone.now() - timedelta(minutes=3)
    entry = log_action(
        actor=user,
        action=Verb.CONTEST_FREEZE,
        target=contest,
        data={"tickets_count": 3, "when": at},
        changes={"frozen_at": [None, at]},
        reason="  Closed on time.  ",
        at=at,
    )
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_email, entry.timestamp) == (user, user.email, at)
    assert (entry.verb, entry.reason, entry.contest_id) == (
        "contest_freeze",
        "Closed on time.",
        contest.pk,
    )
    assert entry.content_type.model_class() is type(contest) and entry.object_id == contest.pk
    assert entry.object_repr == contest.title
    assert entry.additional_data["tickets_count"] == 3
    assert entry.additional_data["when"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert entry.changes == {"frozen_at": [None, entry.changes["frozen_at"][1]]}


def test_log_action_refuses_an_action_it_does_not_know():
    with pytest.raises(ValueError):
        log_action(actor=None, action="steer_the_draw", target=closed_contest())


def test_the_site_acting_by_itself_has_no_actor():
    entry = log_action(actor=None, action=Verb.DRAW, target=closed_contest())
    assert entry.actor is None


# Staff actions in the services -------------------------------------------------


def test_freeze_draw_and_invalidation_are_on_the_record():
    contest = closed_contest(winners_count=2, alternates_count=1)
    entries = add_entries(contest, 6)
    user = organizer()
    entry_invalidate(entry=entries[0], actor=user, reason="Same person twice.")
    contest_freeze(contest=contest, actor=user)
    draw_run(contest=contest, actor=user, external_entropy="beacon 42", notify=False)

    invalid = only(Verb.ENTRY_INVALIDATE)
    assert (invalid.actor, invalid.reason, invalid.contest_id) == (
        user,
        "Same person twice.",
        contest.pk,
    )
    # The log names the entry by its public ticket, never by its entrant.
    assert invalid.object_repr == entries[0].ticket
    freeze = only(Verb.CONTEST_FREEZE)
    contest.refresh_from_db()
    assert freeze.additional_data == {
        "tickets_count": 5,
        "tickets_digest": contest.tickets_digest,
    }
    draw = only(Verb.DRAW)
    assert draw.actor == user and draw.contest_id == contest.pk
    assert draw.additional_data["external_entropy"] == "beacon 42"
    assert len(draw.additional_data["winners"]) == 2


def test_disqualification_and_the_promotion_it_causes_are_on_the_record():
    contest, draw = drawn_contest(winners=1, alternates=1)
    user = organizer()
    selection_disqualify(selection=winner(draw), actor=user, reason="Fake account")
    disqualified = only(Verb.SELECTION_DISQUALIFY)
    assert (disqualified.actor, disqualified.reason) == (user, "Fake account")
    assert disqualified.changes == {"status": ["pending", "disqualified"]}
    assert disqualified.contest_id == contest.pk
    promoted = only(Verb.SELECTION_PROMOTE)
    assert promoted.actor == user and promoted.contest_id == contest.pk
    assert promoted.changes == {"status": ["waiting", "pending"]}


def test_a_promotion_after_a_winner_declined_is_the_sites_own():
    _contest, draw = drawn_contest(winners=1, alternates=1)
    selection_decline(selection=winner(draw))
    assert only(Verb.SELECTION_PROMOTE).actor is None
    assert not AuditEntry.objects.filter(verb=Verb.SELECTION_DISQUALIFY).exists()


def test_offers_and_notices_asked_by_an_organizer_are_on_the_record(client):
    contest, draw = drawn_contest(winners=1, alternates=0)
    user = organizer()
    client.force_login(user)
    client.post(reverse("contests:offers_send", args=[contest.slug]))
    assert only(Verb.OFFERS_SEND).actor == user
    selection_decline(selection=winner(draw))
    contest_notify_not_chosen(contest=contest, actor=user)
    assert only(Verb.NOT_CHOSEN_NOTIFY).contest_id == contest.pk


def test_message_moderation_answer_and_check_in_are_on_the_visits_record():
    visit = VisitFactory()
    profile = visitor(visit)
    user = tour_admin()
    visit_message_send(
        visit=visit, audience="all", subject_en="Jackets", body_en="Bring one.", actor=user
    )
    question = QuestionFactory(stop=TourStopFactory(visit=visit), status=Question.Status.PENDING)
    question_moderate(question=question, action="approve", actor=user)
    question_answer(question=question, answer="About 1.9 K.", actor=user)
    on_the_day(visit)
    visitor_check_in(profile=profile, actor=user)
    visitor_check_in(profile=profile, actor=user)  # once is enough
    visitor_check_in(profile=profile, actor=user, undo=True)

    for verb in (
        Verb.VISIT_MESSAGE,
        Verb.QUESTION_MODERATE,
        Verb.QUESTION_ANSWER,
        Verb.CHECK_IN,
        Verb.CHECK_IN_UNDO,
    ):
        entry = only(verb)
        assert (entry.actor, entry.visit_id) == (user, visit.pk), verb
    assert only(Verb.VISIT_MESSAGE).additional_data["recipients"] == 1
    assert only(Verb.QUESTION_MODERATE).changes == {"status": ["pending", "approved"]}
    assert only(Verb.CHECK_IN).contest_id == profile.selection.draw.contest_id
    assert only(Verb.CHECK_IN).object_repr == f"#{profile.pk}"


# Changes made in the admin -----------------------------------------------------


def test_a_contest_changed_in_the_admin_is_on_the_record_with_its_reason(client):
    contest = frozen_contest(2, title="Old title")
    client.force_login(organizer())
    change = reverse("admin:contests_contest_change", args=[contest.pk])
    page = client.get(change)
    assert "Reason for this change" in page.content.decode()
    response = client.post(
        change,
        {**_admin_form_data(page), "title_en": "New title", "audit_reason": "Typo in the name."},
    )
    assert response.status_code == 302
    entry = only(Verb.ADMIN_CHANGE)
    assert entry.actor.username == "orga" and entry.reason == "Typo in the name."
    assert entry.changes == {"title_en": ["Old title", "New title"]}
    assert entry.contest_id == contest.pk


def test_a_contest_added_in_the_admin_keeps_its_seed_out_of_the_log(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    response = client.post(
        reverse("admin:contests_contest_add"),
        contest_admin_post(
            title_en="New", slug="new", hashtag_en="New", description_en="d", rules_en="r"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only(Verb.ADMIN_ADD)
    assert entry.changes["seed"] == [HIDDEN_VALUE, HIDDEN_VALUE]
    assert entry.changes["title_en"] == [None, "New"]


def test_an_entry_changed_in_the_admin_is_logged_without_its_personal_data(client):
    entry = EntryFactory(name="Ada Lovelace", country="GB")
    client.force_login(organizer())
    change = reverse("admin:contests_entry_change", args=[entry.pk])
    page = client.get(change)
    response = client.post(change, {**_admin_form_data(page), "name": "Mallory", "country": "FR"})
    assert response.status_code == 302
    logged = only(Verb.ADMIN_CHANGE)
    assert logged.changes == {"name": [HIDDEN_VALUE, HIDDEN_VALUE], "country": ["GB", "FR"]}
    assert "Ada" not in str(logged.changes) and "Mallory" not in str(logged.changes)
    assert logged.object_repr == entry.ticket


def test_a_visitors_emergency_contact_changed_by_staff_is_on_the_record(client):
    profile = visitor(VisitFactory())
    client.force_login(tour_admin())
    change = reverse("admin:visitors_visitorprofile_change", args=[profile.pk])
    page = client.get(change)
    data = {**_admin_form_data(page), "emergency_contact_name": "Mallory"}
    response = client.post(change, {**data, "audit_reason": "The visitor phoned."})
    assert response.status_code == 302, response.content.decode()[:3000]
    logged = only(Verb.ADMIN_CHANGE)
    assert logged.changes == {"emergency_contact_name": [HIDDEN_VALUE, HIDDEN_VALUE]}
    assert (logged.reason, logged.visit_id) == ("The visitor phoned.", profile.visit.pk)


def test_stops_added_changed_and_deleted_in_the_visit_admin_are_each_on_the_record(client):
    visit = VisitFactory()
    kept = TourStopFactory(visit=visit, title="Kept")
    gone = TourStopFactory(
        visit=visit, title="Gone", starts_at=kept.ends_at, ends_at=kept.ends_at + timedelta(hours=1)
    )
    day = visit.date.isoformat()

    def stop(index: int, stop, **fields) -> dict:
        values = {
            "id": str(stop.pk) if stop else "",
            "visit": str(visit.pk),
            "title_en": stop.title if stop else "",
            "location": str(stop.location_id) if stop else str(kept.location_id),
            "starts_at_0": day,
            "starts_at_1": timezone.localtime(stop.starts_at, visit.tzinfo).strftime("%H:%M")
            if stop
            else "",
            "ends_at_0": day,
            "ends_at_1": timezone.localtime(stop.ends_at, visit.tzinfo).strftime("%H:%M")
            if stop
            else "",
            "guide_en": stop.guide if stop else "",
            "language": "en",
            "capacity": "",
            "notes_en": "",
            **fields,
        }
        return {f"stops-{index}-{name}": value for name, value in values.items()}

    client.force_login(tour_admin())
    response = client.post(
        reverse("admin:visits_visit_change", args=[visit.pk]),
        {
            "title_en": visit.title,
            "slug": visit.slug,
            "date": day,
            "time_zone": visit.time_zone,
            "meeting_point_en": visit.meeting_point,
            "practical_notes_en": "",
            "stops-TOTAL_FORMS": "3",
            "stops-INITIAL_FORMS": "2",
            "stops-MIN_NUM_FORMS": "0",
            "stops-MAX_NUM_FORMS": "1000",
            **stop(0, kept, title_en="Kept, renamed"),
            **stop(1, gone, DELETE="on"),
            **stop(2, None, title_en="New", starts_at_1="14:00", ends_at_1="15:00"),
            "audit_reason": "The guide is ill.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = only(Verb.ADMIN_CHANGE)
    assert changed.changes == {"title_en": ["Kept", "Kept, renamed"]}
    assert changed.visit_id == visit.pk and changed.reason == "The guide is ill."
    deleted = only(Verb.ADMIN_DELETE)
    assert deleted.object_id == gone.pk and deleted.changes["title_en"] == ["Gone", None]
    added = only(Verb.ADMIN_ADD)
    assert added.changes["title_en"] == [None, "New"] and added.visit_id == visit.pk


def test_a_place_disqualified_in_the_admin_is_on_the_record(client):
    _contest, draw = drawn_contest(winners=1, alternates=0)
    client.force_login(organizer())
    client.post(
        reverse("admin:contests_selection_changelist"),
        {
            "action": "disqualify",
            "_selected_action": [winner(draw).pk],
            "apply": "1",
            "reason": "Not eligible",
        },
    )
    assert only(Verb.SELECTION_DISQUALIFY).reason == "Not eligible"


# Reading the log -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["organizer", "tour admin", "superuser"])
def test_the_log_in_the_admin_is_read_only_for_everyone(client, who):
    contest = closed_contest()
    entry = log_action(actor=None, action=Verb.CONTEST_FREEZE, target=contest, reason="Closed")
    user = {
        "organizer": organizer,
        "tour admin": tour_admin,
        "superuser": lambda: User.objects.create_superuser("root", "root@example.org", "pw"),
    }[who]()
    client.force_login(user)
    changelist = reverse("admin:tweetup_auditentry_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert "froze the contest" in page.content.decode()
    change = reverse("admin:tweetup_auditentry_change", args=[entry.pk])
    detail = client.get(change)
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.get(reverse("admin:tweetup_auditentry_add")).status_code == 403
    assert client.post(change, {"reason": "rewritten"}).status_code == 403
    delete = reverse("admin:tweetup_auditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.post(
        changelist, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    ).status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.reason == "Closed"


def test_the_dashboard_lists_the_contests_staff_actions_newest_first(client):
    contest, draw = drawn_contest(winners=1, alternates=1)
    user = organizer()
    other = closed_contest()
    log_action(actor=user, action=Verb.CONTEST_FREEZE, target=other, reason="Elsewhere")
    selection_disqualify(selection=winner(draw), actor=user, reason="Fake account")
    client.force_login(user)
    page = client.get(reverse("contests:dashboard", args=[contest.slug])).content.decode()
    section = page[page.index('id="staff-actions"') :]
    assert "Fake account" in section and "Elsewhere" not in section
    assert section.index("offered a place to an alternate".capitalize()) < section.index(
        "Disqualified a place"
    )
    assert f"?contest__id__exact={contest.pk}" in section


def test_the_dashboard_lists_staff_actions_in_french_with_the_time_zone_named(client):
    contest, draw = drawn_contest(winners=1, alternates=1)
    user = organizer()
    selection_disqualify(selection=winner(draw), actor=user, reason="Faux compte")
    client.force_login(user)
    response = client.get(
        reverse("contests:dashboard", args=[contest.slug]), headers={"accept-language": "fr"}
    )
    page = response.content.decode()
    section = page[page.index('id="staff-actions"') :]
    # French puts a space before the colon, and the column names its time zone.
    assert "A disqualifié une place : " in section
    zone = response.context["time_zone"]
    assert zone and f'Quand <span class="fw-normal text-muted">({zone})</span>' in section


def test_the_visits_staff_pages_list_its_staff_actions(client):
    visit = VisitFactory()
    profile = visitor(visit)
    user = tour_admin()
    visitor_check_in(profile=profile, actor=user, now=at(visit, 9))
    client.force_login(user)
    for name in ("visitors:group", "visitors:check_in"):
        page = client.get(reverse(name, args=[visit.slug])).content.decode()
        section = page[page.index('id="staff-actions"') :]
        assert "Checked a visitor in" in section and "touradmin" in section, name
        assert f"?visit__id__exact={visit.pk}" in section


def test_the_results_say_how_many_places_staff_answered_rather_than_their_winner(client):
    contest, draw = drawn_contest(winners=3, alternates=0)
    selection_decline(selection=winner(draw, 1))
    place_accept(selection=winner(draw, 2), can_attend=True)
    page = client.get(reverse("contests:results", args=[contest.slug])).content.decode()
    assert "none: the 2 answered places were answered by their winners" in page
    # A staff member answering in a winner's stead shows, whoever it was.
    place_accept(selection=winner(draw, 3), can_attend=True, actor=organizer())
    assert SelectionEvent.objects.filter(actor__isnull=False, action="accepted").count() == 1
    page = client.get(reverse("contests:results", args=[contest.slug])).content.decode()
    assert "1 of the 3 answered places was answered by staff, not by its winner" in page
    assert Selection.objects.filter(status="accepted").count() == 2


def test_a_resend_from_the_dashboard_or_the_admin_is_on_the_record(client):
    contest, draw = drawn_contest(winners=2, alternates=0)
    first = selection_notify(selection=winner(draw, 1))
    second = selection_notify(selection=winner(draw, 2))
    OutboxMessage.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=OutboxMessage.Status.FAILED
    )
    user = organizer()
    client.force_login(user)
    client.post(reverse("contests:outbox_resend", args=[contest.slug, first.pk]))
    resent = only(Verb.MAIL_RESEND)
    assert (resent.actor, resent.object_id, resent.contest_id) == (user, first.pk, contest.pk)
    client.post(
        reverse("admin:notifications_outboxmessage_changelist"),
        {"action": "resend", "_selected_action": [first.pk, second.pk]},
    )
    # The first was resent a moment ago, and left alone: only the second is logged again.
    logged = AuditEntry.objects.filter(verb=Verb.MAIL_RESEND).order_by("pk")
    assert [entry.object_id for entry in logged] == [first.pk, second.pk]


def test_a_press_that_queued_nothing_leaves_no_resend_on_record():
    """Two presses on the page of one failed row: the first queues it, the
    second finds it resent since and queues nothing, so one resend is logged."""
    from notifications.services.outbox import messages_resend

    contest, draw = drawn_contest(winners=1, alternates=0)
    message = selection_notify(selection=winner(draw, 1))
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.FAILED)
    seen = {message.pk: None}
    user = organizer()
    assert messages_resend(message_ids=[message.pk], seen=seen, actor=user) == 1
    assert messages_resend(message_ids=[message.pk], seen=seen, actor=user) == 0
    assert AuditEntry.objects.filter(verb=Verb.MAIL_RESEND).count() == 1


# The log in the reader's language ---------------------------------------------


def _staff_actions_section(client, path: str, language: str) -> str:
    response = client.get(path, headers={"accept-language": language})
    assert response.status_code == 200
    page = unescape(response.content.decode())
    return page[page.index('id="staff-actions"') :]


def test_the_dashboard_names_each_object_in_its_readers_language_whoever_acted(client):
    """What staff did in French reads in English on an English page, and back."""
    contest, draw = drawn_contest(winners=1, alternates=1)
    Contest.objects.filter(pk=contest.pk).update(
        title_en="Open day", title_fr="Journée portes ouvertes"
    )
    contest.refresh_from_db()
    user = organizer()
    with translation.override("fr"):
        selection_disqualify(selection=winner(draw), actor=user, reason="Faux compte")
        log_action(actor=user, action=Verb.NOT_CHOSEN_NOTIFY, target=contest)
        offer = selection_notify(selection=alternate(draw))
        OutboxMessage.objects.filter(pk=offer.pk).update(status=OutboxMessage.Status.FAILED)
        messages_resend(message_ids=[offer.pk], actor=user)
    ticket = winner(draw).entry.ticket
    client.force_login(user)
    path = reverse("contests:dashboard", args=[contest.slug])
    english = _staff_actions_section(client, path, "en")
    assert f"Winner 1: {ticket}" in english and "Gagnant" not in english
    assert "Alternate 1: " in english and "Suppléant" not in english
    assert "Open day" in english and "Journée portes ouvertes" not in english
    assert f"Alternate's offer #{offer.pk}" in english
    french = _staff_actions_section(client, path, "fr")
    assert f"Personne gagnante 1: {ticket}" in french and "Winner" not in french
    assert "Journée portes ouvertes" in french and "Open day" not in french
    assert f"Proposition de place suppléante #{offer.pk}" in french
    # What staff wrote reads as written.
    assert "Faux compte" in english and "Faux compte" in french


def test_a_resent_mail_is_named_by_its_kind_and_number_never_by_its_address():
    _contest, draw = drawn_contest(winners=1, alternates=0)
    message = selection_notify(selection=winner(draw))
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.FAILED)
    messages_resend(message_ids=[message.pk], actor=organizer())
    resent = only(Verb.MAIL_RESEND)
    assert resent.object_repr == f"#{message.pk}"
    assert message.to_email not in json.dumps([resent.object_repr, resent.object_facts])


def test_the_visits_staff_pages_name_its_stops_and_jobs_in_their_readers_language(client):
    visit = VisitFactory()
    stop = TourStopFactory(visit=visit, title_en="Control room", title_fr="Salle de contrôle")
    user = tour_admin()
    with translation.override("fr"):
        log_action(actor=user, action=Verb.ADMIN_CHANGE, target=stop, reason="Nouvelle salle")
        job, _created = visit_message_job_start(
            visit=visit, audience="all", subject_en="Jackets", body_en="Bring one.", actor=user
        )
        visit_message_send(
            visit=visit,
            audience="all",
            subject_en="Bring a jacket",
            body_en="It is cold.",
            subject_fr="Prenez une veste",
            body_fr="Il fait froid.",
            actor=user,
        )
    client.force_login(user)
    path = reverse("visitors:group", args=[visit.slug])
    english = _staff_actions_section(client, path, "en")
    assert "Control room" in english and "Salle de contrôle" not in english
    assert f"write to the visitors #{job.pk}" in english
    assert "Bring a jacket" in english and "Prenez une veste" not in english
    french = _staff_actions_section(client, path, "fr")
    assert "Salle de contrôle" in french and "Control room" not in french
    assert f"écrire au groupe #{job.pk}" in french
    assert "Prenez une veste" in french and "Bring a jacket" not in french
    assert "Nouvelle salle" in english and "Nouvelle salle" in french


def test_an_entry_with_no_facts_or_facts_it_cannot_read_shows_its_name_as_kept():
    contest = closed_contest()
    entry = log_action(actor=None, action=Verb.CONTEST_FREEZE, target=contest)
    AuditEntry.objects.filter(pk=entry.pk).update(object_facts=None, object_repr="As written")
    assert AuditEntry.objects.get(pk=entry.pk).object_name == "As written"
    AuditEntry.objects.filter(pk=entry.pk).update(object_facts={"title": "an older shape"})
    assert AuditEntry.objects.get(pk=entry.pk).object_name == "As written"


def test_the_migration_gives_earlier_entries_their_facts_and_drops_mail_addresses():
    """tweetup 0011: facts where the object still tells them, a mail by its number."""
    contest, draw = drawn_contest(winners=1, alternates=1)
    Contest.objects.filter(pk=contest.pk).update(title_en="Open day", title_fr="Journée")
    contest.refresh_from_db()
    message = selection_notify(selection=winner(draw))
    renamed = closed_contest()
    as_before = {
        log_action(actor=None, action=Verb.SELECTION_PROMOTE, target=winner(draw)): "Gagnant 1 : x",
        log_action(actor=None, action=Verb.CONTEST_FREEZE, target=contest): "Journée",
        log_action(actor=None, action=Verb.CONTEST_FREEZE, target=renamed): "An old title",
        log_action(actor=None, action=Verb.MAIL_RESEND, target=message): (
            f"selection_offer → {message.to_email}"
        ),
    }
    for entry, written in as_before.items():
        AuditEntry.objects.filter(pk=entry.pk).update(object_facts=None, object_repr=written)
    name = "0011_audit_object_facts"
    state = MigrationLoader(connection).project_state(("tweetup", name))
    importlib.import_module(f"tweetup.migrations.{name}").facts_for_earlier_entries(
        state.apps, None
    )
    promote, freeze, freeze_renamed, resend = (
        AuditEntry.objects.get(pk=entry.pk) for entry in as_before
    )
    ticket = winner(draw).entry.ticket
    assert promote.object_facts == {"kind": "winner", "position": 1, "ticket": ticket}
    assert promote.object_name == f"Winner 1: {ticket}"
    assert freeze.object_facts == {"names": {"en": "Open day", "fr": "Journée"}}
    # A title changed since would name it as it was not: the name stays as written.
    assert freeze_renamed.object_facts is None and freeze_renamed.object_name == "An old title"
    assert resend.object_repr == f"#{message.pk}" and message.to_email not in resend.object_name
    with translation.override("fr"):
        assert resend.object_name == f"Proposition de place gagnante #{message.pk}"
