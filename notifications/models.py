from django.db import models
from django.utils.translation import gettext_lazy as _

from tweetup.vocabulary import choice_label


class OutboxMessage(models.Model):
    """One mail the site sends, written in the transaction that caused it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        ENTRY_CONFIRM = "entry_confirm", _("Entry confirmation")
        SELECTION_OFFER = "selection_offer", _("Winner's offer")
        SELECTION_PROMOTED = "selection_promoted", _("Alternate's offer")
        SELECTION_DECLINED = "selection_declined", _("Place declined")
        SELECTION_EXPIRED = "selection_expired", _("Offer expired")
        SELECTION_ALTERNATE = "selection_alternate", _("Alternate's rank")
        SELECTION_DISQUALIFIED = "selection_disqualified", _("Place taken back")
        NOT_CHOSEN = "not_chosen", _("Not chosen notice")
        VISIT_WELCOME = "visit_welcome", _("Place accepted")
        VISIT_ITINERARY = "visit_itinerary", _("Visitor's itinerary")
        VISIT_REMINDER = "visit_reminder", _("Visit reminder")
        VISIT_CHANGES = "visit_changes", _("Itinerary changes")
        VISIT_MESSAGE = "visit_message", _("Message to visitors")
        MAIL_FAILED = "mail_failed", _("Failed mail report")

    key = models.CharField(
        _("key"),
        max_length=200,
        unique=True,
        help_text=_("Kind and object of the notice; the same notice is never queued twice."),
    )
    kind = models.CharField(_("kind"), max_length=50, choices=Kind.choices, db_index=True)
    contest = models.ForeignKey(
        "contests.Contest",
        verbose_name=_("contest"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_messages",
    )
    to_email = models.EmailField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8, default="en")
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(
        _("attempts"), default=0, help_text=_("How many times a worker took it to send.")
    )
    last_error = models.TextField(
        _("last error"), blank=True, help_text=_("The mail server's answer to the last try.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    queued_at = models.DateTimeField(
        _("queued at"),
        null=True,
        blank=True,
        help_text=_("When a send task was last put in the queue; the sweep leaves it there."),
    )
    claimed_at = models.DateTimeField(
        _("claimed at"),
        null=True,
        blank=True,
        help_text=_("When a worker last took it to send."),
    )
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"),
        null=True,
        blank=True,
        help_text=_("After a failure, when the periodic task tries this mail again."),
    )
    sent_at = models.DateTimeField(
        _("sent at"),
        null=True,
        blank=True,
        help_text=_("When the mail server first accepted it; a resend keeps this date."),
    )
    resend_requested_at = models.DateTimeField(_("resend requested at"), null=True, blank=True)
    failure_reported_at = models.DateTimeField(
        _("failure reported at"),
        null=True,
        blank=True,
        help_text=_("When the organizers were told by mail that it failed for good."),
    )
    # A mail whose bodies are left to the worker: the request that caused it
    # writes the row with its subject, and the worker renders the bodies from
    # the template and this (JSON) context when it claims the row.
    template = models.CharField(
        _("template"), max_length=200, blank=True, db_default="", editable=False
    )
    context = models.JSONField(_("context"), null=True, blank=True, editable=False)
    concerns = models.CharField(
        _("concerns"),
        max_length=100,
        null=True,
        blank=True,
        db_index=True,
        help_text=_("The person the mail is about, as app_label.model:pk."),
    )

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
            # The sweep reads the few rows on their way out, never the sent ones.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="outbox_unsent",
            ),
            models.Index(
                fields=["contest"],
                condition=models.Q(status="failed"),
                name="outbox_failed_contest",
            ),
            # A contest's latest mail first (the dashboard's outbox), without
            # sorting every mail of the contest.
            models.Index(fields=["contest", "-created_at", "-id"], name="outbox_contest_latest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sending") | models.Q(claimed_at__isnull=False),
                name="outbox_sending_has_claimed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to_email}"

    @property
    def audit_repr(self) -> str:
        """How the audit log names the mail: no address, which it would outlive."""
        return f"#{self.pk}"

    @property
    def audit_facts(self) -> dict:
        return {"kind": self.kind, "message": self.pk}

    @classmethod
    def audit_name(cls, facts: dict) -> str:
        """A mail named by its kind, in the active language, and its number."""
        return f"{choice_label(cls.Kind, facts['kind'])} #{facts['message']}"

    @property
    def kind_label(self) -> str:
        return choice_label(self.Kind, self.kind)

    @property
    def status_label(self) -> str:
        return choice_label(self.Status, self.status)
