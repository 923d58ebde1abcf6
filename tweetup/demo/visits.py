"""The demo's visit days: CERN's first TweetUp (25 July 2012) and the next one.

Loaded after the demo contests exist; safe to run again. Rows are written
directly: no mail is sent. The 2012 day has its visitors, questions and live
updates; the upcoming day only its stops, as nobody has been drawn for it yet.
What a tour admin writes is given in English and French.
"""

from datetime import datetime, time, timedelta

from contests.models import Selection
from visitors.models import VisitorProfile
from visitors.services.profiles import visitor_profile_create
from visits.models import LiveUpdate, Location, Question, TourStop, Visit
from visits.services.stops import StopSlot, stops_validate

# key: ((name, French name), (address, French address), (description, French description))
LOCATIONS = {
    "reception": (
        ("Reception, Building 33", "Accueil, bâtiment 33"),
        ("Route de Meyrin 385, Meyrin", "Route de Meyrin 385, Meyrin"),
        ("Where visitors get their badges, at the main entrance of the Meyrin site.",
         "Là où les personnes en visite reçoivent leur badge, à l'entrée principale du "
         "site de Meyrin."),
    ),
    "computing": (
        ("CERN Computing Centre, Building 513", "Centre de calcul du CERN, bâtiment 513"),
        ("Meyrin site", "Site de Meyrin"),
        ("The servers and tape robots of the LHC grid's Tier-0.",
         "Les serveurs et les robots à bandes du Tier-0 de la grille du LHC."),
    ),
    "ccc": (
        ("CERN Control Centre, Building 874", "Centre de contrôle du CERN, bâtiment 874"),
        ("Prévessin site", "Site de Prévessin"),
        ("Where operators run the accelerators, day and night.",
         "Là où les équipes d'exploitation pilotent les accélérateurs, jour et nuit."),
    ),
    "restaurant": (
        ("Restaurant 1, Building 501", "Restaurant 1, bâtiment 501"),
        ("Meyrin site", "Site de Meyrin"),
        ("", ""),
    ),
    "auditorium": (
        ("Main Auditorium, Building 500", "Grand amphithéâtre, bâtiment 500"),
        ("Meyrin site", "Site de Meyrin"),
        ("", ""),
    ),
    "globe": (
        ("Globe of Science and Innovation", "Globe de la science et de l'innovation"),
        ("Route de Meyrin, Meyrin", "Route de Meyrin, Meyrin"),
        ("The wooden globe across the road from the main entrance.",
         "Le globe de bois en face de l'entrée principale."),
    ),
}  # fmt: skip

# (location, start, end, (title, French title), (guide, French guide), language, capacity,
#  (notes, French notes))
STOPS_2012 = (
    ("reception", (9, 30), (10, 0), ("Welcome and badges", "Accueil et badges"),
     ("CERN Press Office", "Service de presse du CERN"), "en", 10,
     ("Coffee at the Reception; badges and safety briefing.",
      "Café à l'accueil ; badges et consignes de sécurité.")),
    ("computing", (10, 0), (11, 30),
     ("The Computing Centre: Tier-0 of the LHC grid",
      "Le Centre de calcul : le Tier-0 de la grille du LHC"),
     ("Computing Centre team", "Équipe du Centre de calcul"), "en", 12,
     ("Closed shoes; no food or drink among the servers.",
      "Chaussures fermées ; ni nourriture ni boisson parmi les serveurs.")),
    ("ccc", (11, 45), (12, 45),
     ("CERN Control Centre: the LHC in operation",
      "Centre de contrôle du CERN : le LHC en fonctionnement"),
     ("LHC operators", "Équipe d'exploitation du LHC"), "en", 12,
     ("Bus to Prévessin leaves Building 33 at 11:30.",
      "Le bus pour Prévessin part du bâtiment 33 à 11 h 30.")),
    ("restaurant", (12, 45), (14, 0),
     ("Lunch with physicists", "Déjeuner avec des physiciens et physiciennes"),
     ("", ""), "fr", 20, ("", "")),
    ("auditorium", (14, 30), (16, 0),
     ("AMS public talk with the STS-134 astronauts",
      "Conférence publique AMS avec les astronautes de STS-134"),
     ("AMS collaboration", "Collaboration AMS"), "en", 400,
     ("Reserved seats in the first row.", "Places réservées au premier rang.")),
    ("globe", (16, 15), (17, 0),
     ("Wrap-up at the Globe: your questions, answered",
      "Bilan au Globe : réponses à vos questions"),
     ("CERN Press Office", "Service de presse du CERN"), "fr", 30, ("", "")),
)  # fmt: skip

