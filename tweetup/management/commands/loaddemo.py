"""Create the demo: contests modelled on CERN's first TweetUp, their visits, and staff logins."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tweetup.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Create the demo contests, visits and staff accounts (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--yes-on-a-production-database",
            action="store_true",
            help="Load the demo although DEBUG is off (a test database of the production stack).",
        )

    def handle(self, *args, **options):
        # The demo's staff log in with a published password: never on a real site by mistake.
        if not settings.DEBUG and not options["yes_on_a_production_database"]:
            raise CommandError(
                "loaddemo refuses to run with DEBUG off: it creates the staff accounts "
                f"'organizer', 'touradmin' and 'pressofficer' with the published password "
                f"{DEMO_PASSWORD!r}. Create real staff with `manage.py createorganizer`, "
                "`manage.py createtouradmin` and `manage.py createpressofficer`. To load the "
                "demo into this database all the same, pass --yes-on-a-production-database."
            )
        demo = demo_load()
        upcoming, visit_2012 = demo.upcoming, demo.visit_2012
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(
            f"  An open contest: /contests/{demo.open_slug}/, "
            f"for the visit of {upcoming.date:%d %B %Y}: {upcoming.get_absolute_url()}"
        )
        self.stdout.write(
            f"  A past contest, frozen and drawn: /contests/{demo.drawn_slug}/results/"
        )
        self.stdout.write(f"  Its visit, 25 July 2012: {visit_2012.get_absolute_url()}")
        for role, username in demo.logins:
            self.stdout.write(f"  {role}: {username} / {DEMO_PASSWORD}  (log in at /admin/)")
