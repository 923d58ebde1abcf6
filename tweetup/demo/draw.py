"""The demo's past contest: entries, frozen, drawn, and its places answered."""

import random
import unicodedata
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from contests.models import Contest, Draw, Entry, Selection, SelectionEvent
from contests.normalize import normalize_email
from contests.services.draws import contest_freeze, draw_run, entry_invalidate
from contests.services.entries import contest_create, ticket_generate
from contests.services.selections import selection_promote
from visits.models import Visit

SLUG = "first-cern-tweetup-2012"
TITLE = "CERN's first TweetUp, 25 July 2012"
TITLE_FR = "Le premier TweetUp du CERN, 25 juillet 2012"
DESCRIPTION = (
    "The contest of CERN's first TweetUp: five followers drawn from the entrants "
    "spent 25 July 2012 behind the scenes, from the Computing Centre to the CERN "
    "Control Centre, relaying the public's questions. The draw is public: see the "
    "results, the live draw page and the audit record."
)
DESCRIPTION_FR = (
    "Le concours du premier TweetUp du CERN : cinq personnes abonnées, tirées au sort "
    "parmi les participations, ont passé le 25 juillet 2012 dans les coulisses, du "
    "Centre de calcul "
    "au Centre de contrôle du CERN, en relayant les questions du public. Le tirage est "
    "public : consultez les résultats, la page du tirage en direct et le registre "
    "d'audit."
)
ENTRIES = 320
FIRST_NAMES = (
    "Lucy", "Paolo", "Amira", "Jonas", "Chloé", "Kenji", "Ana", "Liam", "Sofia", "Mateo",
    "Ingrid", "Ravi", "Fatou", "Elena", "Tomás", "Hannah", "Yusuf", "Mei", "Oskar", "Léa",
    "Diego", "Zara", "Nils", "Priya", "Marek", "Aoife", "Hugo", "Noor", "Björn", "Camille",
)  # fmt: skip
LAST_NAMES = (
    "McKenna", "Rossi", "Haddad", "Becker", "Martin", "Sato", "Silva", "Murphy", "García",
    "Novak", "Larsen", "Iyer", "Diallo", "Petrova", "Costa", "Schmidt", "Kaya", "Chen",
    "Nowak", "Dubois", "Fernández", "Khan", "Berg", "Sharma", "Horvat", "Byrne", "Moreau",
)  # fmt: skip
COUNTRIES = (
    ("CH", 18), ("FR", 16), ("GB", 10), ("US", 9), ("DE", 8), ("IT", 7), ("ES", 6),
    ("IN", 5), ("BR", 4), ("JP", 3), ("IE", 3), ("PL", 3), ("CA", 3), ("SE", 2), ("GR", 2),
)  # fmt: skip
BACKGROUNDS = (
    ("science", 24), ("engineering", 18), ("student", 20), ("teaching", 10),
    ("journalism", 8), ("communication", 8), ("arts", 5), ("law", 2), ("business", 3),
    ("other", 2),
)  # fmt: skip
LANGUAGES = ("en", "fr", "de", "it", "es", "pt", "ja", "hi", "pl", "sv", "el", "ga")
MOTIVATIONS = (
    "I follow every LHC update and would love to see the Control Centre with my own eyes.",
    "I teach physics to teenagers and want to bring back stories from the Computing Centre.",
    "I write a science blog in two languages and my readers ask great questions.",
    "Je suis étudiante en physique et je rêve de voir le centre de contrôle du LHC.",
    "I photograph big machines; the CERN Control Centre is at the top of my list.",
)
# A beacon round published after the freeze (10 July) and before the draw
# (11 July, 09:59 UTC), as the draw's rules ask.
ENTROPY = "demo beacon round 2012-07-11T09:30Z (not a real beacon value)"


