"""The demo: contests modelled on CERN's first TweetUp, their visits, and staff logins.

Every text an organizer or a tour admin would write is given in English and
French (the ``_en`` and ``_fr`` fields of django-modeltranslation).

``demo_load`` makes it, once: running it again finds what it made. The
contests and their draw go through the contests app's services
(``draw``), the visit days and their visitors through the visits' and
visitors' (``visits``). What ``loaddemo`` runs.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from modeltranslation.translator import translator

from contests.models import Contest
from contests.services.entries import contest_create
from tweetup.roles import ORGANIZERS, PRESS_OFFICERS, TOUR_ADMINS, groups_ensure
from visits.models import LiveUpdate, Location, TourStop, Visit

from . import draw
from .draw import SLUG as DRAWN_SLUG
from .draw import create_drawn_contest
from .visits import FRENCH_OF as DAY_FRENCH_OF
from .visits import load_upcoming_visit_demo, load_visit_demo

DEMO_PASSWORD = "tweetup-demo"  # noqa: S105 - printed on purpose for the local demo

OPEN_SLUG = "cern-tweetup"
VISIT_2012_SLUG = "cern-tweetup-2012"
# The open contest's own visit: its date follows from the contest's closing.
UPCOMING_VISIT_SLUG = "cern-tweetup"
VISIT_TIME_ZONE = "Europe/Zurich"
MEETING_POINT = "CERN Reception, Building 33, Route de Meyrin, Meyrin"
MEETING_POINT_FR = "Accueil du CERN, bâtiment 33, route de Meyrin, Meyrin"
OPEN_TITLE = "CERN TweetUp: a day behind the scenes"
OPEN_TITLE_FR = "TweetUp du CERN : une journée dans les coulisses"
LHC_SLUG = "lhc-restart-2010"
LHC_TITLE = "LHC first collisions at 7 TeV: follow the day"
LHC_TITLE_FR = "Premières collisions du LHC à 7 TeV : suivez la journée"
LHC_DESCRIPTION = "Watch the beams come back from the CERN Control Centre."
LHC_DESCRIPTION_FR = "Suivez le retour des faisceaux depuis le Centre de contrôle du CERN."
VISIT_2012_TITLE = "CERN TweetUp — 25 July 2012"
VISIT_2012_TITLE_FR = "TweetUp du CERN — 25 juillet 2012"
NOTES_2012 = "Bring an identity document. Wear closed shoes."
NOTES_2012_FR = "Munissez-vous d'une pièce d'identité. Portez des chaussures fermées."
NOTES_UPCOMING = (
    "Bring the identity document you entered with. Wear closed shoes. Lunch is offered."
)
NOTES_UPCOMING_FR = (
    "Munissez-vous de la pièce d'identité indiquée lors de votre inscription. "
    "Portez des chaussures fermées. Le déjeuner est offert."
)

DESCRIPTION = (
    "Five followers spend a day behind the scenes at CERN: a guided tour of the "
    "Computing Centre and of the CERN Control Centre, an hour answering the questions "
    "the public sends online, and a public talk to close the day. Everyone else follows "
    "the day online and sends questions that the winners ask on the spot."
)
DESCRIPTION_FR = (
    "Cinq personnes abonnées passent une journée dans les coulisses du CERN : une visite guidée du "
    "Centre de calcul et du Centre de contrôle du CERN, une heure pour répondre aux questions "
    "que le public envoie en ligne, et une conférence publique pour clore la journée. Le "
    "reste du public suit la journée en ligne et envoie des questions que les personnes "
    "gagnantes posent sur place."
)
# What the open contest said when the demo still led it to the 2012 visit.
DESCRIPTION_BEFORE = (
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
RULES_FR = (
    "1. Ouvert à toute personne de 18 ans ou plus pouvant se rendre à Genève le jour de la "
    "visite.\n"
    "2. Une participation par personne : une adresse e-mail et un compte Twitter/X.\n"
    "3. Confirmez votre participation avec le lien envoyé par e-mail ; les participations "
    "non confirmées ne sont pas tirées au sort.\n"
    "4. Cinq places gagnantes et cinq places suppléantes sont tirées au sort selon la "
    "procédure publique et vérifiable tweetup-draw-v1 ; tout le monde peut la refaire à "
    "partir du registre publié.\n"
    "5. Les personnes gagnantes ont 72 heures pour accepter ; passé ce délai, la place "
    "revient à la personne suppléante suivante.\n"
    "6. Le trajet jusqu'au point de rendez-vous est à la charge des personnes gagnantes."
)


def visit_date_after(closes_at: datetime) -> date:
    """The first Wednesday three weeks or more after ``closes_at``, outside CERN's closure.

    The weeks leave time for the draw, the winners' answers and the
    alternates. CERN closes over the end-of-year holidays (here 20 December
    to 6 January), so a day in them moves to the first Wednesday after.
    """

    def wednesday_from(day: date) -> date:
        return day + timedelta(days=(2 - day.weekday()) % 7)

    day = wednesday_from(
        timezone.localdate(closes_at, zoneinfo.ZoneInfo(VISIT_TIME_ZONE)) + timedelta(weeks=3)
    )
    if (day.month, day.day) >= (12, 20) or (day.month, day.day) <= (1, 6):
        day = wednesday_from(date(day.year + (day.month == 12), 1, 7))
    return day


@dataclass(frozen=True)
class Demo:
    """What the demo holds, for the command to print."""

    upcoming: Visit
    visit_2012: Visit
    logins: list[tuple[str, str]]
    open_slug: str = OPEN_SLUG
    drawn_slug: str = DRAWN_SLUG


def demo_load() -> Demo:
    """Make the demo's visits, contests, staff, drawn contest and visit days, once."""
    with transaction.atomic():
        visit_2012 = _visit_2012()
        upcoming = _contests(visit_2012)
        logins = _staff()
        create_drawn_contest(
            visit=visit_2012,
            organizer=User.objects.get(username="organizer"),
            rules=RULES,
            rules_fr=RULES_FR,
        )
        load_visit_demo(visit_2012)
        load_upcoming_visit_demo(upcoming)
        _french_where_missing(visit_2012, upcoming)
    return Demo(upcoming=upcoming, visit_2012=visit_2012, logins=logins)


