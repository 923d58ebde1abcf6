"""The organizer dashboard, its actions and the CSV exports."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from contests.models import Entry, Selection
from contests.services import statistics as statistics_services
from contests.services.draws import contest_freeze
from contests.services.selection_mail import draw_offers_send
from contests.services.selections import Action, selection_decline, selection_disqualify
from notifications.models import OutboxMessage
from tests.builders import alternate, drawn_contest, winner
from tests.contests.drawing import add_entries, closed_contest
from tests.contests.drawing import organizer as organizer_user
from tests.factories import ContestFactory, EntryFactory
from tweetup.roles import TOUR_ADMINS, groups_ensure
from visitors.services.places import place_accept
from visitors.services.privacy import entrant_withdraw

pytestmark = pytest.mark.django_db

Status = Selection.Status


@pytest.fixture
def organizer(client):
    user = organizer_user()
    client.force_login(user)
    return user


def dashboard_url(contest) -> str:
    return reverse("contests:dashboard", kwargs={"slug": contest.slug})


def organizer_urls(contest, selection_pk: int, message_pk: int) -> list[tuple[str, str]]:
    slug = {"slug": contest.slug}
    return [
        ("get", dashboard_url(contest)),
        ("post", reverse("contests:export_entries", kwargs=slug)),
        ("post", reverse("contests:export_selections", kwargs=slug)),
        ("post", reverse("contests:offers_send", kwargs=slug)),
        ("post", reverse("contests:not_chosen_notify", kwargs=slug)),
        (
            "post",
            reverse("contests:selection_disqualify", kwargs={**slug, "pk": selection_pk}),
        ),
        ("post", reverse("contests:outbox_resend", kwargs={**slug, "pk": message_pk})),
    ]


def test_organizer_pages_send_anonymous_visitors_to_the_login_and_refuse_other_staff(client):
    contest, draw = drawn_contest(winners=1, alternates=1)
    message = OutboxMessage.objects.create(
        key="k", kind="test", to_email="a@example.org", subject="s", body_text="b", contest=contest
    )
    urls = organizer_urls(contest, winner(draw).pk, message.pk)
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login")), url
    groups_ensure()
    tour_admin = User.objects.create_user("tour", password="pw", is_staff=True)
    tour_admin.groups.add(Group.objects.get(name=TOUR_ADMINS))
    client.force_login(tour_admin)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    assert winner(draw).status == Status.PENDING


def test_superusers_see_the_dashboard(client):
    contest, _draw = drawn_contest()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    assert client.get(dashboard_url(contest)).status_code == 200


def test_dashboard_shows_counts_breakdowns_selections_and_outbox(client, organizer):
    contest, draw = drawn_contest(
        winners=[{"country": "FR", "languages": ["fr", "de"], "background": "arts"}],
        alternates=[{"country": "IE"}],
        entries=2,
    )
    EntryFactory(contest=contest, confirmed_at=None, country="JP", languages=["ja"])
    selection_decline(selection=winner(draw))
    response = client.get(dashboard_url(contest))
    assert response.status_code == 200
    context = response.context
    assert context["counts"] == {"total": 3, "confirmed": 2, "in_draw": 2}
    by_country = {row["value"]: (row["total"], row["confirmed"]) for row in context["by_country"]}
    assert by_country == {"FR": (1, 1), "IE": (1, 1), "JP": (1, 0)}
    by_language = {row["value"]: (row["total"], row["confirmed"]) for row in context["by_language"]}
    assert by_language == {"en": (1, 1), "fr": (2, 2), "de": (1, 1), "ja": (1, 0)}
    by_background = {row["label"]: row["total"] for row in context["by_background"]}
    assert by_background == {"Arts and photography": 1, "Science and research": 2}
    content = response.content.decode()
    for text in ("France", "Japanese", "Arts and photography", "promoted", "Declined"):
        assert text in content, text
    assert alternate(draw).entry.ticket in content
    assert "You declined your place" in content  # the outbox lists the mail
    assert "Place declined" in content  # by the name of its kind
    assert "selection_declined" not in content
    assert 'id="entries-per-day"' in content and "<rect" in content


def test_dashboard_counts_entries_per_day_in_the_contests_time_zone(client, organizer):
    contest = ContestFactory(time_zone="Pacific/Auckland")
    # 23:30 UTC on the 1st is already the 2nd in Auckland.
    at = timezone.now().replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=3)
    for offset in (0, 0, 2):
        entry = EntryFactory(contest=contest)
        Entry.objects.filter(pk=entry.pk).update(created_at=at + timedelta(days=offset))
    days = client.get(dashboard_url(contest)).context["chart"]["bars"]
    local = at.astimezone(contest.tzinfo).date()
    assert [(d["day"], d["total"]) for d in days] == [
        (local, 2),
        (local + timedelta(days=1), 0),
        (local + timedelta(days=2), 1),
    ]


def test_dashboard_chart_draws_in_french_too(client, organizer):
    """SVG coordinates are never localised: "31,5" is no number to a browser."""
    contest = ContestFactory()
    at = timezone.now() - timedelta(days=2)
    for offset in (0, 0, 0, 1):
        entry = EntryFactory(contest=contest)
        Entry.objects.filter(pk=entry.pk).update(created_at=at + timedelta(days=offset))
    content = client.get(dashboard_url(contest), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in content
    coordinates = re.findall(
        r'<rect x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)"', content
    )
    assert len(coordinates) == 4
    for value in (value for rect in coordinates for value in rect):
        assert re.fullmatch(r"\d+(\.\d+)?", value), value
    assert ("1", "5.0", "8", "90.0") in coordinates


def test_dashboard_log_names_each_action_in_the_readers_language(client, organizer):
    contest, draw = drawn_contest(winners=1, alternates=1, entries=2)
    selection_decline(selection=winner(draw))
    with translation.override("fr"):
        labels = {action: str(label) for action, label in Action.choices}
    response = client.get(dashboard_url(contest), HTTP_ACCEPT_LANGUAGE="fr")
    events = [
        event for selection in response.context["selections"] for event in selection.events.all()
    ]
    assert {event.action for event in events} == {"drawn", "declined", "promoted"}
    for event in events:
        assert event.action_label == labels[event.action]
        assert str(event.action_label) in response.content.decode()


def test_dashboard_figures_are_rendered_once_per_count_and_language(client, organizer):
    """The figures' part of the page is kept under the time they were counted:
    the next views render it no more, a new count shows at once, and each
    language has its own."""
    contest = ContestFactory()
    EntryFactory.create_batch(3, contest=contest, country="FR")
    figures = "contests/organizer/_figures.html"

    def view(language: str = "en"):
        response = client.get(dashboard_url(contest), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        rendered = [template.name for template in response.templates]
        return response.content.decode(), figures in rendered

    page, rendered = view()
    assert rendered and 'id="count-total">3<' in page and "Entries per day" in page
    page, rendered = view()
    assert not rendered and 'id="count-total">3<' in page  # kept
    french, rendered = view("fr")
    assert rendered and "Participations par jour" in french and "Entries per day" not in french
    english, rendered = view()
    assert (
        not rendered and "Entries per day" in english and "Participations par jour" not in english
    )

    EntryFactory.create_batch(2, contest=contest, country="DE")
    statistics_services.contest_statistics_refresh(contest_id=contest.pk)  # as the task does
    page, rendered = view()
    assert rendered and 'id="count-total">5<' in page and "Germany" in page


def test_dashboard_figures_counted_before_the_freeze_give_the_frozen_tickets(client, organizer):
    """The freeze fixes the tickets: the figures say so at once, not at the next count."""
    contest = closed_contest()
    add_entries(contest, 4)
    statistics_services.contest_statistics_refresh(contest_id=contest.pk)
    assert "not frozen yet" in client.get(dashboard_url(contest)).content.decode()
    contest = contest_freeze(contest=contest, actor=None)
    page = client.get(dashboard_url(contest)).content.decode()
    assert f'id="count-in-draw">{contest.tickets_count}<' in page and contest.tickets_count == 4


def test_dashboard_says_an_alternate_withdrew_instead_of_a_bare_at_sign(client, organizer):
    contest, draw = drawn_contest(entries=8, winners=1, alternates=2)
    entry = alternate(draw).entry
    entrant_withdraw(entry=entry)
    page = client.get(dashboard_url(contest)).content.decode()
    row = page.split(f'id="selection-{alternate(draw).pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Entry withdrawn: personal data removed" in row
    assert "@ ·" not in row and "@<" not in row


def dashboard_queries(client, contest) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(dashboard_url(contest)).status_code == 200
    return len(queries)


def test_dashboard_queries_do_not_grow_with_the_entries(client, organizer):
    contest, draw = drawn_contest(winners=2, alternates=2, entries=6)
    draw_offers_send(draw=draw)
    dashboard_queries(client, contest)  # The first view counts the entries and keeps the figures.
    few = dashboard_queries(client, contest)
    countries = ["CH", "FR", "DE", "IT", "ES", "IE", "JP", "BR"]
    for index in range(60):
        EntryFactory(contest=contest, country=countries[index % 8], languages=["en", "it"])
    selection_decline(selection=winner(draw))
    selection_disqualify(selection=winner(draw, 2), actor=organizer, reason="Fake")
    for index in range(30):
        OutboxMessage.objects.create(
            key=f"k{index}",
            kind="t",
            to_email="a@example.org",
            subject="s",
            body_text="b",
            contest=contest,
        )
    many = dashboard_queries(client, contest)
    assert many == few
    assert many <= 18  # one for the staff actions, one for the background jobs


def export(client, contest, name: str):
    """Press the export's button, let its job run, and download the file its page offers."""
    url = reverse(f"contests:{name}", kwargs={"slug": contest.slug})
    with TestCase.captureOnCommitCallbacks(execute=True):
        pressed = client.post(url)
    assert pressed.status_code == 302
    page = client.get(pressed["Location"])
    download = reverse("job_download", kwargs={"pk": page.context["job"].pk})
    assert download in page.content.decode()
    return client.get(download)


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_entries_export_streams_every_entry_and_defuses_formulas(client, organizer):
    contest = ContestFactory()
    EntryFactory(
        contest=contest,
        name='=HYPERLINK("http://evil")',
        motivation="+1 for science",
        background_other="@SUM(A1)",
    )
    EntryFactory(contest=contest, name="Ada", motivation="-minus", twitter_handle="ada")
    EntryFactory(contest=ContestFactory(), name="Elsewhere")
    response = export(client, contest, "export_entries")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{contest.slug}-entries.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    header, data = rows[0], rows[1:]
    assert header[:4] == ["ticket", "created_at", "confirmed_at", "name"]
    assert len(data) == 2
    names = {row[header.index("name")] for row in data}
    assert names == {'\'=HYPERLINK("http://evil")', "Ada"}
    cells = [cell for row in data for cell in row]
    assert "'+1 for science" in cells and "'-minus" in cells and "'@SUM(A1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "en fr" in cells


