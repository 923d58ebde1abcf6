"""A contest in French from end to end, on the production stack, in Chromium.

A tour admin plans a visit and an organizer creates a contest, each written
in English and in French, in the admin as it shows to a French browser;
three people enter from French pages (two browsers that ask for French, one
that switches with the site's language selector), read the French
confirmation mail and confirm; the organizer closes, freezes and draws from
French pages; the winner reads the French offer, accepts, completes the
profile and gets the French itinerary and calendar, and the alternate reads
the French notice of their rank. Every page and mail of the journey shows the
French texts of the contest and the visit, never their English ones.
"""

import re
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.acceptance.stack import Person, fill_entry_form, links, text_part
from tests.acceptance.test_staff_journeys import (  # noqa: F401 - the fixture, for these tests too
    SITE_ZONE,
    _screenshots_on_failure,
    calendar_events,
    place_links,
    visitor_links,
)
from tests.support import html_part

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(600)]

FRENCH_BROWSER = "fr-CH"
# The demo's place, as the French admin and the French itinerary name it.
LOCATION = "Centre de calcul du CERN, bâtiment 513"
# How the French admin shows and takes a date (Django's French DATE_INPUT_FORMATS).
FRENCH_DATE = "%d/%m/%Y"


@dataclass(frozen=True)
class Texts:
    """What the staff write, in one language; each text of the test's own (its token)."""

    contest_title: str
    hashtag: str
    description: str
    rules: str
    visit_title: str
    meeting_point: str
    practical_notes: str
    stop_title: str
    stop_guide: str
    stop_notes: str

    def all(self) -> list[str]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


def texts(token: str) -> tuple[Texts, Texts]:
    """The English and French texts of the contest and its visit."""
    english = Texts(
        contest_title=f"Night shift at the Computing Centre {token}",
        hashtag=f"NightShift{token}",
        description="Spend a night with the operators who keep the LHC's data safe.",
        rules="One entry per person. Confirm your entry by mail.",
        visit_title=f"The Computing Centre by night {token}",
        meeting_point="Reception desk of Building 33",
        practical_notes="Bring warm clothes: the machine rooms are cold at night.",
        stop_title=f"Tape robots and disk servers {token}",
        stop_guide=f"Tape operations team {token}",
        stop_notes="Ear protection is provided at the door.",
    )
    french = Texts(
        contest_title=f"Nuit blanche au Centre de calcul {token}",
        hashtag=f"NuitBlanche{token}",
        description="Passez une nuit avec les équipes qui veillent sur les données du LHC.",
        rules="Une seule participation par personne. Confirmez-la par mail.",
        visit_title=f"Le Centre de calcul de nuit {token}",
        meeting_point="Accueil du bâtiment 33",
        practical_notes="Prévoyez des vêtements chauds : les salles des machines sont froides.",
        stop_title=f"Robots à bandes et serveurs de disques {token}",
        stop_guide=f"Équipe des bandes magnétiques {token}",
        stop_notes="Des protections auditives sont fournies à l'entrée.",
    )
    return english, french


def assert_french(where: str, text: str, english: Texts, *french: str) -> None:
    """``text`` holds each of ``french`` and none of the English texts of the test."""
    for expected in french:
        assert expected in text, f"{where} lacks the French “{expected}”:\n{text}"
    leaked = [value for value in english.all() if value in text]
    assert not leaked, f"{where} shows English texts {leaked}:\n{text}"


def assert_french_mail(mail: EmailMessage, english: Texts, *french: str) -> None:
    """The subject, text and HTML of a mail are French, with each of ``french`` in the text."""
    assert_french("the subject", str(mail["Subject"]), english)
    assert_french(f"the mail “{mail['Subject']}”", text_part(mail), english, *french)
    assert_french(f"the HTML of “{mail['Subject']}”", html_part(mail), english)


def main_text(page: Page) -> str:
    return page.title() + "\n" + page.locator("main").inner_text()


# The staff, in the admin and on their pages, in French ------------------------------


def admin_now(page: Page, field_name: str) -> None:
    """Press the French admin's own Today and Now shortcuts, as an organizer does."""
    row = page.locator(f".field-{field_name}")
    row.get_by_role("button", name=re.compile(r"^Aujourd")).click()
    row.get_by_role("button", name="Maintenant").click()


def save_in_french(page: Page, button: str = "Enregistrer") -> None:
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("avec succès")


