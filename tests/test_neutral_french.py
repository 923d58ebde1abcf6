"""French speaks of a person neutrally: the reader, a winner, an alternate, the staff.

The walk-through of issue 13 found the masculine on the home page ("si vous êtes
tiré au sort"), the results ("au premier suppléant"), a stop without questions
("soyez le premier") and the mails of the places ("au suppléant suivant"). Users then
found the masculine for everyone in the plurals and the staff's labels ("les gagnants",
"les visiteurs", "les organisateurs", "que chacun peut vérifier"): no word of the
catalogue speaks of people in the masculine.
"""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.urls import reverse
from django.utils import translation

from tests.public_site import public_site
from tests.support import rows_for_the_module
from tests.visits.factories import TourStopFactory
from visits.models import Visit

CATALOGUE = Path(__file__).resolve().parent.parent / "locale/fr/LC_MESSAGES/django.po"
# Masculine words about one person whose gender the site does not know.
MASCULINE = (
    "si vous êtes tiré",
    "tiré au sort comme suppléant",
    "au suppléant suivant",
    "au premier suppléant",
    "soyez le premier",
    "un administrateur de visite",
    "un gagnant",
    "de leurs gagnants",
    "Le participant a accepté",
    "Soyez bref",
)


def test_the_french_catalogue_speaks_of_a_person_neutrally():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found = [
        (str(message.id)[:60], text)
        for message in catalogue
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if any(word.lower() in text.lower() for word in MASCULINE)
    ]
    assert not found, found


# Masculine generics for people, as whole words: the catalogue says "personnes
# gagnantes", "places suppléantes", "l'équipe organisatrice", "le groupe", "les
# personnes en visite", "tout le monde" instead.
MASCULINE_GENERICS = re.compile(
    r"\b("
    r"organisateurs?|administrateurs?|visiteurs?|participants?|gagnants?|suppléants?"
    r"|inscrits|abonnés?|invités|connectés|retenus|informés|prévenus|promu"
    r"|détenteurs?|lecteurs?|locuteurs?|auteurs?|éditeurs?|étudiants?|opérateurs?"
    r"|utilisateurs?|chacun|tous les|seuls les|non-retenus"
    r"|(?:du|au|le|un) guide"
    r")\b",
    re.IGNORECASE,
)
# Phrases that match the words above but speak of things, each with its reason.
NOT_ABOUT_PEOPLE = {
    "Tous les concours": "the contests",
    "Tous les e-mails": "the mails",
    "ceux qui ont été retenus": "the tickets that the draw kept",
}


def _translations() -> list[tuple[str, str]]:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    return [
        (str(message.id)[:60], text)
        for message in catalogue
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
    ]


def test_no_translation_uses_a_masculine_generic_for_people():
    found = []
    for message_id, text in _translations():
        for phrase in NOT_ABOUT_PEOPLE:
            text = re.sub(re.escape(phrase), "", text, flags=re.IGNORECASE)
        found += [(message_id, match.group(0)) for match in MASCULINE_GENERICS.finditer(text)]
    assert not found, found


def test_each_exception_to_the_masculine_generics_is_still_needed():
    texts = [text.lower() for _, text in _translations()]
    unused = [phrase for phrase in NOT_ABOUT_PEOPLE if not any(phrase.lower() in t for t in texts)]
    assert not unused, unused


DEMO = Path(__file__).resolve().parent.parent / "tweetup/demo"
# What the demo's French content said of its winners before it was worded neutrally.
DEMO_MASCULINE = (
    "gagnants",
    "suppléants",
    "abonnés",
    "tous les autres",
    "chacun peut",
    "visiteurs",
    "organisateurs",
    "opérateurs",
)


def test_the_demo_s_french_content_speaks_of_its_winners_neutrally():
    found = [
        (path.name, number, line.strip())
        for path in sorted(DEMO.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(word in line.lower() for word in DEMO_MASCULINE)
    ]
    assert not found, found


@pytest.fixture(scope="module")
def _site(django_db_setup, django_db_blocker):
    yield from rows_for_the_module(django_db_blocker, public_site)


def french(client, url: str) -> str:
    # The override puts the test's language back after.
    with translation.override("fr"):
        response = client.get(url, headers={"accept-language": "fr"})
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.django_db
def test_the_home_page_and_the_results_speak_neutrally_in_french(client, _site):
    home = french(client, _site["home"])
    assert "si le sort vous désigne, rejoignez la visite" in home
    results = french(client, _site["results"])
    assert "la place revient à la première personne suppléante" in results
    assert ">Promotion</span>" in results
    assert "Promu<" not in results


@pytest.mark.django_db
def test_a_stop_without_questions_invites_the_first_one_neutrally_in_french(client, _site):
    visit = Visit.objects.get(slug=_site["visit"].strip("/").split("/")[-1])
    stop = TourStopFactory(visit=visit)
    page = french(client, reverse("visits:stop", kwargs={"slug": visit.slug, "pk": stop.pk}))
    assert "Aucune question pour le moment : posez la première." in page
    assert "équipe de la visite la lit avant qu" in page
