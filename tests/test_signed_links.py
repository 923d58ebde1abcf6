"""A signed link acts only for the person it was mailed to, never for signed-in staff.

Each kind of link (entry confirmation, accept and decline a place, the
visitor's profile, itinerary, calendar and badge) answers a staff session
(organizer, tour admin, superuser) with a 403 page that says why and changes
nothing; the addressee, who is not signed in, still uses it. Staff read the
outbox with every signed link's token hidden.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from contests.models import Entry, Selection
from contests.services.answers import selection_answer_token
from contests.services.entries import entry_confirm_token
from contests.services.privacy import entry_withdraw_token
from contests.services.selection_mail import selection_notify
from notifications.models import OutboxMessage
from tests.builders import drawn_contest, winner
from tests.factories import EntryFactory, staff_user
from tests.visitors.test_views import profile_post
from tests.visits.factories import visitor
from tweetup.roles import ORGANIZERS, TOUR_ADMINS
from tweetup.signed_links import HIDDEN, redact_signed_links
from visitors.models import VisitorProfile
from visitors.services.links import visitor_profile_token

pytestmark = pytest.mark.django_db

REFUSAL = "You are signed in as staff: this link is for the person it was mailed to."
ROLES = ["organizer", "tour admin", "superuser"]


def staff(role: str) -> User:
    if role == "superuser":
        return User.objects.create_superuser("root", "root@example.org", "pw")
    return staff_user(role.replace(" ", ""), ORGANIZERS if role == "organizer" else TOUR_ADMINS)


@dataclass
class Link:
    """One signed link: its URL, what posting it sends, and how to tell it acted."""

    url: str
    post: dict | None
    acted: object  # () -> bool


def confirm_link() -> Link:
    entry = EntryFactory(confirmed_at=None)
    url = reverse("contests:confirm", kwargs={"token": entry_confirm_token(entry)})
    return Link(url, {}, lambda: Entry.objects.get(pk=entry.pk).confirmed_at is not None)


def withdraw_link() -> Link:
    entry = EntryFactory()
    url = reverse("visitors:entry_withdraw", kwargs={"token": entry_withdraw_token(entry)})
    return Link(url, {}, lambda: Entry.objects.get(pk=entry.pk).withdrawn_at is not None)


def place_link(action: str) -> Link:
    _contest, draw = drawn_contest()
    place = winner(draw)
    token = selection_answer_token(place)
    url = reverse(f"visitors:place_{action}", kwargs={"token": token})
    return Link(
        url,
        {"can_attend": "on"} if action == "accept" else {},
        lambda: Selection.objects.get(pk=place.pk).status != Selection.Status.PENDING,
    )


def visitor_link(name: str) -> Link:
    profile = visitor(None if name == "visitors:badge" else _scheduled())
    url = reverse(name, kwargs={"token": visitor_profile_token(profile)})
    if name != "visitors:profile":
        return Link(url, None, lambda: False)
    return Link(
        url,
        profile_post(emergency_contact_name="Mallory", emergency_contact_phone="+41 00"),
        lambda: VisitorProfile.objects.get(pk=profile.pk).emergency_contact_name == "Mallory",
    )


def _scheduled():
    from tests.factories import VisitFactory

    return VisitFactory()


LINKS = {
    "confirmation": confirm_link,
    "withdrawal": withdraw_link,
    "accept": lambda: place_link("accept"),
    "decline": lambda: place_link("decline"),
    "profile": lambda: visitor_link("visitors:profile"),
    "itinerary": lambda: visitor_link("visitors:visitor_itinerary"),
    "itinerary print": lambda: visitor_link("visitors:visitor_itinerary_print"),
    "calendar": lambda: visitor_link("visitors:visitor_calendar"),
    "badge": lambda: visitor_link("visitors:badge"),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", list(LINKS))
def test_a_staff_session_is_refused_by_every_signed_link_and_changes_nothing(
    client, kind, role, django_capture_on_commit_callbacks
):
    link = LINKS[kind]()
    client.force_login(staff(role))
    response = client.get(link.url)
    assert response.status_code == 403
    assert REFUSAL in response.content.decode()
    assert "act through the admin, where your action is recorded" in response.content.decode()
    if link.post is not None:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(link.url, link.post)
        assert response.status_code == 403
        assert REFUSAL in response.content.decode()
        assert not link.acted()
    assert (
        not OutboxMessage.objects.filter(kind__startswith="selection_")
        .exclude(kind="selection_offer")
        .exists()
    )


@pytest.mark.parametrize("kind", list(LINKS))
def test_the_addressee_still_uses_every_signed_link(
    client, kind, django_capture_on_commit_callbacks
):
    link = LINKS[kind]()
    assert client.get(link.url).status_code == 200
    if link.post is not None:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(link.url, link.post)
        assert response.status_code in (200, 302)
        assert link.acted()


def test_a_signed_in_user_who_is_no_staff_member_still_reaches_the_refusal(client):
    """Every account of the site is staff's: a user with any permission is refused too."""
    link = confirm_link()
    user = User.objects.create_user("helper", "helper@example.org", "pw")
    user.user_permissions.add(*staff_user("orga", ORGANIZERS).groups.get().permissions.all()[:1])
    client.force_login(user)
    assert client.get(link.url).status_code == 403


# The outbox, as staff read it ----------------------------------------------------


def test_redaction_hides_the_token_of_every_kind_of_signed_link():
    text = (
        "Confirm: https://tweetup.example.org/contests/confirm/12:1tX:abc-_d/\n"
        '<a href="https://t.example/contests/place/eyJzIjoxfQ:1tX:sig/decline/">no</a>\n'
        "Profile http://127.0.0.1:8000/visits/profile/eyJ2IjozfQ:1tX:x_y/badge/ and "
        "/visits/check-in/eyJjIjozfQ:1tX:z/.\n"
        "Withdraw: https://t.example/contests/entry/eyJ3IjoxfQ:1tX:w/withdraw/\n"
        "The results: https://tweetup.example.org/contests/cern/results/"
    )
    redacted = redact_signed_links(text)
    for token in ("12:1tX:abc-_d", "eyJzIjoxfQ", "eyJ2IjozfQ", "eyJjIjozfQ", "eyJ3IjoxfQ"):
        assert token not in redacted
    assert f"/contests/place/{HIDDEN}/decline/" in redacted
    assert f"/visits/profile/{HIDDEN}/badge/" in redacted
    assert f"/contests/entry/{HIDDEN}/withdraw/" in redacted
    assert "https://tweetup.example.org/contests/cern/results/" in redacted


@pytest.mark.parametrize("role", ["organizer", "superuser"])
def test_the_outbox_shows_the_offer_mail_without_a_usable_link(
    client, role, django_capture_on_commit_callbacks
):
    _contest, draw = drawn_contest(winners=1)
    place = winner(draw)
    message = selection_notify(selection=place)
    token = selection_answer_token(place)
    assert token in message.body_text and token in message.body_html
    client.force_login(staff(role))
    page = client.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert token not in content
    assert f"/contests/place/{HIDDEN}/accept/" in content
    # The rest of the mail reads as sent.
    assert place.entry.ticket in content or place.entry.first_name in content
