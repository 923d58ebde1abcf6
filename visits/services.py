"""Business rules of the visits app: visitors, itineraries, the day itself, privacy.

Callers import from here: ``from visits import services``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar as ICalendar
from icalendar import Event as ICalEvent
from icalendar import Timezone as ICalTimezone
from icalendar import vText

from contests.models import Entry, Selection, SelectionEvent
from notifications.models import OutboxMessage
from notifications.services import CLEARED_ERROR, mail_enqueue
from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url
from tweetup.vocabulary import language_name

from .models import (
    LanguageLevel,
    LiveUpdate,
    Question,
    QuestionVote,
    StopChange,
    TourStop,
    Visit,
    VisitMessage,
    VisitorProfile,
)

logger = logging.getLogger(__name__)

PROFILE_SALT = "visits.visitor-profile"
CHECK_IN_SALT = "visits.check-in"


class VisitError(Exception):
    """A rule of the visit was not met; the message is fit to show to a person."""


# Visitor profiles -----------------------------------------------------------


def visitor_profile_create(
    *, selection, notify: bool = True, base_url: str | None = None
) -> VisitorProfile:
    """The visitor profile of an accepted selection, made from its entry.

    Call it inside the transaction that accepts the place: the welcome mail
    (the visitor's signed links, and the visit's date and meeting point) is
    queued in it, unless ``notify`` is False. Safe to call again: the profile
    of a selection is made once (a one-to-one constraint holds it) and an
    existing one is returned unchanged; the mail's outbox key names the
    profile, so it is never queued twice.
    """
    with transaction.atomic():
        profile = VisitorProfile.objects.filter(selection=selection).first()
        if profile is None:
            entry = selection.entry
            profile, _created = VisitorProfile.objects.get_or_create(
                selection=selection,
                defaults={
                    "email": entry.email,
                    "language": entry.language,
                    "display_name": entry.first_name,
                    "handle": entry.twitter_handle,
                    "background": entry.background,
                    "background_other": entry.background_other,
                    "languages": [
                        {"code": code, "level": LanguageLevel.FLUENT}
                        for code in (entry.languages or [])
                    ],
                    "public_consent": bool(entry.publish_handle),
                },
            )
        if notify:
            welcome_mail_send(profile=profile, base_url=base_url)
    return profile


def visitor_profile_token(profile: VisitorProfile) -> str:
    """A signed token naming the profile; it expires after VISITOR_LINK_MAX_AGE."""
    return signing.dumps({"v": profile.pk}, salt=PROFILE_SALT)


def visitor_profile_url(profile: VisitorProfile, *, base_url: str | None = None) -> str:
    """The absolute, signed link to the visitor's own profile page (no password)."""
    path = reverse("visits:profile", kwargs={"token": visitor_profile_token(profile)})
    return absolute_url(path, base_url=base_url)


