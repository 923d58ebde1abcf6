from django.conf import settings
from django.core.management.base import BaseCommand

from visits import services


class Command(BaseCommand):
    help = (
        "Remove the personal data of entries that were not chosen, some days after their "
        "contest's draw, and visitors' private data some days after their visit."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--entry-days",
            type=int,
            default=None,
            help="Days after the draw (default: PRIVACY_ENTRY_RETENTION_DAYS, "
            f"now {settings.PRIVACY_ENTRY_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--visitor-days",
            type=int,
            default=None,
            help="Days after the visit (default: PRIVACY_VISITOR_RETENTION_DAYS, "
            f"now {settings.PRIVACY_VISITOR_RETENTION_DAYS}).",
        )

    def handle(self, *args, entry_days=None, visitor_days=None, **options):
        entries = services.entries_personal_data_remove(days=entry_days)
        visitors = services.visitors_private_data_remove(days=visitor_days)
        self.stdout.write(
            f"Personal data removed from {entries} entries not chosen "
            f"and {visitors} visitor profiles."
        )
