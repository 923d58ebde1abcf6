"""Create the demo: contests modelled on CERN's first TweetUp, and staff logins."""

from datetime import date, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contests.models import Contest
from contests.services import contest_create
from tweetup.roles import ORGANIZERS, TOUR_ADMINS, groups_ensure
from visits.demo import load_visit_demo
from visits.models import Visit

from ._demo_draw import SLUG as DRAWN_SLUG
from ._demo_draw import create_drawn_contest

DEMO_PASSWORD = "tweetup-demo"  # noqa: S105 - printed on purpose for the local demo

DESCRIPTION = (
    "Five followers spend a day behind the scenes at CERN: a guided tour of the "
    "Computing Centre and of the CERN Control Centre, then the public talk with the "
    "astronauts of STS-134 about the AMS experiment. Everyone else follows online and "
    "sends questions that the winners ask on the spot."
)
RULES = (
    "1. Open to anyone aged 18 or over who can travel to Geneva on the day.\n"
    "2. One entry per person: one email address and one Twitter/X handle.\n"
    "3. Confirm your entry with the link we email you; unconfirmed entries are not drawn.\n"
    "4. Five winners and five alternates are drawn at random with the public, verifiable "
    "tweetup-draw-v1 procedure; anyone can re-run it from the published record.\n"
    "5. Winners have 72 hours to accept; otherwise the place goes to the next alternate.\n"
    "6. Travel to the meeting point is at the winners' own expense."
)


class Command(BaseCommand):
    help = "Create the demo contests, visit and staff accounts (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            visit = self._visit()
            self._contests(visit)
            logins = self._staff()
            create_drawn_contest(
                visit=visit, organizer=User.objects.get(username="organizer"), rules=RULES
            )
            load_visit_demo(visit)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  A past contest, frozen and drawn: /contests/{DRAWN_SLUG}/results/")
        for role, username in logins:
            self.stdout.write(f"  {role}: {username} / {DEMO_PASSWORD}  (log in at /admin/)")

    def _visit(self) -> Visit:
        visit, _ = Visit.objects.get_or_create(
            slug="cern-tweetup-2012",
            defaults={
                "title": "CERN TweetUp — 25 July 2012",
                "date": date(2012, 7, 25),
                "time_zone": "Europe/Zurich",
                "meeting_point": "CERN Reception, Building 33, Route de Meyrin, Meyrin",
                "practical_notes": "Bring an identity document. Wear closed shoes.",
            },
        )
        return visit

    def _contests(self, visit: Visit) -> None:
        now = timezone.now()
        if not Contest.objects.filter(slug="cern-tweetup").exists():
            contest_create(
                slug="cern-tweetup",
                title="CERN TweetUp: a day behind the scenes",
                description=DESCRIPTION,
                hashtag="CERNTweetup",
                rules=RULES,
                time_zone="Europe/Zurich",
                opens_at=now - timedelta(days=2),
                closes_at=now + timedelta(days=12),
                winners_count=5,
                alternates_count=5,
                max_winners_per_country=2,
                visit=visit,
            )
        if not Contest.objects.filter(slug="lhc-restart-2010").exists():
            tz = timezone.get_fixed_timezone(60)
            contest_create(
                slug="lhc-restart-2010",
                title="LHC first collisions at 7 TeV: follow the day",
                description="Watch the beams come back from the CERN Control Centre.",
                hashtag="LHC",
                rules=RULES,
                time_zone="Europe/Zurich",
                opens_at=datetime(2010, 3, 1, 9, 0, tzinfo=tz),
                closes_at=datetime(2010, 3, 20, 23, 59, tzinfo=tz),
                winners_count=3,
                alternates_count=2,
            )

    def _staff(self) -> list[tuple[str, str]]:
        groups_ensure()
        logins = []
        for username, group_name in (("organizer", ORGANIZERS), ("touradmin", TOUR_ADMINS)):
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "email": f"{username}@example.org"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=group_name))
            logins.append((group_name, username))
        return logins
