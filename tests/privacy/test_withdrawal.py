"""An entrant withdraws their entry through the signed link of their mail."""

import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests import draw_algorithm
from contests.models import Entry, Selection
from contests.services.audit_record import draw_audit_record
from contests.services.draws import contest_freeze, draw_run
from contests.services.entries import entry_confirm, entry_confirm_token, entry_submit
from contests.services.privacy import entry_from_withdraw_token, entry_withdraw_token
from notifications.models import OutboxMessage
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import add_entries, closed_contest
from tests.factories import ContestFactory, entry_form_data, staff_user
from tweetup.roles import ORGANIZERS, TOUR_ADMINS
from visitors.models import SiteAccess, VisitorProfile
from visitors.services.places import place_accept

pytestmark = pytest.mark.django_db


def withdraw_path(entry: Entry) -> str:
    return reverse("visitors:entry_withdraw", kwargs={"token": entry_withdraw_token(entry)})


def forgotten(entry: Entry) -> bool:
    entry.refresh_from_db()
    return (
        entry.withdrawn_at is not None
        and entry.personal_data_removed_at is not None
        and entry.name == entry.email == entry.twitter_handle == entry.motivation == ""
    )


def open_entry(mailoutbox, django_capture_on_commit_callbacks) -> tuple[Entry, str]:
    """An entry sent through the form's service, and its confirmation mail's text."""
    contest = ContestFactory()
    data = entry_form_data()
    with django_capture_on_commit_callbacks(execute=True):
        entry = entry_submit(
            contest=contest,
            **{k: v for k, v in data.items() if k not in ("accept_rules", "website")},
        )
    [message] = mailoutbox
    return entry, message.body


