"""Access to the staff pages: one decorator for every organizer and tour-admin view.

And the other way round: the signed links of the mail act for the person they
were mailed to only, never for a signed-in staff member (``addressee_only``).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _


class RoleRequired(PermissionDenied):
    """Refused: the page needs ``perm``, which some staff groups hold (the 403 page names them)."""

    def __init__(self, perm: str):
        super().__init__(perm)
        self.perm = perm


# Organizers hold it through their group (tweetup.roles); superusers hold every permission.
ORGANIZER_PERMISSION = "contests.change_contest"


def permission_required(perm: str):
    """Send anonymous visitors to the login page; answer 403 to users without ``perm``.

    Django's own decorator answers either a redirect or a 403 for both cases;
    staff pages want the login page for strangers and a clear refusal for
    colleagues who lack the permission.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (request.user.is_active and request.user.has_perm(perm)):
                raise RoleRequired(perm)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


organizer_required = permission_required(ORGANIZER_PERMISSION)


def is_organizer(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm(ORGANIZER_PERMISSION)


def is_staff_session(user) -> bool:
    """Whether a signed-in user is staff: the admin's staff flag, or any permission.

    The site has no accounts for the public: every account is staff's.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.is_superuser or bool(user.get_all_permissions())


def addressee_only(view):
    """Refuse a signed link of the mail (403 page) when it is opened in a staff session.

    The link stands for its addressee (an entrant, a winner, a visitor): staff
    who act through it would act in that person's name, off the record.
    Staff act through their own pages and the admin, which log who did what.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_staff_session(request.user):
            return render(
                request,
                "error.html",
                {
                    "title": _("This link is not for staff"),
                    "message": _(
                        "You are signed in as staff: this link is for the person it was "
                        "mailed to. Sign out, or act through the admin, where your action "
                        "is recorded."
                    ),
                },
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper
