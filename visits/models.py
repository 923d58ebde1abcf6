import zoneinfo

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tweetup.timezones import time_zone_choices


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

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-date"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("visits:detail", kwargs={"slug": self.slug})

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