def tour_admin_plans_the_visit(staff_page, english: Texts, french: Texts, day: date) -> str:
    """A visit and one stop, in English and French, typed in the French admin; its slug."""
    touradmin = staff_page("touradmin", locale=FRENCH_BROWSER)
    touradmin.goto("/admin/visits/visit/add/")
    expect(touradmin.locator("html")).to_have_attribute("lang", "fr")
    touradmin.locator("#id_title_en").fill(english.visit_title)
    touradmin.locator("#id_title_fr").fill(french.visit_title)
    slug = re.sub(r"[^a-z0-9]+", "-", english.visit_title.lower()).strip("-")
    touradmin.locator("#id_slug").fill(slug)
    touradmin.locator("#id_date").fill(day.strftime(FRENCH_DATE))
    touradmin.locator("#id_meeting_point_en").fill(english.meeting_point)
    touradmin.locator("#id_meeting_point_fr").fill(french.meeting_point)
    touradmin.locator("#id_practical_notes_en").fill(english.practical_notes)
    touradmin.locator("#id_practical_notes_fr").fill(french.practical_notes)
    stop = touradmin.locator("#stops-group tr.form-row:not(.has_original):not(.empty-form)").first
    stop.locator("input[name$='-title_en']").fill(english.stop_title)
    stop.locator("input[name$='-title_fr']").fill(french.stop_title)
    stop.locator("select[name$='-location']").select_option(label=LOCATION)
    stop.locator("input[name$='-starts_at_0']").fill(day.strftime(FRENCH_DATE))
    stop.locator("input[name$='-starts_at_1']").fill("22:00")
    stop.locator("input[name$='-ends_at_0']").fill(day.strftime(FRENCH_DATE))
    stop.locator("input[name$='-ends_at_1']").fill("23:30")
    stop.locator("input[name$='-guide_en']").fill(english.stop_guide)
    stop.locator("input[name$='-guide_fr']").fill(french.stop_guide)
    stop.locator("select[name$='-language']").select_option("fr")
    stop.locator("textarea[name$='-notes_en']").fill(english.stop_notes)
    stop.locator("textarea[name$='-notes_fr']").fill(french.stop_notes)
    save_in_french(touradmin)
    touradmin.context.close()
    return slug


def organizer_creates_the_contest(organizer: Page, english: Texts, french: Texts) -> str:
    """A contest in English and French, open from now, leading to the visit; its slug."""
    organizer.goto("/admin/contests/contest/add/")
    expect(organizer.locator("html")).to_have_attribute("lang", "fr")
    organizer.locator("#id_title_en").press_sequentially(english.contest_title)
    slug = re.sub(r"[^a-z0-9]+", "-", english.contest_title.lower()).strip("-")
    # The slug follows the English title (MODELTRANSLATION_PREPOPULATE_LANGUAGE).
    expect(organizer.locator("#id_slug")).to_have_value(slug)
    organizer.locator("#id_title_fr").fill(french.contest_title)
    for field in ("hashtag", "description", "rules"):
        organizer.locator(f"#id_{field}_en").fill(getattr(english, field))
        organizer.locator(f"#id_{field}_fr").fill(getattr(french, field))
    admin_now(organizer, "opens_at")
    closes = datetime.now(SITE_ZONE) + timedelta(hours=1)
    organizer.locator("#id_closes_at_0").fill(closes.strftime(FRENCH_DATE))
    organizer.locator("#id_closes_at_1").fill(closes.strftime("%H:%M:%S"))
    organizer.locator("#id_winners_count").fill("1")
    organizer.locator("#id_alternates_count").fill("1")
    # The French admin names the visit by its French title.
    organizer.locator("#id_visit").select_option(label=french.visit_title)
    organizer.locator("#id_published").check()
    save_in_french(organizer)
    return slug


def organizer_closes_freezes_and_draws(
    organizer: Page,
    english: Texts,
    french: Texts,
    entrants: int,
    last_confirmed: float,
) -> None:
    """Close now, freeze and draw from the organizer's French pages, following each job."""
    organizer.goto("/admin/contests/contest/")
    organizer.get_by_role("link", name=french.contest_title).click()
    # The admin's Now drops the fraction of a second: let the last confirmation's
    # second pass, or it would fall after the closing time and out of the draw.
    time.sleep(max(0.0, last_confirmed + 1.1 - time.monotonic()))
    admin_now(organizer, "closes_at")
    save_in_french(organizer, "Enregistrer et continuer les modifications")

    organizer.get_by_role("link", name="Figer…").click()
    expect(organizer.locator("html")).to_have_attribute("lang", "fr")
    expect(organizer.locator("#contest-state")).to_have_text("Clos")
    expect(organizer.locator("#eligible-count")).to_have_text(str(entrants))
    organizer.get_by_label("Figer les tickets maintenant.").check()
    organizer.get_by_role("button", name="Figer le concours").click()
    # A background job: its page follows it to the end by itself.
    outcome = organizer.locator("#job-outcome")
    expect(outcome).to_contain_text(
        f"Le concours est figé : {entrants} tickets participent au tirage", timeout=60_000
    )
    assert_french("the freeze's job page", main_text(organizer), english, french.contest_title)
    organizer.get_by_role("link", name="Aller au tirage au sort").click()

    organizer.get_by_label("Entropie externe (facultative)").fill(secrets.token_hex(32))
    organizer.get_by_role("button", name="Tirer au sort les personnes gagnantes").click()
    expect(outcome).to_contain_text(
        "Les personnes gagnantes sont tirées au sort et leurs offres sont envoyées.", timeout=60_000
    )
    assert_french("the draw's job page", main_text(organizer), english, french.contest_title)
    organizer.get_by_role("link", name="Voir les résultats").click()
    expect(organizer.locator("#winners tbody tr")).to_have_count(1)
    assert_french("the results page", main_text(organizer), english, french.contest_title)


