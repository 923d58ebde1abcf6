"""Business rules for contests and entries."""

import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from notifications.services.outbox import mail_enqueue
from tweetup.links import absolute_url, signed_link_data, signed_link_token
from tweetup.vocabulary import clean_handle

from .. import draw_algorithm
from ..errors import AlreadyEntered, ContestError
from ..models import Contest, Entry
from ..normalize import normalize_email
from .banners import banner_prepare
from .privacy import entry_withdraw_url

logger = logging.getLogger(__name__)

TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CONFIRM_SALT = "contests.entry-confirm"


def ticket_generate() -> str:
    """A short, unambiguous public reference such as ``K7F3-9QXD``."""
    chars = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def contest_create(**fields) -> Contest:
    """Create a contest with its secret seed; the commitment is public from now on."""
    return contest_save(contest=Contest(**fields))


def contest_save(*, contest: Contest) -> Contest:
    """Save a contest as an organizer wrote it; a new one gets its secret seed now.

    The seed is made here and nowhere else: its commitment (sha256) is public
    from the contest's creation, and the draw rests on it. A new banner gets
    its share card (``banners.banner_prepare``); ContestError when it is refused.
    """
    if contest.pk is None:
        contest.seed = draw_algorithm.new_seed()
    banner_prepare(contest=contest)
    contest.save()
    return contest


def entry_identity_conflicts(*, entry: Entry, email: str, twitter_handle: str) -> dict[str, str]:
    """What another entry of the contest already uses of this email and handle, by field.

    Maps ``email`` and ``twitter_handle`` to the message to show. The database
    holds one entry per normalised email and handle; this says so kindly first.
    """
    others = Entry.objects.filter(contest_id=entry.contest_id).exclude(pk=entry.pk)
    conflicts = {}
    if email and others.filter(email_normalized=normalize_email(email)).exists():
        conflicts["email"] = _("Another entry in this contest uses this address.")
    if twitter_handle and others.filter(handle_normalized=twitter_handle.lower()).exists():
        conflicts["twitter_handle"] = _("Another entry in this contest uses this handle.")
    return conflicts


def entry_correct(*, entry: Entry) -> Entry:
    """Save an organizer's correction of an entry, its normalised email and handle in step.

    ``entry.twitter_handle`` is a handle already cleaned (``clean_handle``).
    Raises ContestError when another entry of the contest uses the address or
    the handle; its ``extra["fields"]`` says which, as
    ``entry_identity_conflicts`` does.
    """
    entry.email = entry.email.strip()
    conflicts = entry_identity_conflicts(
        entry=entry, email=entry.email, twitter_handle=entry.twitter_handle
    )
    if conflicts:
        raise ContestError(" ".join(conflicts.values()), extra={"fields": conflicts})
    entry.email_normalized = normalize_email(entry.email)
    entry.handle_normalized = entry.twitter_handle.lower()
    entry.save()
    return entry


def entry_confirm_token(entry: Entry) -> str:
    return signed_link_token(salt=CONFIRM_SALT, compact=True, e=entry.pk)


def entry_confirm_url(entry: Entry, *, base_url: str | None = None) -> str:
    path = reverse("contests:confirm", kwargs={"token": entry_confirm_token(entry)})
    return absolute_url(path, base_url=base_url)


def _queue_confirmation(
    entry: Entry,
    *,
    key: str,
    base_url: str | None,
    template: str = "contests/mail/entry_confirm",
) -> None:
    """Queue a mail carrying the entry's confirmation link (the first one, or a reminder).

    The worker that sends it renders its bodies: the entry's request renders
    only the subject. What the templates read is given as plain values, the
    contest's title in the entrant's language.
    """
    with translation.override(entry.language):
        title = str(entry.contest.title)
    mail_enqueue(
        key=key,
        kind=OutboxMessage.Kind.ENTRY_CONFIRM,
        to=entry.email,
        language=entry.language,
        template=template,
        context={
            "entry": {"name": entry.name, "confirmed_at": bool(entry.confirmed_at)},
            "contest": {"title": title},
            "confirm_url": entry_confirm_url(entry, base_url=base_url),
            "withdraw_url": entry_withdraw_url(entry, base_url=base_url),
            "valid_days": settings.ENTRY_CONFIRM_MAX_AGE.days,
        },
        contest_id=entry.contest_id,
        concerns=entry,
        bodies_in_worker=True,
    )