# The next visit follows the 2012 day: the Computing Centre in the morning,
# the CERN Control Centre before lunch, the public's questions in the
# afternoon and a public talk to close the day.
STOPS_UPCOMING = (
    ("reception", (9, 0), (9, 30),
     ("Welcome, badges and safety briefing", "Accueil, badges et consignes de sécurité"),
     ("CERN Press Office", "Service de presse du CERN"), "en", 12,
     ("Bring the identity document you entered with.",
      "Munissez-vous de la pièce d'identité indiquée lors de votre inscription.")),
    ("computing", (9, 45), (11, 15),
     ("The Computing Centre: where every collision is kept",
      "Le Centre de calcul : là où chaque collision est conservée"),
     ("CERN IT guides", "Guides du département IT du CERN"), "en", 12,
     ("Closed shoes; the server rooms are loud and cold.",
      "Chaussures fermées ; les salles de serveurs sont bruyantes et froides.")),
    ("ccc", (11, 45), (12, 45),
     ("CERN Control Centre: an hour with the accelerator operators",
      "Centre de contrôle du CERN : une heure avec l'équipe qui pilote les accélérateurs"),
     ("Operations team", "Équipe d'exploitation"), "en", 12,
     ("A shuttle to the Prévessin site leaves Building 33 at 11:20.",
      "Une navette pour le site de Prévessin part du bâtiment 33 à 11 h 20.")),
    ("restaurant", (12, 45), (14, 0),
     ("Lunch with physicists and engineers",
      "Déjeuner avec des physiciens, physiciennes, ingénieurs et ingénieures"),
     ("", ""), "fr", 20, ("", "")),
    ("globe", (14, 15), (15, 30),
     ("Your followers ask: questions from the public, live",
      "Votre public demande : ses questions, en direct"),
     ("CERN Press Office", "Service de presse du CERN"), "fr", 30,
     ("Questions sent online during the day go to the guides.",
      "Les questions envoyées en ligne pendant la journée sont transmises aux guides.")),
    ("auditorium", (16, 0), (17, 30),
     ("Public talk: the High-Luminosity LHC",
      "Conférence publique : le LHC à haute luminosité"),
     ("CERN physicists", "Physiciennes et physiciens du CERN"), "en", 400,
     ("Open to all; the winners have seats in the first row.",
      "Ouverte à tout le monde ; les personnes gagnantes ont des places au premier rang.")),
)  # fmt: skip

QUESTIONS = {
    "The Computing Centre: Tier-0 of the LHC grid": (
        ("How many petabytes does the LHC record each year?", "@datanerd", "answered",
         "About 25 petabytes in 2012, copied to tape here and shared with the grid."),
        ("How do you cool so many servers?", "Léa", "approved", ""),
    ),
    "CERN Control Centre: the LHC in operation": (
        ("How long does it take to fill the LHC?", "@beamwatcher", "answered",
         "Injection and ramp take about an hour before the beams collide."),
        ("What is the first thing operators check after a beam dump?", "", "asked", ""),
    ),
    "AMS public talk with the STS-134 astronauts": (
        ("What did AMS find about antimatter so far?", "Mei", "approved", ""),
    ),
}  # fmt: skip

# (time, (text, French text), index of the stop)
UPDATES = (
    ((9, 35), ("Our five TweetUp winners have arrived at Reception. Badges on, let's go!",
               "Les cinq personnes gagnantes du TweetUp sont à l'accueil. Badges en place, "
               "c'est parti !"), 0),
    ((10, 5), ("Inside the Computing Centre: thousands of servers and the tape robots that "
               "keep every LHC collision.",
               "Dans le Centre de calcul : des milliers de serveurs et les robots à bandes qui "
               "conservent chaque collision du LHC."), 1),
    ((11, 52), ("At the CERN Control Centre. Beams are back! The LHC is filling for physics.",
                "Au Centre de contrôle du CERN. Les faisceaux sont de retour ! Le LHC se "
                "remplit pour la physique."), 2),
    ((12, 30), ("Stable beams declared: the experiments are taking data.",
                "Faisceaux stables déclarés : les expériences prennent des données."), 2),
    ((14, 32), ("The AMS talk with the STS-134 astronauts begins in the Main Auditorium.",
                "La conférence AMS avec les astronautes de STS-134 commence dans le grand "
                "amphithéâtre."), 4),
    ((16, 20), ("Thank you for all your questions: the winners asked them on the spot.",
                "Merci pour toutes vos questions : les personnes gagnantes les ont posées "
                "sur place."), 5),
)  # fmt: skip

# The French of each English text of the days above.
FRENCH_OF = (
    {
        english: french
        for *_, (title, title_fr), (guide, guide_fr), _language, _capacity, (notes, notes_fr) in (
            *STOPS_2012,
            *STOPS_UPCOMING,
        )
        for english, french in ((title, title_fr), (guide, guide_fr), (notes, notes_fr))
        if english
    }
    | {english: french for _time, (english, french), _stop in UPDATES}
    | {english: french for texts in LOCATIONS.values() for english, french in texts if english}
)

VISITORS = (
    {"languages": [("en", "native"), ("fr", "conversational")], "dietary": "Vegetarian",
     "bio": "Physics teacher who blogs about particle physics for teenagers.", "public": True},
    {"languages": [("it", "native"), ("en", "fluent")], "dietary": "",
     "bio": "Science journalist; writes about big machines.", "public": True},
    {"languages": [("fr", "native"), ("en", "fluent"), ("de", "basic")],
     "accessibility": "Step-free access, please (knee surgery).", "bio": "PhD student.",
     "public": True},
    {"languages": [("ja", "native"), ("en", "fluent")], "dietary": "No pork",
     "bio": "Photographer of laboratories and observatories.", "public": False},
    {"languages": [("es", "native"), ("en", "conversational"), ("pt", "basic")],
     "bio": "Engineer who follows every LHC update.", "public": True},
)  # fmt: skip


