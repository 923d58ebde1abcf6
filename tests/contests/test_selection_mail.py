"""A place's time to answer counts from when its offer mail left, and organizers see mail fail.

Mail goes to a real SMTP server (aiosmtpd) or to a port where nothing listens;
time is moved by moving the draw's and the rows' dates, never by sleeping.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests.models import Draw, Selection
from contests.services.answers import (
    ANSWER_GRACE,
    selection_answer_deadline,
    selection_from_token,
    selection_offer_key,
)
from contests.services.selection_mail import draw_offers_send
from contests.services.selections import selection_disqualify, selections_expire_overdue
from notifications.models import OutboxMessage
from notifications.tasks import send_unsent_messages
from tests.builders import drawn_contest, winner
from tests.contests.drawing import links_in, mails_to
from tests.support import free_port
from visitors.services.places import place_accept

pytestmark = pytest.mark.django_db

Status = Selection.Status
HOURS = 72


@pytest.fixture
def unreachable_smtp(settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.mail.SmtpEmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


def drawn_days_ago(hours: float):
    """A contest drawn ``hours`` ago: its winner's stored deadline is HOURS after that."""
    contest, draw = drawn_contest(winners=1, alternates=1, acceptance_hours=HOURS)
    drawn_at = timezone.now() - timedelta(hours=hours)
    Draw.objects.filter(pk=draw.pk).update(drawn_at=drawn_at)
    Selection.objects.filter(draw=draw, kind=Selection.Kind.WINNER).update(
        deadline=drawn_at + timedelta(hours=HOURS)
    )
    draw.refresh_from_db()
    return contest, draw


def offer_row(place: Selection) -> OutboxMessage:
    return OutboxMessage.objects.get(key=selection_offer_key(place))


def test_an_offer_mail_sent_late_moves_the_time_to_answer_by_as_long(
    settings, unreachable_smtp, smtp_server, django_capture_on_commit_callbacks
):
    _contest, draw = drawn_days_ago(80)  # the stored deadline passed 8 hours ago
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    place = winner(draw)
    assert offer_row(place).status == OutboxMessage.Status.PENDING  # the server is down
    # The winner knows nothing yet: the place does not expire.
    far = timezone.now() + timedelta(days=30)
    assert selections_expire_overdue(now=far) == 0
    assert selection_answer_deadline(place) is None

    # The server is back; the sweep sends the offer now, 80 hours after the draw.
    settings.MAILERS = smtp_server.mailers
    OutboxMessage.objects.filter(pk=offer_row(place).pk).update(next_attempt_at=timezone.now())
    send_unsent_messages.delay()
    # The offer, and the alternate's mail telling them their rank.
    received = smtp_server.sink.wait_for(2, timeout=5)
    assert len(received) == 2
    sent_at = offer_row(place).sent_at
    answer_by = selection_answer_deadline(place)
    assert answer_by == sent_at + timedelta(hours=HOURS)
    assert answer_by - place.deadline == sent_at - draw.drawn_at  # moved by how late it was

    assert selections_expire_overdue(now=answer_by + ANSWER_GRACE) == 0
    assert winner(draw).status == Status.PENDING
    assert selections_expire_overdue(now=answer_by + ANSWER_GRACE + timedelta(seconds=1)) == 1
    assert winner(draw).status == Status.EXPIRED


def test_the_link_of_an_offer_mail_sent_late_works_past_the_stored_deadline(
    settings, unreachable_smtp, django_capture_on_commit_callbacks
):
    _contest, draw = drawn_days_ago(80)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    place = winner(draw)
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    OutboxMessage.objects.filter(pk=offer_row(place).pk).update(next_attempt_at=timezone.now())
    send_unsent_messages.delay()
    [offer] = mails_to(place.entry)
    token = links_in(offer)["accept"].rstrip("/").split("/")[-2]
    in_time = offer_row(place).sent_at + timedelta(hours=HOURS - 1)
    assert in_time > place.deadline + ANSWER_GRACE
    assert selection_from_token(token=token, now=in_time).pk == place.pk
    place_accept(selection=place, can_attend=True, now=in_time)
    assert winner(draw).status == Status.ACCEPTED


