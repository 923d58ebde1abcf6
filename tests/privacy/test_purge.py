"""The purge of personal data across the apps, through its coordinator."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from contests.models import Entry
from contests.services.audit_record import draw_audit_record
from contests.services.draws import draw_run
from contests.services.privacy import entries_personal_data_remove
from contests.services.selections import selection_disqualify
from notifications.models import OutboxMessage
from tests.builders import drawn_contest, winner
from tests.factories import EntryFactory
from tests.visits.factories import (
    visitor,
)
from tweetup.privacy import personal_data_remove
from visitors.models import VisitorProfile
from visitors.services.mail import (
    welcome_mail_send,
)
from visitors.services.places import place_accept
from visitors.services.privacy import visitors_private_data_remove
from visitors.services.profiles import visitor_profile_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def draw(visit):
    """A drawn contest leading to the visit, whose one winner became a visitor.

    The tests add entries and places to it; the visitor is kept by every purge they run.
    The visit is 39 days after the draw, as their timelines assume.
    """
    _contest, draw = drawn_contest(winners=1, alternates=0, entries=1, visit=visit)
    place_accept(selection=winner(draw), can_attend=True)
    _visit_after(draw, visit, days=39)
    return draw


def _visit_after(draw, visit, *, days: int) -> None:
    """Move the draw's visit to ``days`` after the draw."""
    visit.date = (draw.drawn_at + timedelta(days=days)).date()
    visit.save(update_fields=["date"])


def test_entries_not_chosen_lose_their_personal_data_after_the_delay(
    draw, visit, django_assert_max_num_queries
):
    chosen = visitor(visit)
    others = [EntryFactory(contest=draw.contest, in_draw=True) for _ in range(3)]
    tickets = sorted(Entry.objects.filter(contest=draw.contest).values_list("ticket", flat=True))
    drawn_at = draw.drawn_at
    assert entries_personal_data_remove(now=drawn_at + timedelta(days=29), days=30) == 0
    # One query reads the visits whose day ends around now, one UPDATE forgets the entries.
    with django_assert_max_num_queries(2):
        removed = entries_personal_data_remove(now=drawn_at + timedelta(days=31), days=30)
    assert removed == 3
    for entry in Entry.objects.filter(pk__in=[e.pk for e in others]):
        assert (entry.name, entry.email, entry.twitter_handle, entry.motivation) == ("", "", "", "")
        assert entry.email_normalized == entry.handle_normalized == f"~{entry.pk}"
        assert entry.personal_data_removed_at is not None
        assert entry.in_draw and entry.confirmed_at and entry.country
    # Counts and the tickets of the audit record stay.
    assert (
        sorted(Entry.objects.filter(contest=draw.contest).values_list("ticket", flat=True))
        == tickets
    )
    assert Entry.objects.get(pk=chosen.selection.entry_id).email == chosen.email
    assert entries_personal_data_remove(now=drawn_at + timedelta(days=40), days=30) == 0


def test_visitors_private_data_goes_after_the_visit(visit):
    profile = visitor(visit)
    visitor_profile_update(
        profile=profile,
        dietary_needs="Vegan",
        emergency_contact_name="Mum",
        emergency_contact_phone="+41 22 000 00 00",
        bio="Physicist",
        public_consent=True,
    )
    assert visitors_private_data_remove(now=visit.day_end, days=30) == 0
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=32), days=30) == 1
    profile.refresh_from_db()
    assert (profile.email, profile.dietary_needs, profile.emergency_contact) == ("", "", "")
    assert profile.bio == "Physicist"
    entry = Entry.objects.get(pk=profile.selection.entry_id)
    assert entry.email == "" and entry.personal_data_removed_at is not None


