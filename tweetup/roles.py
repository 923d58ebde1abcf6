"""The staff groups and their permissions, kept in one place.

Migrations call ``groups_sync`` so that each new model's permissions reach the
groups on the next migrate.
"""

from django.utils.translation import gettext_lazy as _

ORGANIZERS = "Organizers"
TOUR_ADMINS = "Tour admins"
# Who runs the day in front of the public: writes to the visitors, checks them
# in, posts the live updates and moderates the questions, without the draw.
PRESS_OFFICERS = "Press officers"

# The groups as a person reads their names, in the active language.
ROLE_NAMES = {
    ORGANIZERS: _("Organizers"),
    TOUR_ADMINS: _("Tour admins"),
    PRESS_OFFICERS: _("Press officers"),
}

# app label -> model -> actions
GROUP_PERMISSIONS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    ORGANIZERS: {
        "contests": {
            "contest": ("add", "change", "view"),
            "entry": ("change", "view"),
            "draw": ("view",),
            "selection": ("change", "view"),
            "selectionevent": ("view",),
        },
        "notifications": {"outboxmessage": ("change", "view")},
        "tweetup": {"auditentry": ("view",)},
        "visits": {
            "visit": ("view",),
            "location": ("view",),
            "tourstop": ("view",),
            "question": ("view",),
            "liveupdate": ("view",),
        },
        "visitors": {
            "visitorprofile": ("view",),
            "visitmessage": ("add", "view"),
            # The site-access details go to security through the organizers only.
            "siteaccess": ("view",),
        },
    },
    TOUR_ADMINS: {
        "visits": {
            "visit": ("add", "change", "view"),
            "location": ("add", "change", "view"),
            "tourstop": ("add", "change", "delete", "view"),
            "question": ("change", "view"),
            "liveupdate": ("add", "change", "delete", "view"),
            "stopchange": ("view",),
        },
        "visitors": {
            "visitorprofile": ("view", "change", "check_in"),
            "visitmessage": ("view",),
        },
        "contests": {"contest": ("view",)},
        "tweetup": {"auditentry": ("view",)},
    },
    PRESS_OFFICERS: {
        "visits": {
            "visit": ("view",),
            "location": ("view",),
            "tourstop": ("view",),
            "question": ("change", "view"),
            "liveupdate": ("add", "change", "view"),
        },
        "visitors": {
            "visitorprofile": ("view", "check_in"),
            "visitmessage": ("add", "view"),
        },
        "contests": {"contest": ("view",)},
        "tweetup": {"auditentry": ("view",)},
    },
}


def groups_with_permission(perm: str) -> list[str]:
    """The groups whose members hold ``perm`` ("app_label.action_model"), in the order above."""
    app_label, _sep, codename = perm.partition(".")
    action, _sep, model = codename.rpartition("_")
    return [
        group
        for group, app_models in GROUP_PERMISSIONS.items()
        if action in app_models.get(app_label, {}).get(model, ())
    ]


def groups_sync(apps, schema_editor=None) -> None:
    """Migration step: create the groups and give them exactly the permissions above."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate; make them now so they can be assigned.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = models_module
    _assign_permissions(apps)


def groups_ensure() -> None:
    """The same outside migrations: after a flush (transactional tests) or on a demo load."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    _assign_permissions(apps)


def _assign_permissions(apps) -> None:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, app_models in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        wanted = []
        for app_label, models in app_models.items():
            for model, actions in models.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted.extend(
                    permission_model.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )
        group.permissions.set(wanted)


def staff_member_create(*, username: str, email: str, password: str, group_name: str):
    """Create a staff account in one of the groups above, with a password Django accepts.

    The account can log in to the admin and has only its group's permissions.
    Raises ``ValidationError`` when the username is taken, the address or the
    password is refused (AUTH_PASSWORD_VALIDATORS), or the group is unknown.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email
    from django.db import transaction

    if group_name not in GROUP_PERMISSIONS:
        raise ValidationError(f"No staff group is named {group_name!r}.")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValidationError(
            f"A user named {username!r} exists already: change it in the admin, "
            "or its password with `manage.py changepassword`."
        )
    user = user_model(username=username, email=email, is_staff=True)
    user.full_clean(exclude=["password"])
    if email:
        validate_email(email)
    validate_password(password, user)
    with transaction.atomic():
        groups_ensure()
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=group_name))
    return user
