import hashlib
import zoneinfo

from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from tweetup.timezones import time_zone_choices
from tweetup.vocabulary import Background, MailLanguage, choice_label

from .querysets import EntryQuerySet


class Contest(models.Model):
    """A contest announced on social media; its state follows from its times and draw."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        UPCOMING = "upcoming", _("Upcoming")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        FROZEN = "frozen", _("Frozen")
        DRAWN = "drawn", _("Drawn")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    hashtag = models.CharField(
        _("hashtag"), max_length=60, help_text=_("Without the #, e.g. CERNTweetup.")
    )
    rules = models.TextField(_("rules"))
    published = models.BooleanField(
        _("published"), default=True, help_text=_("Unpublished contests are drafts.")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=time_zone_choices, default="Europe/Zurich"
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    winners_count = models.PositiveSmallIntegerField(
        _("number of winners"), default=5, validators=[MinValueValidator(1)]
    )
    alternates_count = models.PositiveSmallIntegerField(_("number of alternates"), default=5)
    acceptance_hours = models.PositiveIntegerField(
        _("acceptance window (hours)"),
        default=72,
        validators=[MinValueValidator(1)],
        help_text=_("How long a winner has to accept or decline."),
    )
    max_winners_per_country = models.PositiveSmallIntegerField(
        _("at most winners per country"), null=True, blank=True
    )
    max_winners_per_background = models.PositiveSmallIntegerField(
        _("at most winners per background"), null=True, blank=True
    )
    # The organizer's photo as uploaded, and the card made from it (1200 x 630)
    # that its page and the links to it show when shared (contests.services.banners).
    banner = models.ImageField(
        _("banner"),
        upload_to="contests/banners/",
        blank=True,
        # The previous release inserts contests without it (manage.py lintmigrations).
        default="",
        db_default="",
        help_text=_(
            "A JPEG, PNG or WebP photo, at most 10 MB: shown at the top of the contest's "
            "page, and cropped to 1200 × 630 for the card its links show when shared."
        ),
    )
    banner_card = models.ImageField(
        _("share card"),
        upload_to="contests/cards/",
        blank=True,
        editable=False,
        default="",
        db_default="",
    )
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contests",
    )
    # The secret seed of the draw, made when the contest is created; only its
    # commitment is public until the draw.
    seed = models.BinaryField(_("seed"), max_length=32, editable=False)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True, editable=False)
    tickets_digest = models.CharField(
        _("tickets digest"), max_length=64, blank=True, editable=False
    )
    tickets_count = models.PositiveIntegerField(
        _("tickets in the draw"), null=True, blank=True, editable=False
    )
    # What the freeze fixed, without writing to any entry: the tickets in the
    # draw are those of the entries confirmed before this instant (the
    # closing time at the freeze) and not invalidated. Neither can change
    # once the contest is frozen (entry_invalidate refuses, and a contest
    # confirms no entry once closed), so the set stays the one whose digest
    # was published. Null until the freeze.
    tickets_cutoff = models.DateTimeField(
        _("tickets confirmed before"), null=True, blank=True, editable=False
    )
    not_chosen_notified_at = models.DateTimeField(
        _("entrants not chosen told at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contest")
        verbose_name_plural = _("contests")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="contest_closes_after_opening",
            ),
        ]

    # The audit log names a contest by its title in the reader's language.
    audit_translated = "title"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("contests:detail", kwargs={"slug": self.slug})

    @property
    def commitment(self) -> str:
        return hashlib.sha256(bytes(self.seed)).hexdigest() if self.seed else ""

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def is_drawn(self) -> bool:
        return hasattr(self, "draw")

    def state_at(self, now) -> "Contest.State":
        if not self.published:
            return self.State.DRAFT
        if self.is_drawn:
            return self.State.DRAWN
        if self.frozen_at:
            return self.State.FROZEN
        if now < self.opens_at:
            return self.State.UPCOMING
        if now < self.closes_at:
            return self.State.OPEN
        return self.State.CLOSED

    @property
    def state(self) -> "Contest.State":
        return self.state_at(timezone.now())

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class EntryCount(models.Model):
    """How many confirmed entries a contest has, kept exact by the database.

    Triggers on the entries (migration 0006) move the number in the
    transaction that confirms, adds or removes an entry, whichever code or SQL
    does it, so a page shows it without counting entries. A contest gets its
    row when it is created (a trigger too).
    """

    contest = models.OneToOneField(
        Contest,
        verbose_name=_("contest"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="entry_count",
    )
    confirmed = models.PositiveIntegerField(_("confirmed entries"), default=0, db_default=0)

    class Meta:
        verbose_name = _("entry count")
        verbose_name_plural = _("entry counts")

    def __str__(self) -> str:
        return f"{self.contest_id}: {self.confirmed}"


class ContestStatistics(models.Model):
    """The organizer dashboard's breakdowns of a contest's entries, as last computed.

    Counting every entry takes seconds at a million entries: the dashboard
    shows these figures and has them recomputed in the background once they
    are older than ``DASHBOARD_STATISTICS_MAX_AGE`` (``contests.services.statistics``).
    """

    contest = models.OneToOneField(
        Contest,
        verbose_name=_("contest"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="statistics",
    )
    figures = models.JSONField(_("figures"), default=dict)
    computed_at = models.DateTimeField(_("computed at"))
    refresh_queued_at = models.DateTimeField(_("refresh queued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contest statistics")
        verbose_name_plural = _("contest statistics")

    def __str__(self) -> str:
        return f"{self.contest_id} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"


class Entry(models.Model):
    """One person's entry in one contest."""

    contest = models.ForeignKey(
        Contest, verbose_name=_("contest"), on_delete=models.CASCADE, related_name="entries"
    )
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), max_length=254)
    email_normalized = models.CharField(_("normalised email"), max_length=254, editable=False)
    twitter_handle = models.CharField(_("Twitter/X handle"), max_length=15)
    handle_normalized = models.CharField(_("normalised handle"), max_length=15, editable=False)
    country = CountryField(_("country"))
    languages = models.JSONField(_("languages spoken"), default=list)
    background = models.CharField(_("background"), max_length=20, choices=Background.choices)
    background_other = models.CharField(_("other background"), max_length=100, blank=True)
    motivation = models.TextField(_("motivation"), validators=[MaxLengthValidator(1000)])
    language = models.CharField(
        _("language for mail"), max_length=2, choices=MailLanguage.choices, default="en"
    )
    rules_accepted = models.BooleanField(_("rules accepted"), default=False)
    publish_handle = models.BooleanField(
        _("may publish handle"),
        default=False,
        help_text=_("The entrant agreed to be named by their handle if they win."),
    )
    ticket = models.CharField(_("ticket"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created at"), db_default=Now(), editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    invalidated_at = models.DateTimeField(
        _("invalidated at"), null=True, blank=True, editable=False
    )
    invalid_reason = models.CharField(_("reason for invalidation"), max_length=300, blank=True)
    invalidated_by = models.ForeignKey(
        "auth.User",
        verbose_name=_("invalidated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    personal_data_removed_at = models.DateTimeField(
        _("personal data removed at"), null=True, blank=True, editable=False
    )
    # The entrant took the entry back through their link: out of a draw not yet
    # frozen; after the freeze the ticket stays (the digest holds it) but the
    # place it may win is declined.
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True, editable=False)

    # Why an entry withdrawn before the freeze left the draw. Stored as written
    # here, whoever reads it later; ``invalid_reason_shown`` says it in the
    # reader's language. An organizer's reason is shown as they wrote it.
    WITHDRAWN_REASON = gettext_noop("Withdrawn by the entrant.")

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contest", "email_normalized"], name="entry_one_per_email"
            ),
            models.UniqueConstraint(
                fields=["contest", "handle_normalized"], name="entry_one_per_handle"
            ),
            models.UniqueConstraint(fields=["contest", "ticket"], name="entry_unique_ticket"),
            models.CheckConstraint(
                condition=models.Q(rules_accepted=True), name="entry_rules_accepted"
            ),
        ]
        indexes = [
            models.Index(fields=["contest", "created_at"], name="entry_contest_created"),
        ]
        # On PostgreSQL, migration 0006 adds entry_contest_ticket_bytewise on
        # (contest, ticket COLLATE "C") INCLUDE (confirmed_at, invalidated_at,
        # country, background): the freeze, the draw (its caps included) and
        # draw.json page through the tickets in bytewise order with it. It is
        # not declared here since SQLite has no "C" collation (its BINARY
        # order is already bytewise).

    def __str__(self) -> str:
        return f"{self.ticket} · @{self.twitter_handle}"

    @property
    def invalid_reason_shown(self) -> str:
        if self.invalid_reason == self.WITHDRAWN_REASON:
            return gettext(self.WITHDRAWN_REASON)
        return self.invalid_reason

    @property
    def audit_repr(self) -> str:
        """How the audit log names the entry: its public ticket, no personal data."""
        return self.ticket

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def in_draw(self) -> bool:
        """Whether the ticket is in the draw: the freeze fixed it (reads the contest)."""
        cutoff = self.contest.tickets_cutoff
        return (
            cutoff is not None
            and self.confirmed_at is not None
            and self.confirmed_at < cutoff
            and self.invalidated_at is None
        )

    def background_label(self) -> str:
        return choice_label(Background, self.background)

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