def _outbox_row(
    key: str, *, to: str, contest_id: int | None, concerns=None, **fields
) -> OutboxMessage:
    """A mail in the outbox to ``to``, about ``concerns`` (an entry, a visitor profile)."""
    from notifications.services.outbox import concerns_label

    fields.setdefault("kind", "entry_confirm")
    fields.setdefault("body_text", f"Hello, {to}")
    fields.setdefault("body_html", f"<p>{fields['body_text']}</p>")
    return OutboxMessage.objects.create(
        key=key,
        contest_id=contest_id,
        to_email=to,
        subject="Confirm your entry",
        concerns=concerns_label(concerns),
        **fields,
    )


def test_purge_keeps_the_draws_audit_record_verifiable():
    from contests import draw_algorithm
    from tests.contests.drawing import frozen_contest

    contest = frozen_contest(24)
    draw = draw_run(contest=contest, actor=None, caps={"country": 1}, notify=False)
    before = draw_audit_record(draw=draw)
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    # Without a visit, the alternates never offered a place go with the entries not chosen.
    assert removed["entries"] == 24 - len(before["winners"])
    assert Entry.objects.filter(contest=contest, email="").count() == removed["entries"]
    after = draw_audit_record(draw=draw)
    assert after == before
    assert draw_algorithm.verify_audit_record(after) == []


def test_purge_clears_the_mail_written_to_entries_not_chosen(draw, visit):
    chosen = visitor(visit)
    other = EntryFactory(contest=draw.contest, in_draw=True, email="Someone@Example.org")
    # The same person in a contest of its own, whose entry stays.
    again = EntryFactory(email=other.email)
    contest_id = draw.contest_id
    sent = _outbox_row(
        "confirm:other", to="someone@example.org", contest_id=contest_id, concerns=other,
        status=OutboxMessage.Status.SENT, sent_at=draw.drawn_at,
    )  # fmt: skip
    waiting = _outbox_row("notice:other", to=other.email, contest_id=contest_id, concerns=other)
    kept = _outbox_row(
        "confirm:chosen", to=chosen.email, contest_id=contest_id, concerns=chosen.selection.entry
    )
    elsewhere = _outbox_row(
        "confirm:elsewhere", to=other.email, contest_id=again.contest_id, concerns=again
    )
    assert personal_data_remove(now=draw.drawn_at + timedelta(days=29))["entries"] == 0
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    assert removed == {"site_access": 0, "entries": 1, "visitors": 0, "mails": 2, "exports": 0}
    for row in (sent, waiting):
        row.refresh_from_db()
        assert (row.to_email, row.body_text, row.body_html) == ("", "", "")
        assert row.key and row.kind == "entry_confirm"
    assert sent.status == OutboxMessage.Status.SENT
    assert waiting.status == OutboxMessage.Status.FAILED and waiting.last_error
    for row in (kept, elsewhere):
        row.refresh_from_db()
        assert row.to_email and row.body_text


def test_visitors_purge_clears_the_mail_written_to_them(visit):
    profile = visitor(visit)
    itinerary = _outbox_row(
        "visit_itinerary:1", to=profile.email.upper(), contest_id=profile.selection.draw.contest_id,
        concerns=profile, status=OutboxMessage.Status.SENT, sent_at=timezone.now(),
    )  # fmt: skip
    now = visit.day_end + timedelta(days=32)
    assert personal_data_remove(now=now, visitor_days=30)["visitors"] == 1
    itinerary.refresh_from_db()
    assert (itinerary.to_email, itinerary.body_text) == ("", "")


def _place(draw, status: str, *, kind: str = "winner", at=None):
    """A place of the draw in this state since ``at`` (the draw by default), and a mail to it."""
    from contests.models import Selection, SelectionEvent

    at = at or draw.drawn_at
    entry = EntryFactory(contest=draw.contest, in_draw=True)
    selection = Selection.objects.create(
        draw=draw,
        entry=entry,
        kind=kind,
        position=draw.selections.filter(kind=kind).count() + 1,
        status=status,
        deadline=None if status == "waiting" else at + timedelta(days=3),
    )
    SelectionEvent.objects.create(selection=selection, action="drawn", at=draw.drawn_at)
    if status != "waiting":
        action = "offered" if status == "pending" else status
        SelectionEvent.objects.create(selection=selection, action=action, at=at)
    _outbox_row(f"notice:{entry.pk}", to=entry.email, contest_id=draw.contest_id, concerns=entry)
    return selection