# The public, in French ------------------------------------------------------------


def french_contest_page(context: BrowserContext, slug: str, *, switch: bool) -> Page:
    """The contest's page in French: asked for by the browser, or chosen with the switcher."""
    page = context.new_page()
    page.goto(f"/contests/{slug}/")
    if switch:
        expect(page.locator("html")).to_have_attribute("lang", "en")
        with page.expect_navigation():
            page.locator("#language-select").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    return page


def enter_in_french(page: Page, person: Person, english: Texts, french: Texts) -> None:
    expect(page.locator("#contest-state")).to_have_text("Ouvert")
    expect(page.locator("h1")).to_contain_text(french.contest_title)
    expect(page.locator("#rules")).to_have_text(french.rules)
    assert_french(
        "the contest page",
        main_text(page),
        english,
        french.contest_title,
        f"#{french.hashtag}",
        french.description,
        french.rules,
        french.visit_title,
    )
    # The form offers mail in the language of the page.
    expect(page.locator("#entry-form [name=language]")).to_have_value("fr")
    fill_entry_form(page, person)
    page.get_by_label("Si je gagne, vous pouvez publier mon identifiant").check()
    page.get_by_role("button", name="Participer au concours").click()
    expect(page.get_by_role("heading", name="Consultez votre boîte mail")).to_be_visible()


def confirm_in_french(page: Page, stack, person: Person, english: Texts, french: Texts) -> str:
    """Read the French confirmation mail, open its link and confirm; the ticket."""
    mail = stack.mail.wait_for(person.email, subject_contains="Confirmez votre participation")
    assert french.contest_title in mail["Subject"]
    assert_french_mail(
        mail,
        english,
        f"Bonjour {person.name},",
        f"Merci de votre participation à « {french.contest_title} »",
        "Seules les participations confirmées entrent dans le tirage au sort.",
    )
    [confirm_url] = [url for url in links(mail) if "/contests/confirm/" in url]
    page.goto(confirm_url)
    assert_french("the confirmation page", main_text(page), english, french.contest_title)
    page.get_by_role("button", name="Confirmer ma participation").click()
    expect(page.get_by_role("heading", name="Votre participation est confirmée")).to_be_visible()
    return page.locator("#ticket").inner_text().strip()


# The winner and the alternate, in French -------------------------------------------


def winner_accepts_in_french(
    context: BrowserContext, offer: EmailMessage, english: Texts, french: Texts
) -> Page:
    accept_url, _decline_url = place_links(offer)
    page = context.new_page()
    page.goto(accept_url)
    expect(page.locator("h1")).to_have_text(french.contest_title)
    assert_french(
        "the offer's page",
        main_text(page),
        english,
        "votre ticket a été tiré au sort : une place vous attend si vous la voulez.",
        french.visit_title,
        french.meeting_point,
    )
    page.get_by_role("checkbox", name=re.compile(r"^Je peux venir le")).check()
    page.get_by_role("button", name="Accepter ma place").click()
    expect(page.locator("#selection-status")).to_contain_text(
        "Vous avez accepté votre place. À bientôt !"
    )
    return page


def visitor_completes_the_profile_in_french(page: Page, person: Person) -> None:
    page.get_by_role("link", name="Compléter mon profil de visite", exact=True).click()
    expect(page.get_by_role("heading", name="Votre profil de visite", exact=True)).to_be_visible()
    expect(page.get_by_label("Langue de nos e-mails")).to_have_value("fr")
    page.get_by_role("textbox", name=re.compile(r"^Nom affiché")).fill(person.name.split()[0])
    page.get_by_label("Une courte biographie").fill("Ingénieure système, curieuse des données.")
    page.get_by_label("Contact d'urgence : nom").fill("Pierre Curie")
    page.get_by_label("Contact d'urgence : téléphone").fill("+33 1 23 45 67 89")
    page.get_by_label("Je confirme que je participerai à la visite.").check()
    page.get_by_role("button", name="Enregistrer mon profil").click()
    saved = page.get_by_role("alert").filter(has_text="Votre profil est enregistré.")
    expect(saved).to_be_visible()


