"""The links the site writes: absolute addresses, and signed links that act for one person.

A link in mail written during a request starts at the address the request
reached (``request_base_url``); one written outside a request (a beat task)
at ``SITE_URL``. A signed link names its object in a token that only the
site can make, which expires; ``signed_link_data`` reads it back, or says in
the app's own error why it cannot.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

LINK_EXPIRED = _("This link has expired. Write to the organizers for a new one.")
LINK_INVALID = _("This link is not valid. Open it exactly as it appears in your mail.")


def request_base_url(request) -> str:
    """The site's address as this request reached it, where links written now start."""
    return request.build_absolute_uri("/")


def absolute_url(path: str, *, base_url: str | None = None) -> str:
    """Join a site path to the site's address: ``base_url`` when known, else SITE_URL."""
    base = (base_url or settings.SITE_URL).rstrip("/")
    return f"{base}{path}"


def signed_link_token(*, salt: str, compact: bool = False, **data: int) -> str:
    """A token naming ``data`` (primary keys), signed with ``salt`` and timestamped.

    ``compact`` signs a single value bare (``TimestampSigner``): the entry
    confirmation's format, kept so the links already mailed keep working.
    """
    if compact:
        [value] = data.values()
        return signing.TimestampSigner(salt=salt).sign(str(value))
    return signing.dumps(data, salt=salt)


def signed_link_data(
    token: str,
    *,
    salt: str,
    key: str,
    max_age: timedelta | int | None,
    error: type[ApplicationError],
    compact: bool = False,
    expired=LINK_EXPIRED,
    invalid=LINK_INVALID,
) -> dict:
    """What a genuine signed link names, as long as it is younger than ``max_age``.

    Returns the token's data, whose ``key`` is a primary key (an int). Raises
    ``error`` with ``expired`` when the link is too old, with ``invalid``
    when it was tampered with or names nothing.
    """
    try:
        if compact:
            value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
            data = {key: int(value)} if value.isdigit() else None
        else:
            data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise error(str(expired)) from exc
    except signing.BadSignature as exc:
        raise error(str(invalid)) from exc
    if not (isinstance(data, dict) and isinstance(data.get(key), int)):
        raise error(str(invalid))
    return data