class Draw(models.Model):
    """The one draw of a contest; with its entries it makes the public audit record."""

    contest = models.OneToOneField(
        Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="draw"
    )
    external_entropy = models.CharField(_("external entropy"), max_length=500, blank=True)
    # The numbers drawn for, as they were at the draw: the audit record reads
    # them here, so that no later edit of the contest can change it. The
    # database's default (0: not recorded) lets the code before these columns
    # draw while a deploy rolls out (migration 0005).
    winners_count = models.PositiveSmallIntegerField(_("number of winners"), db_default=0)
    alternates_count = models.PositiveSmallIntegerField(_("number of alternates"), db_default=0)
    caps = models.JSONField(_("caps"), default=dict, blank=True)
    ranking = models.JSONField(_("ranking"), default=list)
    winners = models.JSONField(_("winners"), default=list)
    alternates = models.JSONField(_("alternates"), default=list)
    drawn_at = models.DateTimeField(_("drawn at"))
    drawn_by = models.ForeignKey(
        "auth.User",
        verbose_name=_("drawn by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")

    audit_translated = "contest.title"

    def __str__(self) -> str:
        return str(self.contest)


class Selection(models.Model):
    """A ranked place in the draw, winner or alternate, with its own life."""

    class Kind(models.TextChoices):
        WINNER = "winner", _("Winner")
        ALTERNATE = "alternate", _("Alternate")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting (alternate)")
        PENDING = "pending", _("Pending answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        DISQUALIFIED = "disqualified", _("Disqualified")

    draw = models.ForeignKey(
        Draw, verbose_name=_("draw"), on_delete=models.CASCADE, related_name="selections"
    )
    entry = models.ForeignKey(
        Entry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="selections"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    promoted_at = models.DateTimeField(_("promoted at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("selection")
        verbose_name_plural = _("selections")
        ordering = ["draw", "kind", "position"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "entry"], name="selection_one_per_entry"),
            models.UniqueConstraint(
                fields=["draw", "kind", "position"], name="selection_unique_position"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(deadline__isnull=False),
                name="selection_pending_has_deadline",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="selection_status_deadline")]

    def __str__(self) -> str:
        return self.audit_name(self.audit_facts)

    @property
    def audit_facts(self) -> dict:
        """What the audit log names the place from: its kind, rank and ticket."""
        return {"kind": self.kind, "position": self.position, "ticket": self.entry.ticket}

    @classmethod
    def audit_name(cls, facts: dict) -> str:
        """A place named from its facts, in the active language: "Winner 2: 7KQX-M2PA"."""
        return f"{choice_label(cls.Kind, facts['kind'])} {facts['position']}: {facts['ticket']}"

    @property
    def kind_label(self) -> str:
        return choice_label(self.Kind, self.kind)

    @property
    def status_label(self) -> str:
        return choice_label(self.Status, self.status)

    @property
    def is_promoted(self) -> bool:
        return self.promoted_at is not None

    @property
    def holds_place(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.ACCEPTED)


class SelectionEvent(models.Model):
    """Who changed a selection, when, and why: the selection's log.

    Why the site itself changed it is kept as a ``cause`` (a code), read in
    the reader's language; what a person wrote (a disqualification's reason)
    is kept as written, in ``note``.
    """

    class Action(models.TextChoices):
        DRAWN = "drawn", _("drawn")
        OFFERED = "offered", _("offered")
        PROMOTED = "promoted", _("promoted")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        EXPIRED = "expired", _("expired")
        DISQUALIFIED = "disqualified", _("disqualified")

    class Cause(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer before the deadline.")
        ENTRY_WITHDRAWN = "entry_withdrawn", _("The entrant withdrew the entry.")
        DECLINED_BY_LINK = "declined_by_link", _("Declined through the link in the mail.")

    selection = models.ForeignKey(
        Selection, verbose_name=_("selection"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        "auth.User",
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    cause = models.CharField(
        _("cause"),
        max_length=30,
        choices=Cause.choices,
        blank=True,
        # The release before writes events without it (rolling deploy).
        default="",
        db_default="",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("selection event")
        verbose_name_plural = _("selection events")
        ordering = ["at"]

    def __str__(self) -> str:
        at = formats.date_format(timezone.localtime(self.at), "SHORT_DATETIME_FORMAT")
        return f"{self.action_label} · {at}"

    @property
    def action_label(self) -> str:
        """The action as a person reads it, in the active language."""
        return self.get_action_display()

    @property
    def cause_label(self) -> str:
        """Why the site changed the selection, in the active language; "" for none."""
        return choice_label(self.Cause, self.cause) if self.cause else ""