def _forgotten(selection) -> bool:
    """Whether the entry and the mail written to it lost their personal data."""
    entry = Entry.objects.get(pk=selection.entry_id)
    row = OutboxMessage.objects.get(key=f"notice:{entry.pk}")
    entry_gone = (entry.name, entry.email, entry.twitter_handle, entry.motivation) == ("",) * 4
    assert entry_gone == (entry.personal_data_removed_at is not None)
    assert entry_gone == ((row.to_email, row.body_text, row.body_html) == ("", "", ""))
    return entry_gone


def test_purge_forgets_the_winners_who_gave_up_or_lost_their_place_and_their_mail(draw, visit):
    """A declined, expired or disqualified place holds nobody: it goes like an entry not chosen."""
    drawn_at = draw.drawn_at
    gone = [
        _place(draw, "declined", at=drawn_at + timedelta(hours=5)),
        _place(draw, "expired", at=drawn_at + timedelta(days=3)),
        _place(draw, "disqualified", at=drawn_at + timedelta(days=1)),
        _place(draw, "expired", kind="alternate", at=drawn_at + timedelta(days=2)),
    ]
    held = [
        _place(draw, "pending", at=drawn_at + timedelta(days=6)),
        _place(draw, "accepted", at=drawn_at + timedelta(hours=2)),
    ]
    # The visit, 39 days after the draw, is still to come.
    now = drawn_at + timedelta(days=34)
    removed = personal_data_remove(now=now, entry_days=30, visitor_days=30)
    assert removed == {"site_access": 0, "entries": 4, "visitors": 0, "mails": 4, "exports": 0}
    assert all(_forgotten(selection) for selection in gone)
    assert not any(_forgotten(selection) for selection in held)


def test_a_place_given_up_late_is_kept_the_delay_after_it_ended(draw):
    """Its last mail (the decline's confirmation) has the whole delay to leave."""
    late = _place(draw, "declined", at=draw.drawn_at + timedelta(days=25))
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
    assert not _forgotten(late)
    now = draw.drawn_at + timedelta(days=56)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 1
    assert _forgotten(late)


