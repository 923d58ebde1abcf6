from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContestsConfig(AppConfig):
    name = "contests"
    verbose_name = _("Contests")

    def ready(self) -> None:
        from . import home_page, tasks  # noqa: F401 - registers the tasks the services queue by name

        home_page.connect_signals()

        from notifications.services.outbox import resend_check_register

        from .services.selection_mail import offer_resend_refusal

        resend_check_register(offer_resend_refusal)