def test_the_confirmation_mail_and_the_confirmed_page_link_to_the_withdrawal(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    entry, body = open_entry(mailoutbox, django_capture_on_commit_callbacks)
    [html, _type] = mailoutbox[0].alternatives[0]
    entry_confirm(token=entry_confirm_token(entry))
    page = client.get(reverse("contests:confirm", kwargs={"token": entry_confirm_token(entry)}))
    for text in (body, html, page.content.decode()):
        [token] = re.findall(r"/contests/entry/([^/\s\"]+)/withdraw/", text)
        assert entry_from_withdraw_token(token=token) == entry


def test_opening_the_link_asks_and_changes_nothing(client, entry):
    response = client.get(withdraw_path(entry))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="withdraw-form"' in page and "Your ticket leaves the draw." in page
    entry.refresh_from_db()
    assert entry.withdrawn_at is None and entry.email


def test_withdrawing_before_the_freeze_removes_the_data_and_the_ticket_from_the_draw(
    client, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    entry, _body = open_entry(mailoutbox, django_capture_on_commit_callbacks)
    entry = entry_confirm(token=entry_confirm_token(entry))
    others = add_entries(entry.contest, 3, confirmed_at=timezone.now() - timedelta(hours=2))
    address = entry.email
    with caplog.at_level(logging.INFO, logger="contests.services.privacy"):
        response = client.post(withdraw_path(entry))
    assert response.status_code == 302
    assert forgotten(entry)
    # The mail written to the entrant goes with their data.
    assert not OutboxMessage.objects.filter(to_email=address).exists()
    # The withdrawal is in the log, without the person's data.
    [record] = [r for r in caplog.records if "withdrawn by its entrant" in r.getMessage()]
    assert address not in record.getMessage() and "Lucy" not in record.getMessage()
    page = client.get(withdraw_path(entry)).content.decode()
    assert 'id="withdrawn-out-of-draw"' in page

    # Time passes: the contest closed after every entry was confirmed, the withdrawn one too.
    contest = entry.contest
    Entry.objects.filter(contest=contest).update(confirmed_at=timezone.now() - timedelta(hours=2))
    contest.closes_at = timezone.now() - timedelta(minutes=1)
    contest.save(update_fields=["closes_at"])
    contest = contest_freeze(contest=contest, actor=None)
    entry.refresh_from_db()
    assert not entry.in_draw
    assert contest.tickets_count == 3
    assert contest.tickets_digest == draw_algorithm.tickets_digest(
        sorted(other.ticket for other in others)
    )


def test_withdrawing_twice_changes_nothing_the_second_time(client, entry):
    client.post(withdraw_path(entry))
    entry.refresh_from_db()
    first = entry.withdrawn_at
    response = client.post(withdraw_path(entry))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.withdrawn_at == first
    assert 'id="withdrawn"' in client.get(withdraw_path(entry)).content.decode()


def test_after_the_freeze_the_ticket_stays_and_a_place_it_wins_is_declined(client):
    contest = closed_contest(winners_count=1, alternates_count=1)
    first, second = add_entries(contest, 2)
    contest = contest_freeze(contest=contest, actor=None)
    digest = contest.tickets_digest
    page = client.get(withdraw_path(first)).content.decode()
    assert first.ticket in page and "stays in the published draw" in page
    client.post(withdraw_path(first))
    assert forgotten(first)
    assert first.in_draw
    assert 'id="withdrawn-ticket-kept"' in client.get(withdraw_path(first)).content.decode()

    draw = draw_run(contest=contest, actor=None, notify=False)
    record = draw_audit_record(draw=draw)
    assert record["tickets_digest"] == digest and first.ticket in record["tickets"]
    assert draw_algorithm.verify_audit_record(record) == []
    withdrawn = Selection.objects.get(draw=draw, entry=first)
    assert withdrawn.status == Selection.Status.DECLINED
    # Both tickets were chosen: the other holds the one place, offered to it.
    assert Selection.objects.get(draw=draw, entry=second).status == Selection.Status.PENDING


def test_a_visitor_who_withdraws_loses_profile_and_place_to_the_next_alternate(client, visit):
    contest, draw = drawn_contest(winners=1, alternates=1, visit=visit)
    visit.collects_site_access = True
    visit.save(update_fields=["collects_site_access"])
    profile = place_accept(selection=winner(draw), can_attend=True)
    SiteAccess.objects.create(
        profile=profile,
        name_on_document="ADA LOVELACE",
        nationality="GB",
        date_of_birth="1990-12-10",
        document_type="passport",
        document_number="X1234567",
    )
    entry = winner(draw).entry
    response = client.post(withdraw_path(entry))
    assert response.status_code == 302
    assert forgotten(entry)
    profile = VisitorProfile.objects.get(pk=profile.pk)
    assert profile.email == profile.emergency_contact_name == profile.display_name == ""
    assert profile.private_data_removed_at is not None
    assert not SiteAccess.objects.exists()
    assert winner(draw).status == Selection.Status.DECLINED
    assert alternate(draw).status == Selection.Status.PENDING
    assert 'id="withdrawn-place-declined"' in client.get(withdraw_path(entry)).content.decode()


@pytest.mark.parametrize("group", [ORGANIZERS, TOUR_ADMINS])
def test_staff_get_403_on_the_link_and_nothing_changes(client, entry, group):
    client.force_login(staff_user("staff", group))
    for method in (client.get, client.post):
        response = method(withdraw_path(entry))
        assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.withdrawn_at is None and entry.email


def test_a_tampered_or_foreign_link_withdraws_nothing(client, entry):
    token = entry_withdraw_token(entry)
    for bad in (token[:-2] + "xx", entry_confirm_token(entry), "garbage"):
        url = reverse("visitors:entry_withdraw", kwargs={"token": bad})
        assert client.post(url).status_code == 400
        assert client.get(url).status_code == 400
    entry.refresh_from_db()
    assert entry.withdrawn_at is None and entry.email
    assert not mail.outbox


@pytest.mark.parametrize(
    ("language", "reason"),
    [("en", "Withdrawn by the entrant."), ("fr", "Retirée à la demande de la personne inscrite.")],
)
def test_the_entry_admin_gives_the_withdrawals_reason_in_the_readers_language(
    client, entry, language, reason
):
    client.post(withdraw_path(entry))
    client.force_login(staff_user("organizer", ORGANIZERS))
    page = client.get(
        reverse("admin:contests_entry_change", args=[entry.pk]),
        headers={"accept-language": language},
    ).content.decode()
    assert reason in page
    entry.refresh_from_db()
    # An organizer's own reason reads as written; the withdrawal's is the site's.
    assert entry.invalid_reason == Entry.WITHDRAWN_REASON


def test_a_visitor_is_told_withdrawing_gives_up_the_visit_without_a_moot_if_drawn(client, visit):
    """Found in the walk-through: "If it is drawn…" beside "The place you were drawn for…"."""
    contest, draw = drawn_contest(winners=1, alternates=1, visit=visit)
    place_accept(selection=winner(draw), can_attend=True)
    entry = winner(draw).entry
    page = client.get(withdraw_path(entry)).content.decode()
    assert 'id="withdraw-gives-up-visit"' in page
    assert "You give up your place on the visit of" in page and "your badge" in page
    assert "If it is drawn" not in page
    assert "The place you were drawn for is declined" not in page
    client.post(withdraw_path(entry))
    page = client.get(withdraw_path(entry)).content.decode()
    assert "You gave up your place on the visit of" in page
    assert "If it is drawn" not in page
    assert "The place you were drawn for is declined" not in page
    # An alternate of the drawn contest: no visit given up, and no "If it is drawn" either.
    waiting = alternate(draw).entry
    page = client.get(withdraw_path(waiting)).content.decode()
    assert "If it is drawn" not in page and 'id="withdraw-gives-up-visit"' not in page


def test_an_alternate_never_offered_a_place_gives_up_a_rank_not_a_place(client, visit):
    """Found in the second walk: a waiting alternate read that "the place you were drawn for"
    was declined, though none was ever offered."""
    _contest, draw = drawn_contest(winners=1, alternates=1, visit=visit)
    waiting = alternate(draw).entry
    page = client.get(withdraw_path(waiting)).content.decode()
    assert "You give up your rank among the alternates" in page
    assert "The place you were drawn for is declined" not in page
    client.post(withdraw_path(waiting))
    page = client.get(withdraw_path(waiting)).content.decode()
    assert "You gave up your rank among the alternates" in page
    assert "The place you were drawn for is declined" not in page
