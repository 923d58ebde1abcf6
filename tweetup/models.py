"""The site's audit log: one table for every staff action and every admin change.

Built on django-auditlog's log entry (who, when, which object, what changed)
with the action's name in the site's words, the reason given, and the contest
or visit it belongs to, so each staff page can list its own. Rows are written
by ``tweetup.audit.log_action`` only.
"""

from auditlog.models import AbstractLogEntry
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(AbstractLogEntry):
    """One staff action: who did what to which object, when, why, and what changed."""

    class Verb(models.TextChoices):
        ADMIN_ADD = "admin_add", _("added in the admin")
        ADMIN_CHANGE = "admin_change", _("changed in the admin")
        ADMIN_DELETE = "admin_delete", _("deleted in the admin")
        CONTEST_FREEZE = "contest_freeze", _("froze the contest")
        DRAW = "draw", _("drew the winners")
        OFFERS_SEND = "offers_send", _("queued the winners' offers")
        ENTRY_INVALIDATE = "entry_invalidate", _("invalidated an entry")
        SELECTION_DISQUALIFY = "selection_disqualify", _("disqualified a place")
        SELECTION_PROMOTE = "selection_promote", _("offered a place to an alternate")
        NOT_CHOSEN_NOTIFY = "not_chosen_notify", _("told the entrants not chosen")
        MAIL_RESEND = "mail_resend", _("resent a mail")
        VISIT_MESSAGE = "visit_message", _("wrote to the visitors")
        QUESTION_MODERATE = "question_moderate", _("moderated a question")
        QUESTION_ANSWER = "question_answer", _("recorded a guide's answer")
        CHECK_IN = "check_in", _("checked a visitor in")
        CHECK_IN_UNDO = "check_in_undo", _("took back a visitor's check-in")
        SITE_ACCESS_EXPORT = "site_access_export", _("exported the site-access details")

    verb = models.CharField(_("what"), max_length=30, choices=Verb.choices)
    reason = models.TextField(_("why"), blank=True)
    contest = models.ForeignKey(
        "contests.Contest",
        verbose_name=_("contest"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("staff action")
        verbose_name_plural = _("staff actions")
        indexes = [
            # Each staff page lists its own actions, newest first.
            models.Index(fields=["contest", "-timestamp"], name="audit_contest_newest"),
            models.Index(fields=["visit", "-timestamp"], name="audit_visit_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} · {self.object_repr}"

    @property
    def changed_fields(self) -> list[str]:
        """The names of the fields that changed, as the object's model names them."""
        model = self.content_type.model_class() if self.content_type_id else None
        names = []
        for name in self.changes or {}:
            try:
                names.append(str(model._meta.get_field(name).verbose_name))
            except Exception:  # noqa: BLE001 - a model or field removed since: its name
                names.append(name)
        return names


class Heartbeat(models.Model):
    """When a periodic process last showed that it runs (README, "Watching it").

    The ``beat`` row is written by beat's ``beat-heartbeat`` task, so it is
    fresh only while beat sends its tasks and a worker runs the periodic queue.
    """

    class Source(models.TextChoices):
        BEAT = "beat", _("Celery beat")

    source = models.CharField(_("source"), max_length=20, choices=Source.choices, unique=True)
    beat_at = models.DateTimeField(_("last beat at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.source} at {self.beat_at.isoformat()}"
