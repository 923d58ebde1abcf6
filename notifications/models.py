from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One mail the site sends, written in the transaction that caused it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        ENTRY_CONFIRM = "entry_confirm", _("Entry confirmation")
        SELECTION_OFFER = "selection_offer", _("Winner's offer")
        SELECTION_PROMOTED = "selection_promoted", _("Alternate's offer")
        SELECTION_DECLINED = "selection_declined", _("Place declined")
        SELECTION_EXPIRED = "selection_expired", _("Offer expired")
        NOT_CHOSEN = "not_chosen", _("Not chosen notice")
        VISIT_WELCOME = "visit_welcome", _("Place accepted")
        VISIT_ITINERARY = "visit_itinerary", _("Visitor's itinerary")
        VISIT_REMINDER = "visit_reminder", _("Visit reminder")
        VISIT_CHANGES = "visit_changes", _("Itinerary changes")
        VISIT_MESSAGE = "visit_message", _("Message to visitors")

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
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"),
        null=True,
        blank=True,
        help_text=_("After a failure, when the periodic task tries this mail again."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbox_status_created")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email}"