def test_selections_export_lists_each_place_with_its_state(client, organizer):
    contest, draw = drawn_contest(winners=1, alternates=1)
    selection_decline(selection=winner(draw))
    rows = read_csv(export(client, contest, "export_selections"))
    assert rows[0][:3] == ["kind", "position", "status"]
    assert [row[:3] for row in rows[1:]] == [
        ["winner", "1", "declined"],
        ["alternate", "1", "pending"],
    ]


ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def test_both_exports_write_times_alike_to_the_second_with_their_offset(client, organizer):
    contest, draw = drawn_contest(winners=1, alternates=1)
    Entry.objects.filter(contest=contest).update(
        created_at=timezone.now().replace(microsecond=123456)
    )
    selection_decline(selection=winner(draw))
    times = []
    for name, columns in (
        ("export_entries", ["created_at", "confirmed_at"]),
        ("export_selections", ["deadline", "answered_at"]),
    ):
        rows = read_csv(export(client, contest, name))
        header = rows[0]
        times += [row[header.index(column)] for row in rows[1:] for column in columns]
    times = [time for time in times if time]
    assert len(times) >= 6
    for time in times:
        assert ISO_SECONDS.fullmatch(time), time


def test_organizers_disqualify_with_a_reason_and_the_place_goes_on(client, organizer):
    contest, draw = drawn_contest(winners=1, alternates=1)
    url = reverse(
        "contests:selection_disqualify", kwargs={"slug": contest.slug, "pk": winner(draw).pk}
    )
    assert client.get(url).status_code == 405
    response = client.post(url, {"reason": ""}, follow=True)
    assert "Give a reason" in response.content.decode()
    assert winner(draw).status == Status.PENDING
    client.post(url, {"reason": "Entered twice"})
    place = winner(draw)
    assert place.status == Status.DISQUALIFIED and place.reason == "Entered twice"
    assert place.events.get(action=Action.DISQUALIFIED).actor == organizer
    assert alternate(draw).status == Status.PENDING


