from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tweetup import privacy
from tweetup.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Remove the personal data of entries that no place holds or can still reach (not "
        "chosen, declined, expired, disqualified, alternates never offered a place), some days "
        "after their contest's draw, and visitors' private data some days after their visit, "
        "with the address and text of the mail the site wrote to them."
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
        try:
            removed = privacy.personal_data_remove(entry_days=entry_days, visitor_days=visitor_days)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Site-access details of {removed['site_access']} visitors deleted. "
            f"Personal data removed from {removed['entries']} entries that hold no place "
            f"and {removed['visitors']} visitor profiles "
            f"({removed['mails']} mails about them cleared)."
        )