def visitor_profile_from_token(*, token: str) -> VisitorProfile:
    """The profile a signed link names; raises VisitError when the link is not genuine."""
    try:
        data = signing.loads(token, salt=PROFILE_SALT, max_age=settings.VISITOR_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise VisitError(
            _("This link has expired. Write to the organizers for a new one.")
        ) from exc
    except signing.BadSignature as exc:
        raise VisitError(
            _("This link is not valid. Open it exactly as it appears in your mail.")
        ) from exc
    if not (isinstance(data, dict) and isinstance(data.get("v"), int)):
        raise VisitError(_("This link is not valid. Open it exactly as it appears in your mail."))
    profile = (
        VisitorProfile.objects.select_related("selection__entry", "selection__draw__contest__visit")
        .filter(pk=data["v"])
        .first()
    )
    if profile is None:
        raise VisitError(_("This visitor profile no longer exists."))
    return profile


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _profile_editable(profile: VisitorProfile, now: datetime) -> None:
    if profile.private_data_removed_at is not None:
        raise VisitError(_("This visit is over and the profile was closed."))
    if profile.selection.status != "accepted":
        raise VisitError(_("This place is no longer yours, so the profile cannot change."))
    visit = profile.visit
    if visit is not None and now >= visit.day_start:
        raise VisitError(_("The day of the visit has come: the profile can no longer change."))


PROFILE_FIELDS = (
    "display_name",
    "handle",
    "languages",
    "background",
    "background_other",
    "bio",
    "dietary_needs",
    "accessibility_needs",
    "emergency_contact_name",
    "emergency_contact_phone",
    "photo_consent",
    "public_consent",
    "language",
)


def visitor_profile_update(
    *,
    profile: VisitorProfile,
    confirm_attendance: bool = False,
    base_url: str | None = None,
    now: datetime | None = None,
    **fields,
) -> VisitorProfile:
    """Save what the visitor wrote in their profile; confirm attendance when asked.

    The profile can change until the visit's day begins. The first
    confirmation sends the itinerary by mail (once). Raises VisitError when
    the profile can no longer change or a field is unknown.
    """
    now = _now(now)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise VisitError(_("Unknown profile fields: %(fields)s") % {"fields": ", ".join(unknown)})
    with transaction.atomic():
        profile = (
            VisitorProfile.objects.select_for_update(of=("self",))
            .select_related("selection__entry", "selection__draw__contest__visit")
            .get(pk=profile.pk)
        )
        _profile_editable(profile, now)
        for name, value in fields.items():
            setattr(profile, name, value)
        if "languages" in fields:
            profile.languages = _clean_languages(fields["languages"])
        if "handle" in fields:
            profile.handle = (fields["handle"] or "").strip().lstrip("@")
        confirming = confirm_attendance and profile.attendance_confirmed_at is None
        if confirming:
            if profile.visit is None:
                raise VisitError(
                    _("The visit is not scheduled yet; you can confirm once it is announced.")
                )
            profile.attendance_confirmed_at = now
        try:
            profile.full_clean(exclude=["selection", "checked_in_by"])
        except ValidationError as exc:
            raise VisitError(" ".join(exc.messages)) from exc
        profile.save()
        if confirming:
            itinerary_mail_send(profile=profile, base_url=base_url)
    return profile


def _clean_languages(languages) -> list[dict]:
    """Languages as [{"code", "level"}], one per code, known levels only."""
    from tweetup.vocabulary import language_choices

    codes = {code for code, _name in language_choices()}
    levels = set(LanguageLevel.values)
    cleaned: dict[str, str] = {}
    for item in languages or []:
        code = str(item.get("code", "")).strip().lower()
        level = str(item.get("level", "")).strip()
        if code in codes and level in levels:
            cleaned[code] = level
    return [{"code": code, "level": level} for code, level in cleaned.items()]


def visitor_profiles(visit: Visit):
    """The visitors of a visit who hold their place, with their entries."""
    return (
        VisitorProfile.objects.for_visit(visit)
        .active()
        .select_related("selection__entry", "selection__draw__contest__visit", "checked_in_by")
        .order_by("display_name", "pk")
    )


# Mail to visitors -----------------------------------------------------------


WELCOME_KIND = OutboxMessage.Kind.VISIT_WELCOME
ITINERARY_KIND = OutboxMessage.Kind.VISIT_ITINERARY
REMINDER_KIND = OutboxMessage.Kind.VISIT_REMINDER
CHANGES_KIND = OutboxMessage.Kind.VISIT_CHANGES
MESSAGE_KIND = OutboxMessage.Kind.VISIT_MESSAGE


def _visitor_mail_context(
    profile: VisitorProfile, visit: Visit | None, base_url: str | None
) -> dict:
    """What every mail to a visitor shows: the day, and the visitor's signed links.

    Without a scheduled visit there is no itinerary or calendar to link to yet.
    """
    token = visitor_profile_token(profile)

    def link(name: str) -> str:
        return absolute_url(reverse(name, kwargs={"token": token}), base_url=base_url)

    context = {
        "profile": profile,
        "visit": visit,
        "profile_url": link("visits:profile"),
        "badge_url": link("visits:badge"),
    }
    if visit is not None:
        context |= {
            "stops": list(visit.stops.select_related("location")),
            "time_zone": visit.time_zone,
            "itinerary_url": link("visits:visitor_itinerary"),
            "calendar_url": link("visits:visitor_calendar"),
        }
    return context


def _contest_id(profile: VisitorProfile) -> int:
    return profile.selection.draw.contest_id


def welcome_mail_send(*, profile: VisitorProfile, base_url: str | None = None):
    """Queue the mail that welcomes a winner who accepted; once per visitor.

    It carries the signed links back to the profile, the itinerary, the
    calendar and the badge, with the visit's date and meeting point, in the
    visitor's language. Returns the outbox row, or None when the profile has
    no address left (its private data was removed).
    """
    if not profile.email:
        return None
    return mail_enqueue(
        key=f"{WELCOME_KIND}:{profile.pk}",
        kind=WELCOME_KIND,
        to=profile.email,
        language=profile.language,
        template="visits/mail/welcome",
        context={
            **_visitor_mail_context(profile, profile.visit, base_url),
            "contest": profile.selection.draw.contest,
        },
        contest_id=_contest_id(profile),
        concerns=profile,
    )


def itinerary_mail_send(*, profile: VisitorProfile, base_url: str | None = None):
    """Queue the itinerary mail of a visitor who confirmed; once per visitor."""
    visit = profile.visit
    if visit is None:
        raise VisitError(_("The visit is not scheduled yet."))
    return mail_enqueue(
        key=f"{ITINERARY_KIND}:{profile.pk}",
        kind=ITINERARY_KIND,
        to=profile.email,
        language=profile.language,
        template="visits/mail/itinerary",
        context=_visitor_mail_context(profile, visit, base_url),
        contest_id=_contest_id(profile),
        concerns=profile,
    )


def visit_reminders_send(*, now: datetime | None = None, base_url: str | None = None) -> int:
    """Queue the reminder to the confirmed visitors of every visit that takes place tomorrow.

    "Tomorrow" is read in each visit's time zone. Safe to run as often as
    wished: each visitor's reminder has its own outbox key, so it goes once.
    Returns how many reminders were new.
    """
    now = _now(now)
    earliest = (now - timedelta(days=1)).date()
    latest = (now + timedelta(days=2)).date()
    queued = 0
    for visit in Visit.objects.filter(date__range=(earliest, latest)):
        if timezone.localtime(now, visit.tzinfo).date() + timedelta(days=1) != visit.date:
            continue
        for profile in visitor_profiles(visit).filter(attendance_confirmed_at__isnull=False):
            key = f"{REMINDER_KIND}:{profile.pk}"
            if OutboxMessage.objects.filter(key=key).exists() or not profile.email:
                continue
            with transaction.atomic():
                mail_enqueue(
                    key=key,
                    kind=REMINDER_KIND,
                    to=profile.email,
                    language=profile.language,
                    template="visits/mail/reminder",
                    context=_visitor_mail_context(profile, visit, base_url),
                    contest_id=_contest_id(profile),
                    concerns=profile,
                )
            queued += 1
    return queued


# Tour stops -----------------------------------------------------------------


@dataclass(frozen=True)
class StopSlot:
    """A tour stop as it is about to be saved: enough to check the day's rules."""

    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    pk: int | None = None


def _hm(moment: datetime, visit: Visit) -> str:
    return timezone.localtime(moment, visit.tzinfo).strftime("%H:%M")


def _span(start: datetime, end: datetime, visit: Visit) -> str:
    return f"{_hm(start, visit)}–{_hm(end, visit)}"


def stops_conflicts(*, visit: Visit, stops: Sequence[StopSlot]) -> list[str]:
    """The rules of a visit's day that these stops break, as messages naming the stops.

    Each stop ends after it starts, lies within the visit's day (in its time
    zone), and no two stops overlap (one may start when the previous ends).
    Pure: reads nothing from the database.
    """
    errors: list[str] = []
    timed = []
    day_start, day_end = visit.day_start, visit.day_end
    for stop in stops:
        if stop.starts_at is None or stop.ends_at is None:
            continue
        if stop.ends_at <= stop.starts_at:
            errors.append(
                _("“%(stop)s” ends (%(end)s) before it starts (%(start)s).")
                % {
                    "stop": stop.title,
                    "start": _hm(stop.starts_at, visit),
                    "end": _hm(stop.ends_at, visit),
                }
            )
            continue
        if stop.starts_at < day_start or stop.ends_at > day_end:
            errors.append(
                _("“%(stop)s” is not within the day of the visit (%(date)s, %(zone)s).")
                % {"stop": stop.title, "date": visit.date.isoformat(), "zone": visit.time_zone}
            )
        timed.append(stop)
    timed.sort(key=lambda s: (s.starts_at, s.ends_at))
    for index, first in enumerate(timed):
        for second in timed[index + 1 :]:
            if second.starts_at >= first.ends_at:
                break
            errors.append(
                _(
                    "“%(first)s” (%(first_start)s–%(first_end)s) and “%(second)s” "
                    "(%(second_start)s–%(second_end)s) overlap."
                )
                % {
                    "first": first.title,
                    "first_start": _hm(first.starts_at, visit),
                    "first_end": _hm(first.ends_at, visit),
                    "second": second.title,
                    "second_start": _hm(second.starts_at, visit),
                    "second_end": _hm(second.ends_at, visit),
                }
            )
    return errors


def stops_validate(
    *, visit: Visit, stops: Sequence[StopSlot], deleted_pks: Iterable[int] = ()
) -> None:
    """Check the stops about to be saved together with the visit's other stops.

    Locks the visit's row (when it exists) so that two editors never save
    overlapping stops side by side; call it inside the transaction that then
    saves the stops. ``stops`` are the new or changed stops, ``deleted_pks``
    those about to go; every other stop of the visit is read from the
    database. Raises ValidationError listing every conflict, by stop name.
    """
    others: list[StopSlot] = []
    if visit.pk is not None:
        list(Visit.objects.select_for_update().filter(pk=visit.pk).values_list("pk", flat=True))
        mentioned = {s.pk for s in stops if s.pk is not None} | set(deleted_pks)
        others = [
            StopSlot(title=stop.title, starts_at=stop.starts_at, ends_at=stop.ends_at, pk=stop.pk)
            for stop in TourStop.objects.filter(visit_id=visit.pk).exclude(pk__in=mentioned)
        ]
    errors = stops_conflicts(visit=visit, stops=[*stops, *others])
    if errors:
        raise ValidationError(errors)


def tour_stop_save(*, stop: TourStop, actor=None) -> TourStop:
    """Save one stop after checking it against the visit's other stops, under the visit's lock.

    A change of time or place is recorded so the confirmed visitors hear of
    it. Raises VisitError naming the stops in conflict.
    """
    with transaction.atomic():
        try:
            stops_validate(
                visit=stop.visit,
                stops=[
                    StopSlot(
                        title=stop.title, starts_at=stop.starts_at, ends_at=stop.ends_at, pk=stop.pk
                    )
                ],
            )
        except ValidationError as exc:
            raise VisitError(" ".join(exc.messages)) from exc
        old = None
        if stop.pk is not None:
            old = TourStop.objects.select_related("location").filter(pk=stop.pk).first()
        stop.save()
        if old is not None:
            stop_change_record(stop=stop, old=old, actor=actor)
    return stop


def stop_change_record(
    *, stop: TourStop, old: TourStop, actor=None, now: datetime | None = None
) -> StopChange | None:
    """Record that a stop's time or place changed; the visitors hear of it in one digest.

    ``old`` is the stop as it was before the save. Returns None when neither
    its time nor its place changed.
    """
    moved = old.starts_at != stop.starts_at or old.ends_at != stop.ends_at
    relocated = old.location_id != stop.location_id
    if not (moved or relocated):
        return None
    return StopChange.objects.create(
        visit_id=stop.visit_id,
        stop=stop,
        stop_title=stop.title,
        old_starts_at=old.starts_at,
        old_ends_at=old.ends_at,
        old_location=old.location.name if old.location_id else "",
        new_starts_at=stop.starts_at,
        new_ends_at=stop.ends_at,
        new_location=stop.location.name if stop.location_id else "",
        changed_at=_now(now),
        changed_by=actor if actor is not None and actor.is_authenticated else None,
    )


def _changes_summary(changes: Sequence[StopChange], visit: Visit) -> list[dict]:
    """One line per stop: its time and place before the first change and after the last."""
    by_stop: dict[int | str, dict] = {}
    for change in changes:
        key = change.stop_id or change.stop_title
        item = by_stop.setdefault(
            key,
            {
                "title": change.stop_title,
                "old_starts_at": change.old_starts_at,
                "old_ends_at": change.old_ends_at,
                "old_location": change.old_location,
            },
        )
        item.update(
            title=change.stop_title,
            new_starts_at=change.new_starts_at,
            new_ends_at=change.new_ends_at,
            new_location=change.new_location,
        )
    lines = []
    for item in by_stop.values():
        time_changed = (item["old_starts_at"], item["old_ends_at"]) != (
            item["new_starts_at"],
            item["new_ends_at"],
        )
        place_changed = item["old_location"] != item["new_location"]
        if not (time_changed or place_changed):
            continue
        lines.append(
            {
                **item,
                "time_changed": time_changed,
                "place_changed": place_changed,
                "old_time": _span(item["old_starts_at"], item["old_ends_at"], visit),
                "new_time": _span(item["new_starts_at"], item["new_ends_at"], visit),
            }
        )
    return lines


def stop_changes_notify(
    *, now: datetime | None = None, quiet: timedelta | None = None, base_url: str | None = None
) -> int:
    """Send one mail per confirmed visitor listing the stops that changed, once edits settle.

    Changes of a visit wait until none came for ``quiet`` (setting
    VISIT_CHANGES_QUIET_MINUTES), so several edits within a few minutes make
    one mail. A visitor hears only of changes made after they confirmed.
    Each mail's outbox key names the visitor and the batch, so a retry never
    sends it twice. Returns how many mails were queued.
    """
    now = _now(now)
    if quiet is None:
        quiet = timedelta(minutes=getattr(settings, "VISIT_CHANGES_QUIET_MINUTES", 5))
    ready = (
        StopChange.objects.filter(notified_at__isnull=True)
        .values("visit_id")
        .annotate(last=Max("changed_at"))
        .filter(last__lte=now - quiet)
        .values_list("visit_id", flat=True)
    )
    queued = 0
    for visit_id in list(ready):
        with transaction.atomic():
            visit = Visit.objects.select_for_update().get(pk=visit_id)
            changes = list(
                StopChange.objects.select_for_update()
                .filter(visit=visit, notified_at__isnull=True)
                .order_by("changed_at", "pk")
            )
            if not changes or changes[-1].changed_at > now - quiet:
                continue
            batch = changes[-1].pk
            for profile in visitor_profiles(visit).filter(attendance_confirmed_at__isnull=False):
                seen = [c for c in changes if c.changed_at >= profile.attendance_confirmed_at]
                lines = _changes_summary(seen, visit)
                if not lines or not profile.email:
                    continue
                mail_enqueue(
                    key=f"{CHANGES_KIND}:{visit.pk}:{batch}:{profile.pk}",
                    kind=CHANGES_KIND,
                    to=profile.email,
                    language=profile.language,
                    template="visits/mail/changes",
                    context={**_visitor_mail_context(profile, visit, base_url), "changes": lines},
                    contest_id=_contest_id(profile),
                    concerns=profile,
                )
                queued += 1
            StopChange.objects.filter(pk__in=[c.pk for c in changes]).update(notified_at=now)
    return queued


# Questions from the public -------------------------------------------------


def questions_open(*, visit: Visit, now: datetime | None = None) -> bool:
    """Questions are taken until the end of the visit's day, in its time zone."""
    return _now(now) < visit.day_end


def question_submit(
    *, stop: TourStop, text: str, author_name: str = "", now: datetime | None = None
) -> Question:
    """Record a question for a tour stop; it waits for a tour admin's approval.

    Raises VisitError when the question is empty or too long, or the visit is over.
    """
    now = _now(now)
    text = " ".join((text or "").split())
    author_name = " ".join((author_name or "").split())
    if not text:
        raise VisitError(_("Write a question."))
    if len(text) > Question._meta.get_field("text").max_length:
        raise VisitError(_("Keep the question short: 280 characters at most."))
    if len(author_name) > Question._meta.get_field("author_name").max_length:
        raise VisitError(_("The name is too long: 60 characters at most."))
    if not questions_open(visit=stop.visit, now=now):
        raise VisitError(_("The visit is over: questions are closed."))
    return Question.objects.create(stop=stop, text=text, author_name=author_name, created_at=now)


_MODERATION = {
    "approve": ({Question.Status.PENDING, Question.Status.REJECTED}, Question.Status.APPROVED),
    "reject": ({Question.Status.PENDING, Question.Status.APPROVED}, Question.Status.REJECTED),
    "asked": ({Question.Status.APPROVED}, Question.Status.ASKED),
}


def question_moderate(
    *, question: Question, action: str, actor=None, now: datetime | None = None
) -> Question:
    """Approve, reject, or mark as asked a question; raises VisitError when it cannot."""
    if action not in _MODERATION:
        raise VisitError(_("Unknown action."))
    allowed, status = _MODERATION[action]
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        if question.status == status:
            return question
        if question.status not in allowed:
            raise VisitError(
                _("This question is %(status)s and cannot be changed that way.")
                % {"status": question.get_status_display().lower()}
            )
        was = question.status
        question.status = status
        question.moderated_at = _now(now)
        question.moderated_by = actor if actor is not None and actor.is_authenticated else None
        question.save(update_fields=["status", "moderated_at", "moderated_by"])
        log_action(
            actor=actor,
            action=Verb.QUESTION_MODERATE,
            target=question,
            changes={"status": [was, status]},
            visit=question.stop.visit_id,
            at=question.moderated_at,
        )
    return question


def questions_moderate(*, questions: Iterable[Question], action: str, actor=None) -> int:
    """Moderate several questions; returns how many took the new status."""
    done = 0
    for question in questions:
        try:
            question_moderate(question=question, action=action, actor=actor)
        except VisitError:
            continue
        done += 1
    return done


def question_answer(
    *, question: Question, answer: str, actor=None, now: datetime | None = None
) -> Question:
    """Record the guide's answer to an approved question."""
    answer = (answer or "").strip()
    if not answer:
        raise VisitError(_("Write the guide's answer."))
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        if question.status not in Question.PUBLIC_STATUSES:
            raise VisitError(_("Only an approved question can be answered."))
        question.answer = answer
        question.status = Question.Status.ANSWERED
        question.answered_at = _now(now)
        if question.moderated_by_id is None and actor is not None and actor.is_authenticated:
            question.moderated_by = actor
        question.save(update_fields=["answer", "status", "answered_at", "moderated_by"])
        log_action(
            actor=actor,
            action=Verb.QUESTION_ANSWER,
            target=question,
            data={"answer": answer},
            visit=question.stop.visit_id,
            at=question.answered_at,
        )
    return question


def question_vote(*, question: Question, voter_key: str) -> bool:
    """Count one up-vote of this browser for a public question.

    Returns False when this voter already voted (the database's unique
    constraint decides, under concurrency too). Raises VisitError when the
    question is not public.
    """
    if question.status not in Question.PUBLIC_STATUSES:
        raise VisitError(_("Only approved questions can be voted for."))
    if not voter_key:
        raise VisitError(_("Your browser must accept cookies to vote."))
    try:
        with transaction.atomic():
            QuestionVote.objects.create(question=question, voter_key=voter_key[:64])
    except IntegrityError:
        return False
    return True


# Live updates ----------------------------------------------------------------


def live_update_post(
    *, visit: Visit, text: str, author=None, stop: TourStop | None = None, now=None
) -> LiveUpdate:
    """Publish a short update on the day; raises VisitError when it is empty or too long."""
    text = (text or "").strip()
    if not text:
        raise VisitError(_("Write the update."))
    if len(text) > LiveUpdate._meta.get_field("text").max_length:
        raise VisitError(_("Keep the update short: 500 characters at most."))
    if stop is not None and stop.visit_id != visit.pk:
        raise VisitError(_("This stop belongs to another visit."))
    return LiveUpdate.objects.create(
        visit=visit,
        text=text,
        stop=stop,
        posted_at=_now(now),
        author=author if author is not None and author.is_authenticated else None,
    )


# Check-in ---------------------------------------------------------------------


def visitor_check_in_token(profile: VisitorProfile) -> str:
    return signing.dumps({"c": profile.pk}, salt=CHECK_IN_SALT)


def visitor_check_in_url(profile: VisitorProfile, *, base_url: str | None = None) -> str:
    """The absolute signed check-in link a tour admin opens from the badge's QR code."""
    path = reverse("visits:check_in_link", kwargs={"token": visitor_check_in_token(profile)})
    return absolute_url(path, base_url=base_url)


def visitor_from_check_in_token(*, token: str) -> VisitorProfile:
    try:
        data = signing.loads(token, salt=CHECK_IN_SALT, max_age=settings.VISITOR_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise VisitError(_("This check-in code has expired.")) from exc
    except signing.BadSignature as exc:
        raise VisitError(_("This check-in code is not valid.")) from exc
    if not (isinstance(data, dict) and isinstance(data.get("c"), int)):
        raise VisitError(_("This check-in code is not valid."))
    profile = (
        VisitorProfile.objects.select_related("selection__entry", "selection__draw__contest__visit")
        .filter(pk=data["c"])
        .first()
    )
    if profile is None:
        raise VisitError(_("This visitor no longer exists."))
    return profile


def visitor_check_in(
    *, profile: VisitorProfile, actor=None, undo: bool = False, now: datetime | None = None
) -> VisitorProfile:
    """Mark a visitor as arrived (or not, with ``undo``); checking in twice keeps the first time.

    Raises VisitError when the visitor no longer holds a place.
    """
    with transaction.atomic():
        profile = (
            VisitorProfile.objects.select_for_update(of=("self",))
            .select_related("selection__draw__contest")
            .get(pk=profile.pk)
        )
        if profile.selection.status != "accepted":
            raise VisitError(_("This visitor no longer holds a place."))
        was = profile.checked_in_at
        if undo:
            profile.checked_in_at = None
            profile.checked_in_by = None
        elif profile.checked_in_at is None:
            profile.checked_in_at = _now(now)
            profile.checked_in_by = actor if actor is not None and actor.is_authenticated else None
        profile.save(update_fields=["checked_in_at", "checked_in_by"])
        if was != profile.checked_in_at:
            contest = profile.selection.draw.contest
            log_action(
                actor=actor,
                action=Verb.CHECK_IN_UNDO if undo else Verb.CHECK_IN,
                target=profile,
                changes={"checked_in_at": [was, profile.checked_in_at]},
                contest=contest.pk,
                visit=contest.visit_id,
            )
    return profile


# Messages from the organizers ----------------------------------------------


def visit_message_send(
    *,
    visit: Visit,
    audience: str,
    subject_en: str,
    body_en: str,
    subject_fr: str = "",
    body_fr: str = "",
    actor=None,
    base_url: str | None = None,
) -> VisitMessage:
    """Write to the visitors of a visit (all, or those not confirmed yet) through the outbox.

    Each visitor gets the French text when they read French and one was
    written, else the English one. Returns the message with how many it reached.
    Raises VisitError when the English subject or text is missing.
    """
    subject_en, body_en = (subject_en or "").strip(), (body_en or "").strip()
    subject_fr, body_fr = (subject_fr or "").strip(), (body_fr or "").strip()
    if not (subject_en and body_en):
        raise VisitError(_("Write at least the English subject and message."))
    if audience not in VisitMessage.Audience.values:
        raise VisitError(_("Choose who receives the message."))
    with transaction.atomic():
        message = VisitMessage.objects.create(
            visit=visit,
            audience=audience,
            subject_en=subject_en,
            body_en=body_en,
            subject_fr=subject_fr,
            body_fr=body_fr,
            sent_by=actor if actor is not None and actor.is_authenticated else None,
        )
        profiles = visitor_profiles(visit).exclude(email="")
        if audience == VisitMessage.Audience.UNCONFIRMED:
            profiles = profiles.filter(attendance_confirmed_at__isnull=True)
        count = 0
        for profile in profiles:
            french = profile.language == "fr" and subject_fr and body_fr
            mail_enqueue(
                key=f"{MESSAGE_KIND}:{message.pk}:{profile.pk}",
                kind=MESSAGE_KIND,
                to=profile.email,
                language=profile.language,
                template="visits/mail/message",
                context={
                    **_visitor_mail_context(profile, visit, base_url),
                    "subject": subject_fr if french else subject_en,
                    "body": body_fr if french else body_en,
                },
                contest_id=_contest_id(profile),
                concerns=profile,
            )
            count += 1
        message.recipients_count = count
        message.save(update_fields=["recipients_count"])
        log_action(
            actor=actor,
            action=Verb.VISIT_MESSAGE,
            target=message,
            data={"audience": audience, "subject": subject_en, "recipients": count},
        )
    return message


# The group, for organizers ---------------------------------------------------


@dataclass
class GroupSummary:
    visitors: int
    confirmed: int
    checked_in: int
    # [{"code", "name", "speakers", "levels": [(level name, count)]}], most spoken first
    languages: list[dict]
    backgrounds: list[tuple[str, int]]
    # [{"visitor", "dietary", "accessibility"}]
    needs: list[dict]
    profiles: list[VisitorProfile]


def visit_group_summary(*, visit: Visit) -> GroupSummary:
    """What the group brings and needs: languages with levels, backgrounds, needs. One query."""
    from tweetup.vocabulary import Background

    profiles = list(visitor_profiles(visit))
    level_order = list(LanguageLevel.values)
    level_names = dict(LanguageLevel.choices)
    languages: dict[str, Counter] = defaultdict(Counter)
    for profile in profiles:
        for item in profile.languages or []:
            languages[item.get("code", "")][item.get("level", "")] += 1
    language_rows = [
        {
            "code": code,
            "name": language_name(code),
            "speakers": sum(levels.values()),
            "levels": [
                (level_names[level], levels[level])
                for level in reversed(level_order)
                if levels.get(level)
            ],
        }
        for code, levels in languages.items()
        if code
    ]
    language_rows.sort(key=lambda row: (-row["speakers"], row["name"]))
    backgrounds = Counter(
        profile.background_other
        if profile.background == Background.OTHER and profile.background_other
        else (profile.get_background_display() or _("Not given"))
        for profile in profiles
    )
    needs = [
        {
            "visitor": profile,
            "dietary": profile.dietary_needs,
            "accessibility": profile.accessibility_needs,
        }
        for profile in profiles
        if profile.dietary_needs or profile.accessibility_needs
    ]
    return GroupSummary(
        visitors=len(profiles),
        confirmed=sum(1 for p in profiles if p.is_confirmed),
        checked_in=sum(1 for p in profiles if p.is_checked_in),
        languages=language_rows,
        backgrounds=backgrounds.most_common(),
        needs=needs,
        profiles=profiles,
    )


# Calendar ----------------------------------------------------------------------


def visit_calendar(*, visit: Visit, private: bool = False, base_url: str | None = None) -> bytes:
    """The visit's stops as an iCalendar file, times in the visit's time zone.

    The public calendar names the stops, places, guides and languages; the
    visitors' one (``private``) adds the meeting point, practical notes and
    the stops' notes.
    """
    calendar = ICalendar()
    calendar.add("prodid", "-//TweetUp//Visit itinerary//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # X- properties are not known to be text: escape their line breaks explicitly.
    calendar.add("x-wr-calname", vText(visit.title))
    calendar.add("x-wr-timezone", visit.time_zone)
    stamp = timezone.now()
    page = absolute_url(visit.get_absolute_url(), base_url=base_url)
    for stop in visit.stops.select_related("location"):
        event = ICalEvent()
        event.add("uid", f"tourstop-{stop.pk}@tweetup")
        event.add("dtstamp", stamp)
        event.add("dtstart", timezone.localtime(stop.starts_at, visit.tzinfo))
        event.add("dtend", timezone.localtime(stop.ends_at, visit.tzinfo))
        event.add("summary", stop.title)
        place = stop.location.name
        if stop.location.address:
            place = f"{place}, {stop.location.address}"
        event.add("location", place)
        lines = []
        if stop.guide:
            lines.append(_("Guide: %(guide)s") % {"guide": stop.guide})
        lines.append(_("Language: %(language)s") % {"language": stop.language_name})
        if private:
            lines.append(_("Meeting point: %(place)s") % {"place": visit.meeting_point})
            if stop.notes:
                lines.append(stop.notes)
        lines.append(page)
        event.add("description", "\n".join(lines))
        event.add("url", page)
        calendar.add_component(event)
    if private and visit.practical_notes:
        calendar.add("x-wr-caldesc", vText(visit.practical_notes))
    calendar.subcomponents.insert(0, _vtimezone(visit))
    return calendar.to_ical()


def _vtimezone(visit: Visit) -> ICalTimezone:
    """The VTIMEZONE of the visit's time zone around its date, one onset per observance.

    icalendar lists the onsets of an observance as one multi-valued RDATE;
    widely used readers (vobject, hence Radicale) keep only its first value
    and then put summer stops an hour off. Each onset gets an observance of
    its own, which every reader understands, and only the two years around
    the visit are described.
    """
    margin = timedelta(days=400)
    source = ICalTimezone.from_tzid(
        visit.time_zone, first_date=visit.date - margin, last_date=visit.date + margin
    )
    zone = ICalTimezone()
    zone.add("tzid", visit.time_zone)
    for observance in source.subcomponents:
        onsets = [observance.decoded("dtstart")]
        rdates = observance.get("rdate", [])
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            onsets.extend(item.dt for item in rdate.dts)
        for onset in sorted(onsets):
            single = type(observance)()
            for name, value in observance.property_items(recursive=False)[1:-1]:
                if name not in ("DTSTART", "RDATE"):
                    single.add(name, value, encode=False)
            single.add("dtstart", onset)
            zone.add_component(single)
    return zone


# Privacy -------------------------------------------------------------------------


def _retention_days(days: int | None, setting: str) -> int:
    if days is None:
        days = getattr(settings, setting)
    if days < 0:
        raise VisitError(
            _("The number of days to keep personal data cannot be negative (%(days)s).")
            % {"days": days}
        )
    return days


def _visits_over(now: datetime, *, prefix: str = "") -> Q:
    """A filter for the visits whose day is over at ``now``, each in its own time zone.

    Every time zone lies within 14 hours of UTC: a visit dated two days or
    more before ``now``'s UTC date is over everywhere, and one dated after it
    nowhere. The visits of the two dates between are read and checked one by one.
    """
    today = now.astimezone(UTC).date()
    edge = Visit.objects.filter(date__range=(today - timedelta(days=1), today))
    over = [visit.pk for visit in edge if visit.day_end <= now]
    return Q(**{f"{prefix}date__lt": today - timedelta(days=1)}) | Q(**{f"{prefix}pk__in": over})


def _entries_to_forget(*, now: datetime, days: int) -> QuerySet[Entry]:
    """The entries ``entries_personal_data_remove`` forgets at ``now``; see there who and why."""
    since = now - timedelta(days=days)
    Status = Selection.Status
    holds_place = Selection.objects.filter(
        entry=OuterRef("pk"), status__in=(Status.PENDING, Status.ACCEPTED)
    )
    changed_since = SelectionEvent.objects.filter(selection__entry=OuterRef("pk"), at__gt=since)
    waiting = Selection.objects.filter(entry=OuterRef("pk"), status=Status.WAITING)
    return (
        Entry.objects.filter(
            contest__draw__drawn_at__lte=since, personal_data_removed_at__isnull=True
        )
        .exclude(Exists(holds_place))
        .exclude(Exists(changed_since))
        .exclude(
            Exists(waiting),
            Q(contest__visit__isnull=False),
            ~_visits_over(now, prefix="contest__visit__"),
        )
    )


def entries_personal_data_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Forget the entrants whom no place holds or can still reach, ``days`` after the draw.

    An entry of a contest drawn ``days`` ago or more is forgotten when:

    - it never had a place (not chosen, or not in the draw at all);
    - its place ended (declined, expired, disqualified), ``days`` after that
      last change, so that the mail telling the person has time to leave;
    - it is an alternate never offered a place, once no promotion can reach
      it. A free place goes to an alternate until the visit's day begins
      (``contests.services.selection_promote``), so the alternate goes once
      that day is over. A draw without a visit has no such end: its
      alternates wait as long as entries not chosen are kept, and a later
      promotion passes over them. Settled places are no end either: a
      visitor disqualified afterwards frees a place again.

    A pending or accepted place keeps its entry; ``visitors_private_data_remove``
    forgets the accepted ones after their visit. Names, emails, handles and
    motivations go; the ticket, country, background, languages, whether it
    was in the draw and when it was confirmed stay, so the counts and the
    draw's audit record remain verifiable. Two queries. Returns how many
    entries were forgotten. ``personal_data_remove`` also clears their mail in
    the outbox. Raises VisitError when ``days`` is negative.
    """
    now = _now(now)
    days = _retention_days(days, "PRIVACY_ENTRY_RETENTION_DAYS")
    return _entries_to_forget(now=now, days=days).update(**_entry_cleared_fields(now))


def _entry_cleared_fields(now: datetime) -> dict:
    marker = Concat(Value("~"), Cast("pk", output_field=CharField()))
    return {
        "name": "",
        "email": "",
        # Unique per contest: a marker no real address or handle can take.
        "email_normalized": marker,
        "twitter_handle": "",
        "handle_normalized": marker,
        "motivation": "",
        "background_other": "",
        "publish_handle": False,
        "personal_data_removed_at": now,
    }


def _outbox_clear(messages: QuerySet[OutboxMessage]) -> int:
    """Blank the address and text of these outbox rows; their key, kind and dates stay.

    The key stays so that the same notice is never queued again; a row still
    waiting is marked failed, as it can no longer reach anyone.
    """
    messages.filter(status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.FAILED, last_error=CLEARED_ERROR
    )
    return messages.update(to_email="", body_text="", body_html="")


def _concerning(people: QuerySet) -> Q:
    """The outbox rows about these people (entries, visitor profiles), as a filter.

    ``mail_enqueue(concerns=...)`` names the person a mail is about as
    ``app_label.model:pk`` (``notifications.services.concerns_label``).
    """
    label = Concat(
        Value(f"{people.model._meta.label_lower}:"), Cast("pk", output_field=CharField())
    )
    return Q(concerns__in=people.annotate(concerns_label=label).values("concerns_label"))


def outbox_personal_data_remove() -> int:
    """Clear the outbox rows about the entrants and visitors the purges have forgotten.

    A row is found by the person it concerns, never by its address, so a
    mail about an entrant who has since corrected their address goes too.
    Every person forgotten so far counts, so a mail written while a purge
    ran goes at the next. Returns how many rows were cleared.
    """
    forgotten = _concerning(Entry.objects.filter(personal_data_removed_at__isnull=False)) | (
        _concerning(VisitorProfile.objects.filter(private_data_removed_at__isnull=False))
    )
    return _outbox_clear(OutboxMessage.objects.exclude(to_email="").filter(forgotten))


def visitors_private_data_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Forget what visitors told the site, ``days`` after the date of their visit.

    Every profile loses its private data (email, needs, emergency contact);
    a visitor who did not agree to appear on public pages loses the display
    name, handle, bio and other background too, while those who agreed keep
    them on the visit's public page. The visitor's entry is forgotten like
    any other (name, email, handle, motivation). A profile whose place was
    taken back (disqualified) shows nowhere: it is cleared entirely as soon
    as ``entries_personal_data_remove`` forgets its entry. A visitor of a
    contest without a visit keeps everything until the visit is set.
    ``personal_data_remove`` also clears the mail about them in the outbox.

    Returns how many profiles changed. Raises VisitError when ``days`` is
    negative.
    """
    now = _now(now)
    days = _retention_days(days, "PRIVACY_VISITOR_RETENTION_DAYS")
    cutoff = timezone.localdate(now) - timedelta(days=days)
    holds_place = Q(selection__status=Selection.Status.ACCEPTED)
    due = VisitorProfile.objects.filter(
        Q(selection__draw__contest__visit__date__lt=cutoff)
        | (~holds_place & Q(selection__entry__personal_data_removed_at__isnull=False))
    )
    public_left = ~Q(display_name="", handle="", bio="", background_other="")
    with transaction.atomic():
        private_ids = list(
            due.filter(private_data_removed_at__isnull=True).values_list("pk", flat=True)
        )
        hidden_ids = list(
            due.filter(Q(public_consent=False) | ~holds_place)
            .filter(public_left)
            .values_list("pk", flat=True)
        )
        if private_ids:
            profiles = VisitorProfile.objects.filter(pk__in=private_ids)
            Entry.objects.filter(
                pk__in=profiles.values("selection__entry_id"),
                personal_data_removed_at__isnull=True,
            ).update(**_entry_cleared_fields(now))
            profiles.update(
                email="",
                dietary_needs="",
                accessibility_needs="",
                emergency_contact_name="",
                emergency_contact_phone="",
                private_data_removed_at=now,
            )
        if hidden_ids:
            VisitorProfile.objects.filter(pk__in=hidden_ids).update(
                display_name="", handle="", bio="", background_other=""
            )
    return len({*private_ids, *hidden_ids})


def personal_data_remove(
    *,
    now: datetime | None = None,
    entry_days: int | None = None,
    visitor_days: int | None = None,
) -> dict[str, int]:
    """Both purges and the outbox rows they concern; what the beat task and the command run.

    The entries first (``entries_personal_data_remove``), then the visitors
    (``visitors_private_data_remove``), which also clears the profiles whose
    entries the first forgot, then the mail about everyone forgotten
    (``outbox_personal_data_remove``), in one transaction. ``entry_days`` and
    ``visitor_days`` default to the settings PRIVACY_ENTRY_RETENTION_DAYS and
    PRIVACY_VISITOR_RETENTION_DAYS. Returns how many entries, visitor
    profiles and mails were cleared. Raises VisitError when either delay is
    negative, before anything is removed.
    """
    now = _now(now)
    entry_days = _retention_days(entry_days, "PRIVACY_ENTRY_RETENTION_DAYS")
    visitor_days = _retention_days(visitor_days, "PRIVACY_VISITOR_RETENTION_DAYS")
    with transaction.atomic():
        entries = entries_personal_data_remove(now=now, days=entry_days)
        visitors = visitors_private_data_remove(now=now, days=visitor_days)
        mails = outbox_personal_data_remove()
    return {"entries": entries, "visitors": visitors, "mails": mails}