def entry_submit(
    *,
    contest: Contest,
    name: str,
    email: str,
    twitter_handle: str,
    country: str,
    languages: list[str],
    background: str,
    motivation: str,
    language: str,
    publish_handle: bool = False,
    background_other: str = "",
    base_url: str | None = None,
) -> Entry:
    """Save an entry and queue its confirmation mail in the same transaction.

    Guarantees one entry per person per contest (normalised email and handle),
    under concurrency too: the database constraints decide. Raises
    ContestError when the contest is not open, and AlreadyEntered (after
    mailing the existing entrant a reminder, ``entry_remind``) when the
    address or the handle has entered already: the caller answers as for a
    new entry, so the form tells nobody who entered.
    """
    now = timezone.now()
    if contest.state_at(now) != Contest.State.OPEN:
        if contest.published and now < contest.opens_at:
            raise ContestError(_("This contest is not open yet. Come back when it opens."))
        raise ContestError(_("This contest is closed: entries are no longer accepted."))
    handle = clean_handle(twitter_handle)
    fields = {
        "contest": contest,
        "name": name.strip(),
        "email": email.strip(),
        "email_normalized": normalize_email(email),
        "twitter_handle": handle,
        "handle_normalized": handle.lower(),
        "country": country,
        "languages": sorted(set(languages)),
        "background": background,
        "background_other": background_other.strip(),
        "motivation": motivation.strip(),
        "language": language,
        "rules_accepted": True,
        "publish_handle": publish_handle,
    }
    # A new person (nearly everyone) costs an INSERT of the entry and of its mail:
    # the constraints say when the address or the handle is taken, and only then
    # are the entries that hold them read.
    taken = False
    for _attempt in range(5):
        try:
            with transaction.atomic():
                if taken:
                    _release_unconfirmed_handle(contest, fields, now=now)
                entry = Entry.objects.create(ticket=ticket_generate(), **fields)
                _queue_confirmation(entry, key=f"entry_confirm:{entry.pk}", base_url=base_url)
            return entry
        except IntegrityError:
            # The address or the handle holds an entry (the person entered, or
            # won a race), or an unconfirmed entry held the handle past its hour,
            # or (rarely) the ticket collided.
            _raise_if_already_entered(contest, fields, now=now, base_url=base_url)
            taken = True
    raise ContestError(_("Your entry could not be saved. Please try again."))


def _unconfirmed_handle_entries(contest: Contest, fields: dict, *, now):
    """Unconfirmed entries of another address holding this handle for longer than the hold.

    An address that never confirms (mistyped, or not the handle's owner) holds
    the handle only for ``ENTRY_HANDLE_HOLD``; then a new entry takes it over.
    """
    return Entry.objects.filter(
        contest=contest,
        handle_normalized=fields["handle_normalized"],
        confirmed_at__isnull=True,
        invalidated_at__isnull=True,
        created_at__lte=now - settings.ENTRY_HANDLE_HOLD,
    ).exclude(email_normalized=fields["email_normalized"])