def test_a_selection_of_another_contest_is_not_found(client, organizer):
    contest, _draw = drawn_contest()
    _other, other_draw = drawn_contest()
    url = reverse(
        "contests:selection_disqualify",
        kwargs={"slug": contest.slug, "pk": winner(other_draw).pk},
    )
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert winner(other_draw).status == Status.PENDING


def test_organizers_resend_a_mail_of_their_contest(
    client, organizer, django_capture_on_commit_callbacks
):
    contest, draw = drawn_contest(winners=1, alternates=0)
    with django_capture_on_commit_callbacks(execute=True):
        draw_offers_send(draw=draw)
    message = OutboxMessage.objects.get(contest=contest, kind=OutboxMessage.Kind.SELECTION_OFFER)
    assert message.status == OutboxMessage.Status.SENT
    url = reverse("contests:outbox_resend", kwargs={"slug": contest.slug, "pk": message.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"page": "1"})
    assert response.status_code == 302 and response.url.endswith("?page=1#outbox")
    assert len(mail.outbox) == 2 and mail.outbox[0].subject == mail.outbox[1].subject
    other, _ = drawn_contest()
    url = reverse("contests:outbox_resend", kwargs={"slug": other.slug, "pk": message.pk})
    assert client.post(url).status_code == 404