def test_a_contest_in_french_from_the_entry_to_the_itinerary(
    stack, new_visitor, staff_page, tmp_path
):
    """Pages and mails of a French journey show the French content and wording, no English."""
    english, french = texts(secrets.token_hex(3))
    day = date.today() + timedelta(days=60)
    visit_slug = tour_admin_plans_the_visit(staff_page, english, french, day)
    organizer = staff_page("organizer", locale=FRENCH_BROWSER)
    slug = organizer_creates_the_contest(organizer, english, french)

    # Three people enter: two whose browsers ask for French, one who switches to it.
    people = [
        Person.unique(name, language="fr", country=country)
        for name, country in (("Léa Dupont", "FR"), ("Noé Favre", "CH"), ("Inès Martin", "BE"))
    ]
    browsers = [new_visitor(FRENCH_BROWSER), new_visitor("fr-FR"), new_visitor("en-GB")]
    pages = []
    for number, (person, context) in enumerate(zip(people, browsers, strict=True)):
        page = french_contest_page(context, slug, switch=number == 2)
        enter_in_french(page, person, english, french)
        pages.append(page)
    entrants = {
        confirm_in_french(page, stack, person, english, french): person
        for page, person in zip(pages, people, strict=True)
    }
    last_confirmed = time.monotonic()
    assert len(entrants) == 3
    assert stack.query(
        "SELECT DISTINCT language FROM contests_entry WHERE contest_id = "
        "(SELECT id FROM contests_contest WHERE slug = %s)",
        (slug,),
    ) == [("fr",)]

    organizer_closes_freezes_and_draws(organizer, english, french, len(people), last_confirmed)
    record = organizer.request.get(f"/contests/{slug}/draw.json").json()
    [winner_ticket], [alternate_ticket] = record["winners"], record["alternates"]
    winner, alternate = entrants[winner_ticket], entrants[alternate_ticket]
    winner_browser = browsers[people.index(winner)]

    # The winner reads the French offer and accepts from a French page.
    offer = stack.mail.wait_for(winner.email, subject_contains="Votre ticket a été tiré au sort")
    assert french.contest_title in offer["Subject"]
    assert_french_mail(
        offer,
        english,
        f"Bonjour {winner.name},",
        f"Bonne nouvelle : votre ticket a été tiré au sort pour « {french.contest_title} ».",
        f"Votre ticket : {winner_ticket}",
        "Pour accepter, ouvrez ce lien :",
    )
    page = winner_accepts_in_french(winner_browser, offer, english, french)
    welcome = stack.mail.wait_for(winner.email, subject_contains="Votre place est confirmée")
    assert french.visit_title in welcome["Subject"]
    assert_french_mail(
        welcome,
        english,
        "Merci d'avoir accepté votre place",
        f"« {french.visit_title} »",
        f"Point de rendez-vous : {french.meeting_point}",
        french.stop_title,
    )

    # The profile, then the itinerary the confirmed attendance sends.
    visitor_completes_the_profile_in_french(page, winner)
    itinerary_mail = stack.mail.wait_for(winner.email, subject_contains="Votre itinéraire")
    assert french.visit_title in itinerary_mail["Subject"]
    assert_french_mail(
        itinerary_mail,
        english,
        f"« {french.visit_title} »",
        f"Point de rendez-vous : {french.meeting_point}",
        french.stop_title,
        french.stop_guide,
        french.practical_notes,
    )
    page.goto(visitor_links(itinerary_mail)["itinerary"])
    expect(page.locator("h1")).to_have_text(french.visit_title)
    expect(page.locator("#stops")).to_contain_text(french.stop_title)
    expect(page.locator("#stops")).to_contain_text(LOCATION)
    assert_french(
        "the visitor's itinerary",
        main_text(page),
        english,
        "Point de rendez-vous :",
        french.meeting_point,
        french.stop_title,
        french.stop_guide,
        french.stop_notes,
        "Informations pratiques",
        french.practical_notes,
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Ajouter à mon agenda (.ics)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"{visit_slug}.ics"
    ics = re.sub(r"\r?\n[ \t]", "", path.read_text(encoding="utf-8"))
    [event] = calendar_events(ics)
    assert event["SUMMARY"] == french.stop_title
    assert_french(
        "the visitor's calendar",
        ics,
        english,
        f"X-WR-CALNAME:{french.visit_title}",
        f"Point de rendez-vous : {french.meeting_point}",
        french.stop_guide,
        french.stop_notes,
    )

    # The alternate reads the French notice of their rank.
    rank = stack.mail.wait_for(alternate.email, subject_contains="Suppléance n° 1")
    assert french.contest_title in rank["Subject"]
    assert_french_mail(
        rank,
        english,
        f"Bonjour {alternate.name},",
        f"Le tirage au sort de « {french.contest_title} » est fait : "
        f"votre ticket {alternate_ticket} est en",
    )