def failed_offer(settings, django_capture_on_commit_callbacks):
    """A drawn contest whose one offer mail failed for good: contest, draw, place, outbox row."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    contest, draw = drawn_contest(winners=1, alternates=0, acceptance_hours=HOURS)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    place = winner(draw)
    failed = offer_row(place)
    assert failed.status == OutboxMessage.Status.FAILED
    return contest, draw, place, failed


def test_the_failed_offer_of_a_place_taken_back_is_neither_listed_nor_resent(
    settings, unreachable_smtp, organizer_client, django_capture_on_commit_callbacks
):
    contest, draw, place, failed = failed_offer(settings, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        selection_disqualify(selection=place, actor=None, reason="Entered twice")

    dashboard = reverse("contests:dashboard", kwargs={"slug": contest.slug})
    page = organizer_client.get(dashboard).content.decode()
    resend = reverse("contests:outbox_resend", kwargs={"slug": contest.slug, "pk": failed.pk})
    # "You were drawn" is not offered again to a person whose place was taken back.
    assert f'id="failed-mail-{failed.pk}"' not in page
    assert f'action="{resend}"' not in page
    assert "Place no longer open" in page

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(resend, follow=True)
    assert "This place no longer waits for an answer" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == OutboxMessage.Status.FAILED and failed.resend_requested_at is None
    assert mail.outbox == []


def test_the_outbox_admin_does_not_resend_the_offer_of_a_place_taken_back(
    settings, unreachable_smtp, organizer_client, django_capture_on_commit_callbacks
):
    _contest, _draw, place, failed = failed_offer(settings, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        selection_disqualify(selection=place, actor=None, reason="Entered twice")
    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post(
            reverse("admin:notifications_outboxmessage_changelist"),
            {"action": "resend", "_selected_action": [failed.pk]},
            follow=True,
        )
    assert "offering a place no longer open" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == OutboxMessage.Status.FAILED and failed.resend_requested_at is None


def test_a_sent_offer_of_an_accepted_place_offers_no_resend_and_says_nothing_of_it(
    settings, organizer_client, django_capture_on_commit_callbacks
):
    """Found in the second walk: "Place no longer open" stood under every sent offer."""
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    contest, draw = drawn_contest(winners=1, alternates=0, acceptance_hours=HOURS)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    place = winner(draw)
    assert offer_row(place).status == OutboxMessage.Status.SENT
    place_accept(selection=place, can_attend=True)
    page = organizer_client.get(reverse("contests:dashboard", kwargs={"slug": contest.slug}))
    html = page.content.decode()
    resend = reverse(
        "contests:outbox_resend", kwargs={"slug": contest.slug, "pk": offer_row(place).pk}
    )
    assert f'action="{resend}"' not in html and "Place no longer open" not in html


def test_an_offer_sent_at_once_keeps_its_deadline(django_capture_on_commit_callbacks):
    _contest, draw = drawn_contest(winners=1, alternates=0, acceptance_hours=HOURS)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    place = winner(draw)
    answer_by = selection_answer_deadline(place)
    assert place.deadline <= answer_by < place.deadline + timedelta(seconds=5)


def test_the_dashboard_shows_failed_mail_with_resend_and_the_place_on_hold(
    settings, unreachable_smtp, organizer_client, django_capture_on_commit_callbacks
):
    contest, draw, place, failed = failed_offer(settings, django_capture_on_commit_callbacks)

    dashboard = reverse("contests:dashboard", kwargs={"slug": contest.slug})
    page = organizer_client.get(dashboard).content.decode()
    alert = re.search(
        r'<section class="alert alert-danger" id="failed-mail".*?</section>', page, re.S
    )
    assert alert, "the dashboard shows no alert for the failed mail"
    alert = alert.group(0)
    assert "Mail that could not be delivered" in alert
    assert place.entry.email in alert and "ConnectionRefusedError" in alert
    resend = reverse("contests:outbox_resend", kwargs={"slug": contest.slug, "pk": failed.pk})
    assert f'action="{resend}"' in alert
    requested = re.search(r'name="requested" value="([^"]*)"', alert).group(1)
    row = re.search(rf'<tr id="selection-{place.pk}".*?</tr>', page, re.S).group(0)
    assert "Offer mail not delivered yet" in row

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        organizer_client.post(resend, {"requested": requested})
        organizer_client.post(resend, {"requested": requested})  # a double click
    assert len(mails_to(place.entry)) == 1
    page = organizer_client.get(dashboard).content.decode()
    assert 'id="failed-mail"' not in page
    assert "Offer mail not delivered yet" not in page
    assert len(mail.outbox) == 1