def _at(visit: Visit, hour_minute: tuple[int, int]) -> datetime:
    return datetime.combine(visit.date, time(*hour_minute), tzinfo=visit.tzinfo)


def load_visit_demo(visit: Visit) -> None:
    """Stops, visitors, questions and live updates of the demo's 2012 visit, once."""
    stops = _stops(visit, STOPS_2012)
    _visitors(visit)
    _questions(visit, stops)
    _updates(visit, stops)


def load_upcoming_visit_demo(visit: Visit) -> None:
    """Stops of the demo's upcoming visit, once; its visitors come from a draw not made yet."""
    _stops(visit, STOPS_UPCOMING)


def _stops(visit: Visit, plan: tuple) -> list[TourStop]:
    if visit.stops.exists():
        return list(visit.stops.order_by("starts_at"))
    locations = {
        key: Location.objects.get_or_create(
            name_en=name[0],
            defaults={
                "name_fr": name[1],
                "address_en": address[0],
                "address_fr": address[1],
                "description_en": description[0],
                "description_fr": description[1],
            },
        )[0]
        for key, (name, address, description) in LOCATIONS.items()
    }
    stops = [
        TourStop(
            visit=visit,
            location=locations[key],
            starts_at=_at(visit, start),
            ends_at=_at(visit, end),
            title_en=title[0],
            title_fr=title[1],
            guide_en=guide[0],
            guide_fr=guide[1],
            language=language,
            capacity=capacity,
            notes_en=notes[0],
            notes_fr=notes[1],
        )
        for key, start, end, title, guide, language, capacity, notes in plan
    ]
    stops_validate(
        visit=visit,
        stops=[StopSlot(title=s.title_en, starts_at=s.starts_at, ends_at=s.ends_at) for s in stops],
    )
    return TourStop.objects.bulk_create(stops)


def _visitors(visit: Visit) -> None:
    """Profiles for the accepted places of the contests that lead to this visit."""
    selections = (
        Selection.objects.filter(
            draw__contest__visit=visit,
            status=Selection.Status.ACCEPTED,
            visitor_profile__isnull=True,
        )
        .select_related("entry")
        .order_by("answered_at", "pk")
    )
    arrival = _at(visit, (9, 20))
    for index, selection in enumerate(selections):
        profile = visitor_profile_create(selection=selection, notify=False)
        data = VISITORS[index % len(VISITORS)]
        profile.languages = [{"code": code, "level": level} for code, level in data["languages"]]
        profile.bio = data["bio"]
        profile.dietary_needs = data.get("dietary", "")
        profile.accessibility_needs = data.get("accessibility", "")
        profile.emergency_contact_name = f"{selection.entry.first_name}'s family"
        profile.emergency_contact_phone = f"+41 22 767 00 {index:02d}"
        profile.public_consent = data["public"]
        profile.photo_consent = index != 3
        profile.attendance_confirmed_at = (selection.answered_at or visit.day_start) + timedelta(
            days=1
        )
        # One visitor has not arrived yet: the check-in page shows it at a glance.
        if index != len(VISITORS) - 1:
            profile.checked_in_at = arrival + timedelta(minutes=4 * index)
        profile.save()


def _questions(visit: Visit, stops: list[TourStop]) -> None:
    if Question.objects.filter(stop__visit=visit).exists():
        return
    by_title = {stop.title_en: stop for stop in stops}
    questions = []
    for title, items in QUESTIONS.items():
        stop = by_title.get(title)
        if stop is None:
            continue
        for offset, (text, author, status, answer) in enumerate(items):
            questions.append(
                Question(
                    stop=stop,
                    text=text,
                    author_name=author,
                    status=status,
                    answer=answer,
                    created_at=stop.starts_at - timedelta(minutes=30 - offset),
                    moderated_at=stop.starts_at - timedelta(minutes=10),
                    answered_at=stop.ends_at - timedelta(minutes=5) if answer else None,
                )
            )
    Question.objects.bulk_create(questions)


def _updates(visit: Visit, stops: list[TourStop]) -> None:
    if visit.live_updates.exists():
        return
    LiveUpdate.objects.bulk_create(
        LiveUpdate(
            visit=visit,
            stop=stops[stop_index] if stop_index < len(stops) else None,
            text_en=text[0],
            text_fr=text[1],
            posted_at=_at(visit, hour_minute),
        )
        for hour_minute, text, stop_index in UPDATES
    )


def demo_summary(visit: Visit) -> str:
    visitors = VisitorProfile.objects.for_visit(visit).count()
    return (
        f"  The visit: {visit.get_absolute_url()} ({visit.stops.count()} stops, "
        f"{visitors} visitors; live updates at {visit.get_absolute_url()}live/)"
    )
