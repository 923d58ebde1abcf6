"""A winner who accepted, as a visitor of the day, and the organizers' messages to visitors."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from tweetup.vocabulary import Background, MailLanguage, language_name
from visits.models import Visit


class LanguageLevel(models.TextChoices):
    BASIC = "basic", _("Basic")
    CONVERSATIONAL = "conversational", _("Conversational")
    FLUENT = "fluent", _("Fluent")
    NATIVE = "native", _("Native")


class VisitorProfileQuerySet(models.QuerySet):
    def for_visit(self, visit: Visit):
        return self.filter(selection__draw__contest__visit=visit)

    def active(self):
        """Visitors still holding their place (the accepted selections)."""
        return self.filter(selection__status="accepted")


class VisitorProfile(models.Model):
    """A winner who accepted, as a visitor: what the day needs to know about them.

    Created from the entry when the place is accepted; completed by the
    visitor through a signed link. Its visit follows from the selection's
    contest. Email, emergency contact and needs are private.
    """

    # The staff actions name a profile that still exists by its display name.
    audit_named_live = True

    selection = models.OneToOneField(
        "contests.Selection",
        verbose_name=_("selection"),
        on_delete=models.PROTECT,
        related_name="visitor_profile",
    )
    # Private: seen by the visitor, organizers and tour admins only.
    email = models.EmailField(_("email"), max_length=254, blank=True)
    language = models.CharField(
        _("language for mail"), max_length=2, choices=MailLanguage.choices, default="en"
    )
    dietary_needs = models.CharField(_("dietary needs"), max_length=300, blank=True)
    accessibility_needs = models.CharField(_("accessibility needs"), max_length=300, blank=True)
    emergency_contact_name = models.CharField(
        _("emergency contact name"), max_length=100, blank=True
    )
    emergency_contact_phone = models.CharField(
        _("emergency contact phone"), max_length=40, blank=True
    )
    # Shown on public pages only with public_consent.
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    handle = models.CharField(_("Twitter/X handle"), max_length=15, blank=True)
    bio = models.TextField(_("short bio"), blank=True, validators=[MaxLengthValidator(400)])
    background = models.CharField(
        _("background"), max_length=20, choices=Background.choices, blank=True
    )
    background_other = models.CharField(_("other background"), max_length=100, blank=True)
    # [{"code": "fr", "level": "native"}, ...]
    languages = models.JSONField(_("languages with levels"), default=list, blank=True)
    public_consent = models.BooleanField(
        _("may appear on public pages"),
        default=False,
        help_text=_("Display name, handle, languages and bio may appear on public pages."),
    )
    photo_consent = models.BooleanField(_("photo consent"), default=False)
    attendance_confirmed_at = models.DateTimeField(
        _("attendance confirmed at"), null=True, blank=True
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    private_data_removed_at = models.DateTimeField(
        _("private data removed at"), null=True, blank=True, editable=False
    )

    objects = VisitorProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("visitor profile")
        verbose_name_plural = _("visitor profiles")
        ordering = ["display_name", "pk"]
        permissions = [("check_in_visitorprofile", _("Can check visitors in"))]
        # The table it had in the visits app, before the visitors app had it.
        db_table = "visits_visitorprofile"

    def __str__(self) -> str:
        return self.display_name or self.handle or f"#{self.pk}"

    @property
    def holds_place(self) -> bool:
        """Whether the visitor's place still stands: accepted, and not taken back since."""
        return self.selection.status == "accepted"

    @property
    def audit_repr(self) -> str:
        """How the audit log names the visitor: no personal data, which it would outlive.

        Staff read the visitor's name while the profile exists (audit_named_live).
        """
        return f"#{self.pk}"

    @property
    def visit(self) -> Visit | None:
        return self.selection.draw.contest.visit

    @property
    def is_confirmed(self) -> bool:
        return self.attendance_confirmed_at is not None

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None

    @property
    def languages_display(self) -> list[dict]:
        levels = dict(LanguageLevel.choices)
        return [
            {
                "code": item.get("code", ""),
                "name": language_name(item.get("code", "")),
                "level": item.get("level", ""),
                "level_name": levels.get(item.get("level", ""), ""),
            }
            for item in self.languages or []
        ]

    @property
    def emergency_contact(self) -> str:
        parts = (self.emergency_contact_name, self.emergency_contact_phone)
        return " · ".join(part for part in parts if part)


class SiteAccess(models.Model):
    """What the gate of the visit's site asks of a visitor, kept apart from the profile.

    The most sensitive data the site holds: asked only when the visit says so
    (``Visit.collects_site_access``), seen and exported only with the
    permission ``visitors.view_siteaccess`` (organizers, who send them to
    security), in no other page, export or mail, and deleted first, some days
    after the visit (``visitors.services.site_access``).
    """

    class DocumentType(models.TextChoices):
        PASSPORT = "passport", _("Passport")
        IDENTITY_CARD = "identity_card", _("National identity card")
        RESIDENCE_PERMIT = "residence_permit", _("Residence permit")

    profile = models.OneToOneField(
        VisitorProfile,
        verbose_name=_("visitor profile"),
        on_delete=models.CASCADE,
        related_name="site_access",
    )
    name_on_document = models.CharField(_("name as on the identity document"), max_length=150)
    nationality = CountryField(_("nationality"))
    date_of_birth = models.DateField(_("date of birth"))
    document_type = models.CharField(
        _("document type"), max_length=20, choices=DocumentType.choices
    )
    document_number = models.CharField(_("document number"), max_length=40)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("site-access details")
        verbose_name_plural = _("site-access details")
        # Only seeing them is a permission: they change through the visitor's link alone.
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.profile_id}"


class VisitMessage(models.Model):
    """A message from the organizers to the visitors of a visit, sent through the outbox."""

    class Audience(models.TextChoices):
        ALL = "all", _("All visitors")
        UNCONFIRMED = "unconfirmed", _("Visitors who have not confirmed yet")

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="messages"
    )
    audience = models.CharField(
        _("to"), max_length=12, choices=Audience.choices, default=Audience.ALL
    )
    subject_en = models.CharField(_("subject (English)"), max_length=150)
    body_en = models.TextField(_("message (English)"), validators=[MaxLengthValidator(5000)])
    subject_fr = models.CharField(_("subject (French)"), max_length=150, blank=True)
    body_fr = models.TextField(
        _("message (French)"), blank=True, validators=[MaxLengthValidator(5000)]
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("message to visitors")
        verbose_name_plural = _("messages to visitors")
        ordering = ["-sent_at"]
        # The table it had in the visits app, before the visitors app had it.
        db_table = "visits_visitmessage"

    # The audit log names it by its subject in the reader's language.
    audit_translated = "subject"

    def __str__(self) -> str:
        return self.subject_en