@pytest.mark.parametrize("time_zone", ["Europe/Zurich", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_alternates_never_offered_are_forgotten_once_their_visits_day_is_over(
    draw, visit, time_zone
):
    """A free place goes to a waiting alternate until the visit's day begins; the day ends it."""
    visit.time_zone = time_zone
    visit.save(update_fields=["time_zone"])
    waiting = _place(draw, "waiting", kind="alternate")
    for now in (
        draw.drawn_at + timedelta(days=31),
        visit.day_start + timedelta(hours=10),
        visit.day_end - timedelta(minutes=1),
    ):
        assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
        assert not _forgotten(waiting)
    assert personal_data_remove(now=visit.day_end, entry_days=30)["entries"] == 1
    assert _forgotten(waiting)


def test_without_a_visit_alternates_wait_as_long_as_entries_not_chosen_are_kept():
    _contest, draw = drawn_contest(winners=1, alternates=0, entries=1, visit=None)
    place_accept(selection=winner(draw), can_attend=True)
    waiting = _place(draw, "waiting", kind="alternate")
    now = draw.drawn_at + timedelta(days=29)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 0
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now, entry_days=30)["entries"] == 1
    assert _forgotten(waiting)


def test_purge_clears_and_never_sends_mail_to_addresses_only_python_lowercases(visit):
    """SQLite's LOWER (and a C-locale PostgreSQL's) folds ASCII letters only: not Ë or Ä."""
    from notifications.services.sending import message_send

    _contest, draw = drawn_contest(
        winners=[{"email": "ÅSA@BÜRO.EXAMPLE"}], alternates=0, entries=1, visit=visit
    )
    profile = place_accept(selection=winner(draw), can_attend=True)
    other = EntryFactory(contest=draw.contest, in_draw=True, email="ZOË@EXÄMPLE.ORG")
    assert other.email_normalized == "zoë@exämple.org"
    notice = _outbox_row(
        "not_chosen:zoe", to=other.email, contest_id=draw.contest_id, concerns=other
    )
    message = _outbox_row(
        "visit_message:asa", to="Åsa@Büro.example", contest_id=draw.contest_id, concerns=profile
    )
    assert OutboxMessage.objects.filter(to_email__in=[profile.email]).count() == 2  # entry, welcome
    now = visit.day_end + timedelta(days=32)
    removed = personal_data_remove(now=now, entry_days=30, visitor_days=30)
    assert (removed["entries"], removed["visitors"]) == (1, 1)
    assert not OutboxMessage.objects.exclude(to_email="").exists()
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()
    for row in (notice, message):
        row.refresh_from_db()
        assert (row.to_email, row.body_text, row.status) == ("", "", OutboxMessage.Status.FAILED)
    assert not any(
        message_send(message_id=pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)
    )
    assert mail.outbox == []


def test_visitors_who_did_not_consent_lose_their_public_profile_after_the_visit(visit):
    shown, hidden, earlier = visitor(visit), visitor(visit), visitor(visit)
    for profile, name, consent in (
        (shown, "Ada", True),
        (hidden, "Grace", False),
        (earlier, "Alan", False),
    ):
        visitor_profile_update(
            profile=profile, display_name=name, handle=f"{name}_x", bio=f"{name}'s bio",
            background_other="Museum guide", public_consent=consent,
        )  # fmt: skip
    # The purge before this one cleared the private side only.
    VisitorProfile.objects.filter(pk=earlier.pk).update(
        email="", private_data_removed_at=timezone.now()
    )
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=29), days=30) == 0
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=31), days=30) == 3
    for profile in (shown, hidden, earlier):
        profile.refresh_from_db()
        assert profile.email == "" and profile.private_data_removed_at is not None
    assert (shown.display_name, shown.handle, shown.bio) == ("Ada", "Ada_x", "Ada's bio")
    for profile in (hidden, earlier):
        fields = (profile.display_name, profile.handle, profile.bio, profile.background_other)
        assert fields == ("", "", "", "")
    assert visitors_private_data_remove(now=visit.day_end + timedelta(days=40), days=30) == 0


def test_a_visitor_whose_place_was_taken_back_is_forgotten_with_their_entry(visit):
    profile = visitor(visit)
    draw = profile.selection.draw
    _visit_after(draw, visit, days=39)
    visitor_profile_update(
        profile=profile, display_name="Eve", handle="eve_x", bio="Not who she said",
        dietary_needs="Vegan", public_consent=True,
    )  # fmt: skip
    selection_disqualify(
        selection=profile.selection, actor=None, reason="Not who she said",
        now=draw.drawn_at + timedelta(days=1),
    )  # fmt: skip
    # Before the visit (39 days after the draw), once the delay after the disqualification.
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=32))
    assert (removed["entries"], removed["visitors"]) == (1, 1)
    profile.refresh_from_db()
    assert (profile.email, profile.dietary_needs, profile.private_data_removed_at is None) == (
        "",
        "",
        False,
    )
    assert (profile.display_name, profile.handle, profile.bio) == ("", "", "")
    assert not OutboxMessage.objects.exclude(to_email="").exists()  # confirmation, welcome


def test_purge_clears_mail_about_an_entrant_at_an_address_since_corrected(draw):
    """The mail names the person it is about: the address it went to need not be theirs now."""
    other = EntryFactory(contest=draw.contest, in_draw=True, email="lucy@exmaple.org")
    typo = _outbox_row("confirm:typo", to=other.email, contest_id=draw.contest_id, concerns=other)
    Entry.objects.filter(pk=other.pk).update(
        email="lucy@example.org", email_normalized="lucy@example.org"
    )
    removed = personal_data_remove(now=draw.drawn_at + timedelta(days=31))
    assert (removed["entries"], removed["mails"]) == (1, 1)
    typo.refresh_from_db()
    assert (typo.to_email, typo.body_text, typo.status) == ("", "", OutboxMessage.Status.FAILED)