def test_the_notice_to_those_not_chosen_is_offered_once_the_places_are_settled(
    client, organizer, django_capture_on_commit_callbacks
):
    contest, draw = drawn_contest(winners=1, alternates=0, entries=4)
    url = reverse("contests:not_chosen_notify", kwargs={"slug": contest.slug})
    assert 'id="notify-not-chosen"' not in client.get(dashboard_url(contest)).content.decode()
    response = client.post(url, follow=True)
    assert "Wait until every place is settled" in response.content.decode()
    place_accept(selection=winner(draw), can_attend=True)
    content = client.get(dashboard_url(contest)).content.decode()
    assert "Every place is settled" in content and 'id="notify-not-chosen"' in content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert len(mail.outbox) == 3
    assert all("Thank you for entering" in m.subject for m in mail.outbox)
    content = client.get(dashboard_url(contest)).content.decode()
    assert 'id="notify-not-chosen"' not in content and 'id="not-chosen-done"' in content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "already been told" in response.content.decode()
    assert len(mail.outbox) == 3


def test_the_dashboard_of_an_unknown_contest_is_not_found(client, organizer):
    assert client.get("/contests/nope/dashboard/").status_code == 404
    contest = ContestFactory()
    assert client.get(dashboard_url(contest) + "?page=abc").status_code == 200


def test_the_admin_action_asks_for_a_reason_then_disqualifies(client, organizer):
    _contest, draw = drawn_contest(winners=1, alternates=1)
    place = winner(draw)
    url = reverse("admin:contests_selection_changelist")
    data = {"action": "disqualify", "_selected_action": [place.pk]}
    response = client.post(url, data)
    assert response.status_code == 200 and 'name="reason"' in response.content.decode()
    assert winner(draw).status == Status.PENDING
    response = client.post(url, {**data, "apply": "1", "reason": "Fake account"})
    assert response.status_code == 302
    assert winner(draw).status == Status.DISQUALIFIED
    assert winner(draw).events.get(action=Action.DISQUALIFIED).actor == organizer
    assert alternate(draw).status == Status.PENDING
    change = reverse("admin:contests_selection_change", args=[place.pk])
    assert "Fake account" in client.get(change).content.decode()


def test_the_selection_admin_shows_its_log_with_named_actions(client, organizer):
    _contest, draw = drawn_contest(winners=1, alternates=1)
    place = winner(draw)
    selection_disqualify(selection=place, actor=organizer, reason="Fake account")
    response = client.get(reverse("admin:contests_selection_change", args=[place.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert str(Action.DISQUALIFIED.label) in content and "Fake account" in content
    # Named, not stored: in French the log reads the label, not the value.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(reverse("admin:contests_selection_change", args=[place.pk]))
    assert "disqualifiée" in french.content.decode()