def _release_unconfirmed_handle(contest: Contest, fields: dict, *, now) -> None:
    # Lock the stale entries so that a confirmation racing with this entry wins
    # or loses as a whole: a confirmed entry is never removed.
    stale = list(
        _unconfirmed_handle_entries(contest, fields, now=now)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if stale:
        Entry.objects.filter(pk__in=stale, confirmed_at__isnull=True).delete()
        logger.info("Unconfirmed entries %s gave their handle to a new entry.", stale)


def _raise_if_already_entered(contest: Contest, fields: dict, *, now, base_url) -> None:
    """Raise AlreadyEntered when the address or the handle holds an entry already.

    The holder gets a reminder with their own link instead (once a day): the
    person at the form is told nothing about who entered.
    """
    # One query, so that an entry committed meanwhile is seen whole: by its
    # address first, then by its handle.
    holders = list(
        Entry.objects.filter(contest=contest)
        .filter(
            Q(email_normalized=fields["email_normalized"])
            | Q(handle_normalized=fields["handle_normalized"])
        )
        .select_related("contest")
        .order_by("created_at", "pk")
    )
    same_address = [h for h in holders if h.email_normalized == fields["email_normalized"]]
    held = [h for h in holders if h.confirmed_at or h.invalidated_at]
    recent = [h for h in holders if h.created_at > now - settings.ENTRY_HANDLE_HOLD]
    # Otherwise the unconfirmed holders of the handle have had their hour: the
    # entry takes the handle over.
    holder = next(iter(same_address or held or recent), None)
    if holder is None:
        return
    entry_remind(entry=holder, base_url=base_url, now=now)
    raise AlreadyEntered(_("This person has entered this contest already."))


def entry_remind(*, entry: Entry, base_url: str | None = None, now=None) -> bool:
    """Mail an entrant their own link again, after the entry form was sent in their name.

    At most one such mail per entry and day (the outbox key names the day), so
    the form cannot be used to flood anybody's mailbox; none to an entry that
    was invalidated or whose personal data was removed. Returns True when a
    mail was queued now.
    """
    if entry.invalidated_at or entry.personal_data_removed_at or not entry.email:
        return False
    day = (now or timezone.now()).date().isoformat()
    key = f"entry_reminder:{entry.pk}:{day}"
    if OutboxMessage.objects.filter(key=key).exists():
        return False
    with transaction.atomic():
        _queue_confirmation(
            entry, key=key, base_url=base_url, template="contests/mail/entry_reminder"
        )
    return True


def entry_from_confirm_token(*, token: str) -> Entry:
    """The entry a genuine, current confirmation link names, without confirming it.

    Raises ContestError when the link is tampered with or expired, the entry
    is gone, or it is not confirmed and its contest closed meanwhile.
    """
    data = signed_link_data(
        token,
        salt=CONFIRM_SALT,
        compact=True,
        key="e",
        max_age=settings.ENTRY_CONFIRM_MAX_AGE,
        error=ContestError,
        expired=_("This confirmation link has expired."),
        invalid=_("This confirmation link is not valid."),
    )
    entry = Entry.objects.select_related("contest").filter(pk=data["e"]).first()
    _check_confirmable(entry, now=timezone.now())
    return entry


def _check_confirmable(entry: Entry | None, *, now) -> None:
    if entry is None or entry.invalidated_at or entry.personal_data_removed_at:
        raise ContestError(_("This entry no longer exists."))
    if entry.confirmed_at is None and now >= entry.contest.closes_at:
        raise ContestError(
            _("This contest closed before the entry was confirmed, so it cannot join the draw.")
        )


def entry_confirm(*, token: str) -> Entry:
    """Confirm the entry named by a signed link; confirming twice is harmless.

    Only a deliberate request confirms (the button of the link's page, a
    POST): mail scanners open links too. Raises ContestError when the link is
    tampered with, expired, or the contest closed before the entry was
    confirmed.
    """
    entry = entry_from_confirm_token(token=token)
    with transaction.atomic():
        entry = (
            Entry.objects.select_for_update().select_related("contest").filter(pk=entry.pk).first()
        )
        now = timezone.now()
        _check_confirmable(entry, now=now)
        if entry.confirmed_at:
            return entry
        entry.confirmed_at = now
        entry.save(update_fields=["confirmed_at"])
    return entry


def entry_confirm_contest(*, token: str) -> Contest | None:
    """The contest a genuine confirmation link was made for, even an expired one.

    Lets the page of a failed confirmation point to the way to a new link.
    Returns None for a tampered link or an entry that no longer exists.
    """
    try:
        data = signed_link_data(
            token, salt=CONFIRM_SALT, compact=True, key="e", max_age=None, error=ContestError
        )
    except ContestError:
        return None
    return Contest.objects.filter(published=True, entries__pk=data["e"]).first()


def entry_resend_confirmation(*, contest: Contest, email: str, base_url: str | None = None) -> None:
    """Send a fresh confirmation link to an unconfirmed entry with this address.

    Says nothing about whether such an entry exists (the caller shows the same
    page either way). At most one such mail per entry per hour.
    """
    if contest.state != Contest.State.OPEN:
        raise ContestError(_("This contest is closed: entries can no longer be confirmed."))
    entry = (
        Entry.objects.filter(
            contest=contest, email_normalized=normalize_email(email), confirmed_at__isnull=True
        )
        .select_related("contest")
        .first()
    )
    if entry is None:
        return
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        _queue_confirmation(
            entry, key=f"entry_confirm_again:{entry.pk}:{hour.isoformat()}", base_url=base_url
        )


def contest_countdown_target(contest: Contest):
    """The moment the countdown on the contest page counts to, or None."""
    state = contest.state
    if state == Contest.State.UPCOMING:
        return contest.opens_at
    if state == Contest.State.OPEN:
        return contest.closes_at
    return None
