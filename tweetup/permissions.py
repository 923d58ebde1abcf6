"""Access to the staff pages: one decorator for every organizer and tour-admin view."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

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
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


organizer_required = permission_required(ORGANIZER_PERMISSION)


def is_organizer(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm(ORGANIZER_PERMISSION)