def _visit_2012() -> Visit:
    visit, _ = Visit.objects.get_or_create(
        slug=VISIT_2012_SLUG,
        defaults={
            "title_en": VISIT_2012_TITLE,
            "title_fr": VISIT_2012_TITLE_FR,
            "date": date(2012, 7, 25),
            "time_zone": VISIT_TIME_ZONE,
            "meeting_point_en": MEETING_POINT,
            "meeting_point_fr": MEETING_POINT_FR,
            "practical_notes_en": NOTES_2012,
            "practical_notes_fr": NOTES_2012_FR,
        },
    )
    return visit


def _upcoming_visit(closes_at: datetime) -> Visit:
    """The open contest's visit, dated from the contest's closing (see visit_date_after).

    Running the command again finds the same visit.
    """
    day = visit_date_after(closes_at)
    visit, _ = Visit.objects.get_or_create(
        slug=UPCOMING_VISIT_SLUG,
        defaults={
            "title_en": f"CERN TweetUp {day.year}",
            "title_fr": f"TweetUp du CERN {day.year}",
            "date": day,
            "time_zone": VISIT_TIME_ZONE,
            "meeting_point_en": MEETING_POINT,
            "meeting_point_fr": MEETING_POINT_FR,
            "practical_notes_en": NOTES_UPCOMING,
            "practical_notes_fr": NOTES_UPCOMING_FR,
        },
    )
    return visit