def test_a_mail_written_while_the_purge_ran_goes_at_the_next(draw, visit):
    """A task that read the entry before the purge may queue its mail after it."""
    other = EntryFactory(contest=draw.contest, in_draw=True)
    address = other.email
    now = draw.drawn_at + timedelta(days=31)
    assert personal_data_remove(now=now)["entries"] == 1
    late = _outbox_row("not_chosen:late", to=address, contest_id=draw.contest_id, concerns=other)
    removed = personal_data_remove(now=now + timedelta(hours=6))
    assert removed == {"site_access": 0, "entries": 0, "visitors": 0, "mails": 1, "exports": 0}
    late.refresh_from_db()
    assert (late.to_email, late.status) == ("", OutboxMessage.Status.FAILED)


def test_mail_written_before_it_named_its_person_is_named_by_the_migration(visit):
    """Rows from before ``concerns`` get their entry or visitor, found by contest and address.

    The migration ran while the visits app held the visitor profiles; a later
    one names them by the visitors app that holds them now.
    """
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = importlib.import_module("visits.migrations.0003_outbox_concerns")
    renaming = importlib.import_module("notifications.migrations.0006_concerns_visitors")
    loader = MigrationLoader(connection)
    then = loader.project_state(("visits", "0003_outbox_concerns"), at_end=False).apps
    now = loader.project_state(("notifications", "0006_concerns_visitors")).apps
    contest, draw = drawn_contest(
        winners=[{"email": "Asa@Example.org"}], alternates=0, entries=1, visit=visit
    )
    profile = place_accept(selection=winner(draw), can_attend=True)
    contest_id = contest.pk
    zoe = EntryFactory(contest=contest, in_draw=True, email="Zoë@Exämple.org")
    elsewhere = EntryFactory(email="Zoë@Exämple.org")
    rows = {
        "confirm": _outbox_row("confirm", to="ZOË@EXÄMPLE.ORG", contest_id=contest_id),
        "offer": _outbox_row(
            "offer", to=profile.email, contest_id=contest_id, kind="selection_offer"
        ),
        "welcome": _outbox_row(
            "welcome", to="asa@example.org", contest_id=contest_id, kind="visit_welcome"
        ),
        "elsewhere": _outbox_row("elsewhere", to=zoe.email, contest_id=elsewhere.contest_id),
        "stranger": _outbox_row("stranger", to="nobody@example.org", contest_id=contest_id),
        "report": _outbox_row("report", to=zoe.email, contest_id=None, kind="mail_failed"),
    }
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows.values()]).update(concerns=None)
    migration.name_the_people(then, None)
    renaming.forward(now, None)
    named = dict(OutboxMessage.objects.filter(key__in=rows).values_list("key", "concerns"))
    assert named == {
        "confirm": f"contests.entry:{zoe.pk}",
        "offer": f"contests.entry:{profile.selection.entry_id}",
        "welcome": f"visitors.visitorprofile:{profile.pk}",
        "elsewhere": f"contests.entry:{elsewhere.pk}",
        "stranger": None,
        "report": None,
    }


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = value.values()
    if isinstance(value, list | type({}.values())):
        return [text for item in value for text in _strings(item)]
    return []