def create_drawn_contest(
    *, visit: Visit | None, organizer: User, rules: str, rules_fr: str = ""
) -> Contest | None:
    """Create the past contest, frozen and drawn, once; None when it exists already."""
    if Contest.objects.filter(slug=SLUG).exists():
        return None
    zurich = timezone.get_fixed_timezone(120)  # Summer time in Geneva.
    opens_at = datetime(2012, 6, 27, 12, 0, tzinfo=zurich)
    closes_at = datetime(2012, 7, 9, 23, 59, tzinfo=zurich)
    contest = contest_create(
        slug=SLUG,
        title_en=TITLE,
        title_fr=TITLE_FR,
        description_en=DESCRIPTION,
        description_fr=DESCRIPTION_FR,
        hashtag_en="CERNTweetup",
        rules_en=rules,
        rules_fr=rules_fr,
        time_zone="Europe/Zurich",
        opens_at=opens_at,
        closes_at=closes_at,
        winners_count=5,
        alternates_count=5,
        acceptance_hours=72,
        max_winners_per_country=2,
        visit=visit,
    )
    entries = _entries(contest, random.Random(20120725))  # noqa: S311 - demo data only
    invalid = [entries[7], entries[42]]
    entry_invalidate(
        entry=invalid[0],
        actor=organizer,
        reason=f"Duplicate person: same entrant as ticket {entries[8].ticket}.",
        now=closes_at + timedelta(hours=9),
    )
    entry_invalidate(
        entry=invalid[1],
        actor=organizer,
        reason="Ineligible: CERN staff member.",
        now=closes_at + timedelta(hours=9, minutes=5),
    )
    contest = contest_freeze(contest=contest, actor=organizer, now=closes_at + timedelta(hours=10))
    draw = draw_run(
        contest=contest,
        actor=organizer,
        external_entropy=ENTROPY,
        notify=False,
        now=closes_at + timedelta(days=1, hours=12),
    )
    _answer(draw)
    return contest


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _entries(contest: Contest, rng: random.Random) -> list[Entry]:
    span = (contest.closes_at - contest.opens_at).total_seconds()
    tickets: set[str] = set()
    entries = []
    for n in range(ENTRIES):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        plain = unicodedata.normalize("NFKD", f"{first[:6]}{last[:6]}")
        handle = f"{plain.encode('ascii', 'ignore').decode()}{n}"[:15]
        email = f"{handle.lower()}@example.org"
        created_at = contest.opens_at + timedelta(seconds=span * rng.random() ** 1.5)
        confirmed = rng.random() < 0.9
        while (ticket := ticket_generate()) in tickets:
            continue
        tickets.add(ticket)
        background = _pick(rng, BACKGROUNDS)
        entries.append(
            Entry(
                contest=contest,
                name=f"{first} {last}",
                email=email,
                email_normalized=normalize_email(email),
                twitter_handle=handle,
                handle_normalized=handle.lower(),
                country=_pick(rng, COUNTRIES),
                languages=sorted({"en", *rng.sample(LANGUAGES, 2)}),
                background=background,
                background_other="Museum guide" if background == "other" else "",
                motivation=rng.choice(MOTIVATIONS),
                language="fr" if rng.random() < 0.3 else "en",
                rules_accepted=True,
                publish_handle=rng.random() < 0.6,
                ticket=ticket,
                created_at=created_at,
                confirmed_at=(
                    min(created_at + timedelta(minutes=rng.randint(2, 600)), contest.closes_at)
                    - timedelta(seconds=1)
                    if confirmed
                    else None
                ),
            )
        )
    return Entry.objects.bulk_create(entries)


def _answer(draw: Draw) -> None:
    """Give the places the answers of a contest long over: accepted, declined, expired.

    The answers are set directly, at their times in the past; each place
    freed goes on through the promotion service when it is freed (at the
    decline, then at the expiry), to the first alternate that keeps the caps,
    as the draw's rules say. No mail is written: it left in 2012.
    """
    selections = {(s.kind, s.position): s for s in draw.selections.select_related("entry").all()}
    drawn_at = draw.drawn_at
    winners = [selections[(Selection.Kind.WINNER, position)] for position in range(1, 6)]
    _settle(winners[0], Selection.Status.ACCEPTED, drawn_at + timedelta(hours=3))
    _settle(winners[1], Selection.Status.ACCEPTED, drawn_at + timedelta(hours=20))
    _settle(winners[2], Selection.Status.DECLINED, drawn_at + timedelta(hours=26))
    _promote_and_accept(draw, at=winners[2].answered_at)
    _settle(winners[4], Selection.Status.ACCEPTED, drawn_at + timedelta(hours=50))
    _settle(winners[3], Selection.Status.EXPIRED, winners[3].deadline)
    _promote_and_accept(draw, at=winners[3].deadline)


def _promote_and_accept(draw: Draw, *, at: datetime) -> None:
    for selection in selection_promote(draw=draw, notify=False, now=at):
        _settle(selection, Selection.Status.ACCEPTED, at + timedelta(hours=5))


def _settle(selection: Selection, status: str, at: datetime) -> None:
    selection.status = status
    if status in (Selection.Status.ACCEPTED, Selection.Status.DECLINED):
        selection.answered_at = at
    selection.save(update_fields=["status", "answered_at", "promoted_at", "deadline"])
    expired = status == Selection.Status.EXPIRED
    _log(selection, status, at, cause=SelectionEvent.Cause.NO_ANSWER if expired else "")


def _log(selection: Selection, action: str, at: datetime, *, cause: str = "") -> None:
    SelectionEvent.objects.create(selection=selection, action=action, at=at, cause=cause)