def _contests(visit_2012: Visit) -> Visit:
    """Create the open and the closed contest once; return the open one's visit."""
    now = timezone.now()
    contest = Contest.objects.filter(slug=OPEN_SLUG).first()
    closes_at = contest.closes_at if contest else now + timedelta(days=12)
    upcoming = _upcoming_visit(closes_at)
    if contest is None:
        contest_create(
            slug=OPEN_SLUG,
            title_en=OPEN_TITLE,
            title_fr=OPEN_TITLE_FR,
            description_en=DESCRIPTION,
            description_fr=DESCRIPTION_FR,
            # No French hashtag: French readers see the English one.
            hashtag_en="CERNTweetup",
            rules_en=RULES,
            rules_fr=RULES_FR,
            time_zone=VISIT_TIME_ZONE,
            opens_at=now - timedelta(days=2),
            closes_at=closes_at,
            winners_count=5,
            alternates_count=5,
            max_winners_per_country=2,
            visit=upcoming,
        )
    elif contest.visit_id == visit_2012.pk:
        # A demo loaded before the open contest had a visit of its own led
        # it to the 2012 day; give it its own.
        contest.visit = upcoming
        fields = ["visit"]
        if contest.description_en == DESCRIPTION_BEFORE:
            contest.description_en, contest.description_fr = DESCRIPTION, DESCRIPTION_FR
            fields += ["description", "description_en", "description_fr"]
        contest.save(update_fields=fields)
    if not Contest.objects.filter(slug=LHC_SLUG).exists():
        tz = timezone.get_fixed_timezone(60)
        contest_create(
            slug=LHC_SLUG,
            title_en=LHC_TITLE,
            title_fr=LHC_TITLE_FR,
            description_en=LHC_DESCRIPTION,
            description_fr=LHC_DESCRIPTION_FR,
            hashtag_en="LHC",
            rules_en=RULES,
            rules_fr=RULES_FR,
            time_zone=VISIT_TIME_ZONE,
            opens_at=datetime(2010, 3, 1, 9, 0, tzinfo=tz),
            closes_at=datetime(2010, 3, 20, 23, 59, tzinfo=tz),
            winners_count=5,
            alternates_count=5,
        )
    return upcoming


# The French of each English text the demo writes: a demo loaded before the
# site kept French gets it on the next run, where its French is still empty.
FRENCH_OF = {
    OPEN_TITLE: OPEN_TITLE_FR,
    DESCRIPTION: DESCRIPTION_FR,
    RULES: RULES_FR,
    LHC_TITLE: LHC_TITLE_FR,
    LHC_DESCRIPTION: LHC_DESCRIPTION_FR,
    draw.TITLE: draw.TITLE_FR,
    draw.DESCRIPTION: draw.DESCRIPTION_FR,
    VISIT_2012_TITLE: VISIT_2012_TITLE_FR,
    MEETING_POINT: MEETING_POINT_FR,
    NOTES_2012: NOTES_2012_FR,
    NOTES_UPCOMING: NOTES_UPCOMING_FR,
    **DAY_FRENCH_OF,
}


def _french_where_missing(visit_2012: Visit, upcoming: Visit) -> None:
    """Write the French of the demo's rows whose French is empty; nothing once it is there."""
    french_of = {
        **FRENCH_OF,
        f"CERN TweetUp {upcoming.date.year}": f"TweetUp du CERN {upcoming.date.year}",
    }
    visits = [visit_2012.pk, upcoming.pk]
    for rows in (
        Contest.objects.filter(slug__in=[OPEN_SLUG, LHC_SLUG, DRAWN_SLUG]),
        Visit.objects.filter(pk__in=visits),
        TourStop.objects.filter(visit__in=visits),
        LiveUpdate.objects.filter(visit__in=visits),
        Location.objects.filter(stops__visit__in=visits).distinct(),
    ):
        fields = translator.get_options_for_model(rows.model).fields
        for row in rows:
            missing = [
                field
                for field in fields
                if not getattr(row, f"{field}_fr") and getattr(row, f"{field}_en") in french_of
            ]
            for field in missing:
                setattr(row, f"{field}_fr", french_of[getattr(row, f"{field}_en")])
            if missing:
                row.save(update_fields=[f"{field}_fr" for field in missing])


def _staff() -> list[tuple[str, str]]:
    groups_ensure()
    logins = []
    for username, group_name in (
        ("organizer", ORGANIZERS),
        ("touradmin", TOUR_ADMINS),
        ("pressofficer", PRESS_OFFICERS),
    ):
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(Group.objects.get(name=group_name))
        logins.append((group_name, username))
    return logins
