"""The site's audit log: one table for every staff action and every admin change.

Built on django-auditlog's log entry (who, when, which object, what changed)
with the action's name in the site's words, the reason given, and the contest
or visit it belongs to, so each staff page can list its own. Rows are written
by ``tweetup.audit.log_action`` only.
"""

from auditlog.models import AbstractLogEntry
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import get_language, resolution_order

from .vocabulary import choice_label


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
        JOB_START = "job_start", _("started a background job")

        SITE_ACCESS_EXPORT = "site_access_export", _("exported the site-access details")

    verb = models.CharField(_("what"), max_length=30, choices=Verb.choices)
    reason = models.TextField(_("why"), blank=True)
    # What the object is named from in each reader's language (tweetup.audit).
    object_facts = models.JSONField(_("facts naming the object"), null=True, blank=True)
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
        return f"{self.get_verb_display()} · {self.object_name}"

    @property
    def object_name(self) -> str:
        """The object acted on, named in the active language from its facts (``tweetup.audit``).

        The name it has now when ``tweetup.audit.name_live_objects`` found it;
        its name as kept in text when there are no facts, or facts of a shape
        its model no longer reads.
        """
        live_name = getattr(self, "live_name", None)
        if live_name:
            return live_name
        model = self.content_type.model_class() if self.content_type_id else None
        facts = self.object_facts
        if model is None or not facts:
            return self.object_repr
        try:
            if getattr(model, "audit_translated", None):
                names = facts["names"]
                for language in resolution_order(get_language()):
                    if names.get(language):
                        return names[language]
            elif hasattr(model, "audit_name"):
                return model.audit_name(facts)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
        return self.object_repr

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


def _export_storage():
    from django.core.files.storage import storages

    return storages["exports"]


class Job(models.Model):
    """Long work a staff member asked for, run by a Celery worker (``tweetup.jobs``).

    At most one job of a kind is queued or running per target (a contest, a
    visit, or the site for the purge): a second press finds the first. The
    worker writes its progress and a heartbeat while it runs, so a job whose
    worker died is seen and started again.
    """

    class Kind(models.TextChoices):
        FREEZE = "freeze", _("freeze the contest")
        DRAW = "draw", _("draw the winners")
        EXPORT_ENTRIES = "export_entries", _("export the entries")
        EXPORT_SELECTIONS = "export_selections", _("export the places")
        NOT_CHOSEN = "not_chosen", _("tell the entrants not chosen")
        VISIT_MESSAGE = "visit_message", _("write to the visitors")
        PURGE = "purge", _("remove personal data past its time")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    ACTIVE = (State.QUEUED, State.RUNNING)

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # The Celery task that runs it, by the name the worker knows (tweetup.publish).
    task = models.CharField(_("task"), max_length=200)
    contest = models.ForeignKey(
        "contests.Contest",
        verbose_name=_("contest"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    requested_by = models.ForeignKey(
        "auth.User",
        verbose_name=_("asked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("asked at"))
    # The language of the page the job was asked from: the worker writes the
    # job's outcome in it ("" for the site's default).
    language = models.CharField(_("language"), max_length=10, blank=True, default="", db_default="")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    rows_done = models.PositiveBigIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveBigIntegerField(_("rows in all"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    file = models.FileField(_("file"), storage=_export_storage, blank=True, max_length=300)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        constraints = [
            # A target left empty counts as one (the site, for the purge): 0 stands for it.
            models.UniqueConstraint(
                "kind",
                Coalesce("contest", 0),
                Coalesce("visit", 0),
                condition=models.Q(state__in=["queued", "running"]),
                name="job_one_active_per_target",
            ),
        ]
        indexes = [
            # The sweep looks for active jobs only.
            models.Index(
                fields=["state"],
                condition=models.Q(state__in=["queued", "running"]),
                name="job_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("job", kwargs={"pk": self.pk})

    @property
    def audit_facts(self) -> dict:
        return {"kind": self.kind, "job": self.pk}

    @classmethod
    def audit_name(cls, facts: dict) -> str:
        """A job named by its kind, in the active language, and its number."""
        return f"{choice_label(cls.Kind, facts['kind'])} #{facts['job']}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def percent(self) -> int | None:
        if not self.rows_total:
            return 100 if self.state == self.State.DONE else None
        return min(100, round(100 * self.rows_done / self.rows_total))
