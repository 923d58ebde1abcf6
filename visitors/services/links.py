"""The visitor's signed links: their own pages, and the badge's check-in code.

A link acts for its visitor only (``tweetup.permissions.addressee_only``)
and expires after VISITOR_LINK_MAX_AGE. The salts keep the values they had
in the visits app, so the links already mailed keep working.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from tweetup.links import absolute_url, signed_link_data, signed_link_token

from ..errors import VisitorError
from ..models import VisitorProfile

PROFILE_SALT = "visits.visitor-profile"
CHECK_IN_SALT = "visits.check-in"
# The visitor's own pages, each reached through the same signed link.
VISITOR_PAGES = ("profile", "badge", "visitor_itinerary", "visitor_calendar")


def _loaded(pk: int) -> VisitorProfile | None:
    return (
        VisitorProfile.objects.select_related("selection__entry", "selection__draw__contest__visit")
        .filter(pk=pk)
        .first()
    )


def visitor_profile_token(profile: VisitorProfile) -> str:
    """A signed token naming the profile; it expires after VISITOR_LINK_MAX_AGE."""
    return signed_link_token(salt=PROFILE_SALT, v=profile.pk)


def visitor_page_url(
    profile: VisitorProfile, page: str = "profile", *, base_url: str | None = None
) -> str:
    """The absolute, signed link to one of the visitor's own pages (``VISITOR_PAGES``)."""
    path = reverse(f"visitors:{page}", kwargs={"token": visitor_profile_token(profile)})
    return absolute_url(path, base_url=base_url)


def visitor_profile_url(profile: VisitorProfile, *, base_url: str | None = None) -> str:
    """The absolute, signed link to the visitor's own profile page (no password)."""
    return visitor_page_url(profile, "profile", base_url=base_url)


def visitor_profile_from_token(*, token: str) -> VisitorProfile:
    """The profile a signed link names; raises VisitorError when the link is not genuine."""
    data = signed_link_data(
        token,
        salt=PROFILE_SALT,
        key="v",
        max_age=settings.VISITOR_LINK_MAX_AGE,
        error=VisitorError,
    )
    profile = _loaded(data["v"])
    if profile is None:
        raise VisitorError(_("This visitor profile no longer exists."))
    return profile


def visitor_check_in_token(profile: VisitorProfile) -> str:
    return signed_link_token(salt=CHECK_IN_SALT, c=profile.pk)


def visitor_check_in_url(profile: VisitorProfile, *, base_url: str | None = None) -> str:
    """The absolute signed check-in link a tour admin opens from the badge's QR code."""
    path = reverse("visitors:check_in_link", kwargs={"token": visitor_check_in_token(profile)})
    return absolute_url(path, base_url=base_url)


def visitor_from_check_in_token(*, token: str) -> VisitorProfile:
    """The visitor a badge's check-in code names; raises VisitorError when it is not genuine."""
    data = signed_link_data(
        token,
        salt=CHECK_IN_SALT,
        key="c",
        max_age=settings.VISITOR_LINK_MAX_AGE,
        error=VisitorError,
        expired=_("This check-in code has expired."),
        invalid=_("This check-in code is not valid."),
    )
    profile = _loaded(data["c"])
    if profile is None:
        raise VisitorError(_("This visitor no longer exists."))
    return profile
