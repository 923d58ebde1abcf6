import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tweetup.timezones import time_zone_choices
from tweetup.vocabulary import language_choices, language_name


class Visit(models.Model):
    """The day itself: when and where the winners meet."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    date = models.DateField(_("date"))
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=time_zone_choices, default="Europe/Zurich"
    )
    meeting_point = models.CharField(_("meeting point"), max_length=300)
    practical_notes = models.TextField(_("practical notes"), blank=True)
    collects_site_access = models.BooleanField(
        _("asks for site-access details"),
        # In the database too, so the release before it still adds visits (rolling deploy).
        default=False,
        db_default=False,
        help_text=_(
            "Visitors give the details the site's gate asks for (name as on the identity "
            "document, nationality, date of birth, document type and number). Only "
            "organizers see them, and they are deleted a few days after the visit."
        ),
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-date"]

    # The audit log names it by its title in the reader's language.
    audit_translated = "title"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("visits:detail", kwargs={"slug": self.slug})

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def day_start(self) -> datetime:
        """Midnight at the start of the visit's day, in its time zone."""
        return datetime.combine(self.date, time.min, tzinfo=self.tzinfo)

    @property
    def day_end(self) -> datetime:
        """Midnight at the end of the visit's day (exclusive), in its time zone."""
        return datetime.combine(self.date + timedelta(days=1), time.min, tzinfo=self.tzinfo)


class Location(models.Model):
    """A place a tour stop happens at."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]

    audit_translated = "name"

    def __str__(self) -> str:
        return self.name


class TourStop(models.Model):
    """One stop of a visit: where, when, with whom and in which language."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="stops"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stops"
    )
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    guide = models.CharField(_("guide"), max_length=150, blank=True)
    language = models.CharField(
        _("language of the tour"), max_length=3, choices=language_choices, default="en"
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("tour stop")
        verbose_name_plural = _("tour stops")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="tourstop_ends_after_start",
                violation_error_message=_("A tour stop must end after it starts."),
            ),
        ]
        indexes = [models.Index(fields=["visit", "starts_at"], name="tourstop_visit_start")]

    audit_translated = "title"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("visits:stop", kwargs={"slug": self.visit.slug, "pk": self.pk})

    @property
    def language_name(self) -> str:
        return language_name(self.language)


class StopChange(models.Model):
    """A change of a stop's time or place, waiting to reach the confirmed visitors."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="stop_changes"
    )
    stop = models.ForeignKey(
        TourStop,
        verbose_name=_("tour stop"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
    )
    stop_title = models.CharField(_("stop"), max_length=200)
    old_starts_at = models.DateTimeField(_("old start"), null=True, blank=True)
    old_ends_at = models.DateTimeField(_("old end"), null=True, blank=True)
    # The places' names as they were written when the stop changed, for when a
    # place is gone since; the mail names a place that still exists in the
    # visitor's language.
    old_location = models.CharField(_("old place"), max_length=150, blank=True)
    from_location = models.ForeignKey(
        Location,
        verbose_name=_("moved from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    new_starts_at = models.DateTimeField(_("new start"), null=True, blank=True)
    new_ends_at = models.DateTimeField(_("new end"), null=True, blank=True)
    new_location = models.CharField(_("new place"), max_length=150, blank=True)
    to_location = models.ForeignKey(
        Location,
        verbose_name=_("moved to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notified_at = models.DateTimeField(_("visitors told at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stop change")
        verbose_name_plural = _("stop changes")
        ordering = ["changed_at", "pk"]
        indexes = [models.Index(fields=["notified_at", "visit"], name="stopchange_pending")]

    def __str__(self) -> str:
        return f"{self.stop_title} · {self.changed_at:%Y-%m-%d %H:%M}"


class Question(models.Model):
    """A question from the public for a tour stop, moderated before it shows."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        ASKED = "asked", _("Asked")
        ANSWERED = "answered", _("Answered")
        REJECTED = "rejected", _("Rejected")

    PUBLIC_STATUSES = (Status.APPROVED, Status.ASKED, Status.ANSWERED)

    stop = models.ForeignKey(
        TourStop, verbose_name=_("tour stop"), on_delete=models.CASCADE, related_name="questions"
    )
    text = models.CharField(_("question"), max_length=280)
    author_name = models.CharField(_("name or handle"), max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    answer = models.TextField(_("guide's answer"), blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["stop", "status"], name="question_stop_status")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="answered") | ~models.Q(answer=""),
                name="question_answered_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @classmethod
    def public_filter(cls, *, prefix: str = "") -> models.Q:
        return models.Q(**{f"{prefix}status__in": cls.PUBLIC_STATUSES})

    @property
    def is_public(self) -> bool:
        return self.status in self.PUBLIC_STATUSES


class QuestionVote(models.Model):
    """One up-vote, one per browser: the voter key is a random id kept in the session."""

    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="votes"
    )
    voter_key = models.CharField(_("voter"), max_length=64)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["question", "voter_key"], name="vote_once_per_voter")
        ]

    def __str__(self) -> str:
        return f"{self.question_id} · {self.voter_key[:8]}"


class LiveUpdate(models.Model):
    """A short post during the day, in the LHC's "beams are back" style."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="live_updates"
    )
    stop = models.ForeignKey(
        TourStop,
        verbose_name=_("tour stop"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="live_updates",
    )
    text = models.CharField(_("text"), max_length=500)
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("live update")
        verbose_name_plural = _("live updates")
        ordering = ["-posted_at", "-pk"]

    audit_translated = "text"

    def __str__(self) -> str:
        return self.text[:60]