def test_after_the_purge_the_demo_database_names_nobody_it_forgot(tmp_path, settings):
    """Everyone the demo no longer needs is gone from every table; the draw stays verifiable."""
    import io
    import json
    import re
    from unittest import mock

    from django.core.management import call_command

    from contests.models import Contest, Selection
    from visits.models import Visit

    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    draw = Contest.objects.get(slug="first-cern-tweetup-2012").draw
    record = draw_audit_record(draw=draw)
    entries = list(Entry.objects.filter(contest__draw__isnull=False))
    statuses = set(Selection.objects.filter(draw=draw).values_list("status", flat=True))
    assert {"accepted", "declined", "expired", "waiting"} <= statuses
    # The mail the site wrote to each of them, some still waiting to leave.
    for entry in entries:
        _outbox_row(
            f"entry_confirm:{entry.pk}", to=entry.email, contest_id=entry.contest_id,
            concerns=entry,
            body_text=f"Dear {entry.name} (@{entry.twitter_handle}): “{entry.motivation}”",
        )  # fmt: skip
    profiles = list(VisitorProfile.objects.all())
    for profile in profiles:
        welcome_mail_send(profile=profile)
    shown = [profile for profile in profiles if profile.public_consent]
    hidden = [profile for profile in profiles if not profile.public_consent]
    assert shown and hidden

    later = max(visit.day_end for visit in Visit.objects.all()) + timedelta(
        days=max(settings.PRIVACY_ENTRY_RETENTION_DAYS, settings.PRIVACY_VISITOR_RETENTION_DAYS) + 1
    )
    with mock.patch("django.utils.timezone.now", return_value=later):
        call_command("purge_personal_data", stdout=io.StringIO())

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = "\n".join(_strings(json.loads(dump.getvalue())))
    lowered = text.lower()
    public_handles = {profile.handle.lower() for profile in shown}
    for entry in entries:
        assert entry.name not in text
        assert entry.email.lower() not in lowered
        assert entry.motivation not in text
        handle = entry.twitter_handle.lower()
        if handle not in public_handles:
            assert not re.search(rf"(?<![a-z0-9_]){re.escape(handle)}(?![a-z0-9_])", lowered)
    for profile in hidden:
        assert profile.bio not in text
        profile.refresh_from_db()
        assert (profile.display_name, profile.handle, profile.bio) == ("", "", "")
    for profile in shown:
        profile.refresh_from_db()
        assert profile.display_name and profile.handle and profile.bio
    assert not OutboxMessage.objects.exclude(to_email="").exists()

    after = draw_audit_record(draw=draw)
    assert after == record
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(after))
    out = io.StringIO()
    call_command("verify_draw", str(path), stdout=out)
    assert "OK" in out.getvalue()


@pytest.mark.parametrize("argument", ["--entry-days=-1", "--visitor-days=-3"])
def test_purge_command_refuses_negative_days_and_removes_nothing(draw, argument):
    from django.core.management import CommandError, call_command

    other = EntryFactory(contest=draw.contest, in_draw=True)
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("purge_personal_data", argument)
    other.refresh_from_db()
    assert other.email and other.personal_data_removed_at is None


def test_purge_command_and_beat_task_use_the_configured_delays(
    draw, settings, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from tweetup import tasks
    from tweetup.models import Job

    def purge_job() -> Job:
        """Beat's task starts the purge as a background job, which runs after commit."""
        with django_capture_on_commit_callbacks(execute=True):
            job_id = tasks.remove_personal_data.apply().get()
        job = Job.objects.get(pk=job_id, kind=Job.Kind.PURGE)
        assert job.state == Job.State.DONE, job.outcome
        return job

    other = EntryFactory(contest=draw.contest, in_draw=True)
    draw.drawn_at = timezone.now() - timedelta(days=10)
    draw.save(update_fields=["drawn_at"])
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 11
    assert purge_job().outcome.startswith("Personal data removed from 0 entries")
    out = StringIO()
    call_command("purge_personal_data", "--entry-days=9", stdout=out)
    assert "Personal data removed from 1 entries that hold no place" in out.getvalue()
    other.refresh_from_db()
    assert other.email == "" and other.personal_data_removed_at is not None
    settings.PRIVACY_ENTRY_RETENTION_DAYS = 9
    assert purge_job().outcome.startswith("Personal data removed from 0 entries")
