"""Staff, winners and visitors, through the production stack, in Chromium.

An organizer creates a contest in the admin, the public enters it, the
organizer closes, freezes and draws it and anyone verifies the draw; winners
answer their offers, the visitor completes the profile, a tour admin adds a
stop and moderates a question. The later journeys start from the draw of the
first: each step is made once per module, the first time a test needs it.
"""

import contextlib
import hashlib
import json
import re
import secrets
import subprocess
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.acceptance.stack import Person, fill_entry_form, links, text_part

pytestmark = pytest.mark.acceptance

SHOTS = Path("/tmp/shots")
# The admin takes dates and times in the site's time zone (Django's TIME_ZONE).
SITE_ZONE = zoneinfo.ZoneInfo("Europe/Zurich")
# The demo's open contest leads to this upcoming visit; the new contest leads there too.
VISIT_SLUG = "cern-tweetup"
# Mail subjects, in English: every entrant here enters from an English page.
CONFIRM_SUBJECT = "Confirm your entry"
OFFER_SUBJECT = "You were drawn"
PROMOTED_SUBJECT = "A place is free for you"
DECLINED_SUBJECT = "You declined your place"
WELCOME_SUBJECT = "Your place is confirmed"
ITINERARY_SUBJECT = "Your itinerary"


@dataclass
class DrawnContest:
    slug: str
    title: str
    entrants: dict[str, Person]  # by ticket
    record: dict
    verifier_output: str


@dataclass
class AnsweredPlaces:
    accepted: Person  # the first winner, who accepted
    alternate_offer: EmailMessage  # to the first alternate, for the declined place
    welcome: EmailMessage  # to the winner who accepted


# Five people, from five countries and backgrounds, as at CERN's first TweetUp.
PEOPLE = [
    ("Ada Byron", "GB", ["en", "fr"], "science"),
    ("Léa Dupont", "FR", ["fr", "en"], "teaching"),
    ("Marco Rossi", "IT", ["it", "en"], "journalism"),
    ("Mei Tanaka", "JP", ["ja", "en"], "arts"),
    ("Diego Alvarez", "ES", ["es", "en", "pt"], "engineering"),
]


# Screenshots -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _screenshots_on_failure(request, browser, new_visitor, staff_page):
    """Keep a picture of every open page when the test fails, before its browsers close.

    Asking for the page fixtures makes this run its teardown before theirs.
    """
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed == failed_before:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for c_index, context in enumerate(browser.contexts):
        for p_index, page in enumerate(context.pages):
            # A page closed meanwhile has nothing to show.
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=SHOTS / f"{name}-{c_index}-{p_index}.png", full_page=True)


# Journeys made once per module, in order ---------------------------------------


@pytest.fixture(scope="module")
def story() -> dict:
    """What the journeys have done so far, so that later tests start where they left off."""
    return {}


def once(story: dict, step: str, make):
    """Make ``step`` the first time a test needs it; a step that failed is not tried again."""
    if step not in story:
        story[step] = None
        story[step] = make()
    if story[step] is None:
        pytest.skip(f"the step “{step}” failed in an earlier test")
    return story[step]


@pytest.fixture
def drawn_contest(story, stack, new_visitor, staff_page, tmp_path) -> DrawnContest:
    return once(
        story, "draw", lambda: organizer_runs_a_contest(stack, new_visitor, staff_page, tmp_path)
    )


@pytest.fixture
def answered_places(story, drawn_contest, stack, new_visitor) -> AnsweredPlaces:
    return once(story, "answers", lambda: winners_answer(drawn_contest, stack, new_visitor))


@pytest.fixture
def visitor(story, answered_places, stack, new_visitor) -> Person:
    return once(
        story, "profile", lambda: visitor_completes_profile(answered_places, stack, new_visitor)
    )


# Journey 1: a contest from the admin to a verified draw ---------------------------


def admin_datetime(page: Page, field_name: str, moment: datetime) -> None:
    row = page.locator(f".field-{field_name}")
    local = moment.astimezone(SITE_ZONE)
    row.get_by_label("Date").fill(local.strftime("%Y-%m-%d"))
    row.get_by_label("Time").fill(local.strftime("%H:%M:%S"))


def admin_now(page: Page, field_name: str) -> None:
    """Click the admin's own Today and Now shortcuts, as an organizer does."""
    row = page.locator(f".field-{field_name}")
    row.get_by_role("button", name=re.compile(r"^Today")).click()
    row.get_by_role("button", name="Now").click()


def enter_contest(context: BrowserContext, slug: str, person: Person) -> None:
    page = context.new_page()
    page.goto(f"/contests/{slug}/")
    expect(page.locator("#contest-state")).to_have_text("Open")
    fill_entry_form(page, person)
    page.get_by_label("If I win, you may publish my handle").check()
    page.get_by_role("button", name="Enter the contest").click()
    expect(page.get_by_role("heading", name="Check your mailbox")).to_be_visible()


def confirm_entry(context: BrowserContext, stack, person: Person, title: str) -> str:
    mail = stack.mail.wait_for(person.email, subject_contains=CONFIRM_SUBJECT)
    assert title in mail["Subject"]
    [confirm_url] = [url for url in links(mail) if "/contests/confirm/" in url]
    page = context.new_page()
    page.goto(confirm_url)
    page.locator("#confirm-form [type=submit]").click()
    expect(page.get_by_role("heading", name="Your entry is confirmed")).to_be_visible()
    return page.locator("#ticket").inner_text().strip()


def organizer_runs_a_contest(stack, new_visitor, staff_page, tmp_path) -> DrawnContest:
    """Create, enter, close, freeze, draw and verify: the organizer's whole contest."""
    token = secrets.token_hex(3)
    title = f"Night shift at the Control Centre {token}"
    slug = f"night-shift-at-the-control-centre-{token}"
    organizer = staff_page("organizer")

    # The organizer creates the contest, open from now, leading to the demo's upcoming visit.
    organizer.goto("/admin/contests/contest/add/")
    organizer.get_by_label("Title [en]").press_sequentially(title)
    expect(organizer.get_by_label("Slug")).to_have_value(slug)
    organizer.get_by_label("Hashtag [en]").fill("NightShift")
    organizer.get_by_label("Description [en]").fill("Spend a night with the LHC operators.")
    organizer.get_by_label("Rules [en]").fill("One entry per person. Confirm your entry by mail.")
    admin_now(organizer, "opens_at")
    admin_datetime(organizer, "closes_at", datetime.now(SITE_ZONE) + timedelta(hours=1))
    organizer.get_by_label("Number of winners").fill("2")
    organizer.get_by_label("Number of alternates").fill("2")
    [(visit_title,)] = stack.query(
        "SELECT title_en FROM visits_visit WHERE slug = %s", (VISIT_SLUG,)
    )
    organizer.get_by_label("Visit:").select_option(label=visit_title)
    # A new contest is a draft until published.
    expect(organizer.get_by_label("Published")).not_to_be_checked()
    organizer.get_by_label("Published").check()
    organizer.get_by_role("button", name="Save", exact=True).click()
    expect(organizer.locator(".messagelist")).to_contain_text("was added successfully")

    # The public enters from their own browsers and confirms from their mail.
    people = [
        Person.unique(name, country=country, languages=languages, background=background)
        for name, country, languages, background in PEOPLE
    ]
    browsers = [new_visitor() for _ in people]
    for person, context in zip(people, browsers, strict=True):
        enter_contest(context, slug, person)
    entrants = {
        confirm_entry(context, stack, person, title): person
        for person, context in zip(people, browsers, strict=True)
    }
    tickets = sorted(entrants)
    last_confirmed = time.monotonic()

    # The organizer closes the contest now that the entries are in: its closing time
    # becomes now, which the admin allows until the freeze.
    organizer.goto("/admin/contests/contest/")
    organizer.get_by_role("link", name=title).click()
    # The admin's Now drops the fraction of a second: let the last confirmation's
    # second pass, or it would fall after the closing time and out of the draw.
    time.sleep(max(0.0, last_confirmed + 1.1 - time.monotonic()))
    admin_now(organizer, "closes_at")
    organizer.get_by_role("button", name="Save and continue editing").click()
    expect(organizer.locator(".messagelist")).to_contain_text("was changed successfully")

    # The freeze, reached from the contest's admin page.
    organizer.get_by_role("link", name="Freeze…").click()
    expect(organizer.locator("#contest-state")).to_have_text("Closed")
    expect(organizer.locator("#eligible-count")).to_have_text(str(len(PEOPLE)))
    organizer.get_by_label("Fix the tickets now.").check()
    organizer.get_by_role("button", name="Freeze the contest").click()
    digest = hashlib.sha256("\n".join(tickets).encode()).hexdigest()
    # A background job: its page follows it to the end by itself.
    expect(organizer.locator("#job-outcome")).to_contain_text(
        "The contest is frozen", timeout=60_000
    )
    expect(organizer.locator("#job-outcome")).to_contain_text(digest)
    organizer.get_by_role("link", name="Go to the draw").click()

    # The draw, with entropy published after the freeze.
    entropy = f"drand round {secrets.randbelow(10**7)}: {secrets.token_hex(32)}"
    organizer.get_by_label("External entropy (optional)").fill(entropy)
    organizer.get_by_role("button", name="Draw the winners").click()
    expect(organizer.locator("#job-outcome")).to_contain_text(
        "The winners are drawn", timeout=60_000
    )
    organizer.get_by_role("link", name="See the results").click()
    expect(organizer.locator("#winners tbody tr")).to_have_count(2)

    # Anyone verifies: the verifier and the audit record from the results page.
    public = new_visitor().new_page()
    public.goto(f"/contests/{slug}/results/")
    with public.expect_download() as download:
        public.get_by_role("link", name="the site's verifier").click()
    download.value.save_as(tmp_path / "verify_draw.py")
    with public.expect_response(lambda response: response.url.endswith("/draw.json")) as answer:
        public.get_by_role("link", name="Audit record (draw.json)").click()
    assert answer.value.ok
    (tmp_path / "draw.json").write_bytes(answer.value.body())
    record = json.loads((tmp_path / "draw.json").read_text())
    # Plain python3, nothing but its standard library, in a folder of its own.
    plain_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    verified = subprocess.run(
        ["python3", "verify_draw.py", "draw.json"],
        cwd=tmp_path,
        env=plain_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    assert record["contest"] == slug
    assert record["tickets"] == tickets
    assert record["tickets_digest"] == digest
    assert record["external_entropy"] == entropy
    assert (record["winners_count"], record["alternates_count"]) == (2, 2)
    contest_ids = stack.query("SELECT id FROM contests_contest WHERE slug = %s", (slug,))
    assert len(contest_ids) == 1
    return DrawnContest(
        slug=slug,
        title=title,
        entrants=entrants,
        record=record,
        verifier_output=verified.stdout,
    )


def test_organizer_creates_a_contest_and_anyone_verifies_its_draw(drawn_contest, new_visitor):
    """The published draw of a contest made in the admin is the one the verifier recomputes."""
    assert "OK" in drawn_contest.verifier_output
    record = drawn_contest.record
    assert len(record["winners"]) == 2
    assert len(record["alternates"]) == 2
    assert set(record["winners"] + record["alternates"]) <= set(record["tickets"])
    # The contest page still shows the commitment made when it was created, and the digest.
    page = new_visitor().new_page()
    page.goto(f"/contests/{drawn_contest.slug}/")
    expect(page.locator("#commitment")).to_have_text(record["commitment"])
    expect(page.locator("#tickets-digest")).to_have_text(record["tickets_digest"])
    assert hashlib.sha256(bytes.fromhex(record["seed"])).hexdigest() == record["commitment"]


# Journey 2: winners answer, an alternate is offered the freed place ---------------


def place_links(mail: EmailMessage) -> tuple[str, str]:
    [accept] = [url for url in links(mail) if url.endswith("/accept/")]
    [decline] = [url for url in links(mail) if url.endswith("/decline/")]
    return accept, decline


def winners_answer(drawn: DrawnContest, stack, new_visitor) -> AnsweredPlaces:
    first, second = (drawn.entrants[ticket] for ticket in drawn.record["winners"])
    alternate = drawn.entrants[drawn.record["alternates"][0]]
    first_offer, second_offer = (
        stack.mail.wait_for(person.email, subject_contains=OFFER_SUBJECT)
        for person in (first, second)
    )

    # The first winner accepts through the link of the offer, in a browser of their own.
    accept_url, _ = place_links(first_offer)
    page = new_visitor().new_page()
    page.goto(accept_url)
    expect(page.locator("#deadline")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile(r"^I can come on")).check()
    page.get_by_role("button", name="Accept my place").click()
    expect(page.locator("#selection-status")).to_contain_text("You accepted your place")
    expect(page.get_by_role("link", name="Complete my visitor profile")).to_be_visible()

    # The second declines.
    _, decline_url = place_links(second_offer)
    page = new_visitor().new_page()
    page.goto(decline_url)
    page.get_by_role("button", name="Yes, decline my place").click()
    expect(page.locator("#selection-status")).to_contain_text("You declined your place")
    stack.mail.wait_for(second.email, subject_contains=DECLINED_SUBJECT)

    return AnsweredPlaces(
        accepted=first,
        alternate_offer=stack.mail.wait_for(alternate.email, subject_contains=PROMOTED_SUBJECT),
        welcome=stack.mail.wait_for(first.email, subject_contains=WELCOME_SUBJECT),
    )


def test_winner_accepts_another_declines_and_the_first_alternate_is_offered_the_place(
    answered_places, drawn_contest, stack, new_visitor
):
    """Answers go through the offer mail's links; a declined place goes to the first alternate."""
    offer = text_part(answered_places.alternate_offer)
    assert drawn_contest.title in answered_places.alternate_offer["Subject"]
    alternate_ticket = drawn_contest.record["alternates"][0]
    assert alternate_ticket in offer
    accept_url, _ = place_links(answered_places.alternate_offer)
    # The alternate's link opens their own place, offered to them now.
    page = new_visitor().new_page()
    page.goto(accept_url)
    expect(page.locator("main")).to_contain_text("a place has become free")
    expect(page.locator("main")).to_contain_text(alternate_ticket)
    # Nobody else was offered the place, and the public results say what happened.
    second_alternate = drawn_contest.entrants[drawn_contest.record["alternates"][1]]
    assert stack.mail.count(to=second_alternate.email, subject_contains=PROMOTED_SUBJECT) == 0
    page.goto(f"/contests/{drawn_contest.slug}/results/")
    winners = page.locator("#winners")
    expect(winners).to_contain_text("Accepted")
    expect(winners).to_contain_text("Place passed on")
    expect(page.locator("#alternates")).to_contain_text("Promoted")


# Journey 3: the visitor's profile, itinerary and calendar --------------------------


def visitor_links(mail: EmailMessage) -> dict[str, str]:
    """The signed links of a visitor's mail, by what they open."""
    found = {}
    for url in links(mail):
        if url.endswith("/itinerary/"):
            found["itinerary"] = url
        elif url.endswith("/itinerary.ics"):
            found["calendar"] = url
        elif re.search(r"/visits/profile/[^/]+/$", url):
            found["profile"] = url
    return found


def visitor_completes_profile(answered: AnsweredPlaces, stack, new_visitor) -> Person:
    found = visitor_links(answered.welcome)
    assert {"itinerary", "calendar", "profile"} <= found.keys(), text_part(answered.welcome)
    page = new_visitor().new_page()
    page.goto(found["profile"])
    expect(page.get_by_role("heading", name="Your visitor profile")).to_be_visible()
    first_name = answered.accepted.name.split()[0]
    page.get_by_role("textbox", name=re.compile(r"^Display name")).fill(first_name)
    page.get_by_label("A short bio").fill("Physicist by training, LHC watcher by night.")
    page.get_by_label("Dietary needs").fill("Vegetarian")
    page.get_by_label("Emergency contact: name").fill("Charles Babbage")
    page.get_by_label("Emergency contact: phone").fill("+44 20 7946 0000")
    page.get_by_label("Show my display name").check()
    page.get_by_label("I confirm that I will attend the visit.").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page.get_by_role("alert").filter(has_text="Your profile is saved.")).to_be_visible()
    expect(page.locator("#attendance-confirmed")).to_be_visible()
    return answered.accepted


def calendar_events(ics: str) -> list[dict[str, str]]:
    """The VEVENTs of an iCalendar text, each as its unfolded properties."""
    assert ics.startswith("BEGIN:VCALENDAR")
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    events, current = [], None
    for line in unfolded.splitlines():
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None and ":" in line:
            name, value = line.split(":", 1)
            current.setdefault(name.split(";")[0], value)
    return events


def stop_times(page: Page) -> list[str]:
    return [
        text.strip() for text in page.locator("#stops tbody tr td:first-child").all_inner_texts()
    ]


def test_visitor_completes_the_profile_and_gets_the_itinerary_and_calendar(
    visitor, stack, new_visitor, tmp_path
):
    """The welcome mail's signed link opens the profile; confirming sends the itinerary."""
    itinerary_mail = stack.mail.wait_for(visitor.email, subject_contains=ITINERARY_SUBJECT)
    itinerary_url = visitor_links(itinerary_mail)["itinerary"]

    page = new_visitor().new_page()
    page.goto(itinerary_url)
    expect(page.locator("main")).to_contain_text("Meeting point:")
    times = stop_times(page)
    assert len(times) >= 2
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".ics"
    ics = path.read_text(encoding="utf-8")
    events = calendar_events(ics)
    assert len(events) == len(times)
    assert ics.count("BEGIN:VEVENT") == ics.count("END:VEVENT") == len(times)
    assert all(event.get("DTSTART") and event.get("SUMMARY") for event in events)
    # The visitor's own calendar carries the meeting point; the public one does not.
    assert "Meeting point" in ics.replace("\r\n ", "")
    public_ics = page.request.get(f"/visits/{VISIT_SLUG}/itinerary.ics").text()
    assert len(calendar_events(public_ics)) == len(times)
    assert "Meeting point" not in public_ics.replace("\r\n ", "")


# Journey 4: a tour admin fits a stop between two others -----------------------------


@pytest.fixture
def new_stop_title(stack):
    """The title of the stop a test adds to the demo's visit; the stop goes again afterwards.

    The other journeys of the package read the demo's day as loaddemo made it.
    """
    title = f"Coffee at the Globe {secrets.token_hex(2)}"
    yield title
    stack.query("DELETE FROM visits_tourstop WHERE title = %s", (title,))


def test_tour_admin_adds_a_stop_between_two_others_and_every_itinerary_lists_it_in_order(
    answered_places, staff_page, new_visitor, new_stop_title
):
    """A stop added in the admin after the others shows in time order, not in order of entry."""
    title = new_stop_title
    touradmin = staff_page("touradmin")
    touradmin.goto("/admin/visits/visit/")
    touradmin.get_by_role("link", name=re.compile(r"^CERN TweetUp \d{4}$")).click()
    day = touradmin.locator("#id_date").input_value()
    expect(touradmin.locator("#stops-time-zone")).to_contain_text("Europe/Zurich")
    new_stop = touradmin.locator("#stops-group tr.form-row:not(.has_original):not(.empty-form)")
    new_stop = new_stop.first
    new_stop.locator("input[name$='-title_en']").fill(title)
    new_stop.locator("select[name$='-location']").select_option(
        label="Globe of Science and Innovation"
    )
    new_stop.locator("input[name$='-starts_at_0']").fill(day)
    new_stop.locator("input[name$='-starts_at_1']").fill("15:30")
    new_stop.locator("input[name$='-ends_at_0']").fill(day)
    new_stop.locator("input[name$='-ends_at_1']").fill("16:00")
    new_stop.locator("input[name$='-guide_en']").fill("CERN Press Office")
    new_stop.locator("select[name$='-language']").select_option("en")
    touradmin.get_by_role("button", name="Save", exact=True).click()
    expect(touradmin.locator(".messagelist")).to_contain_text("was changed successfully")

    expected = ["14:15–15:30", "15:30–16:00", "16:00–17:30"]
    itinerary_url = visitor_links(answered_places.welcome)["itinerary"]
    pages = {
        "public itinerary": f"/visits/{VISIT_SLUG}/",
        "public print page": f"/visits/{VISIT_SLUG}/print/",
        "visitor's itinerary": itinerary_url,
        "visitor's print page": itinerary_url + "print/",
    }
    page = new_visitor().new_page()
    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("#stops")).to_contain_text(title)
        times = stop_times(page)
        assert times == sorted(times), f"the {name} lists the stops out of order: {times}"
        start = times.index(expected[0])
        assert times[start : start + 3] == expected, f"{name}: {times}"


# Journey 5: a question from the public, approved by a tour admin -------------------


def test_public_question_shows_on_its_stop_once_a_tour_admin_approves_it(
    stack, staff_page, new_visitor
):
    """A question waits for moderation, then shows on its stop's page."""
    token = secrets.token_hex(3)
    question = f"Do the operators ever sleep during a fill? ({token})"
    public = new_visitor().new_page()
    public.goto(f"/visits/{VISIT_SLUG}/")
    public.get_by_role("link", name=re.compile("questions from the public, live")).click()
    public.get_by_label("Your question").fill(question)
    public.get_by_label("Your name or handle (optional)").fill("@nightowl")
    public.get_by_role("button", name="Send the question").click()
    expect(
        public.get_by_role("alert").filter(has_text="once the visit team approves it")
    ).to_be_visible()
    expect(public.locator("main")).not_to_contain_text(question)
    stop_url = public.url

    touradmin = staff_page("touradmin")
    touradmin.goto("/admin/visits/question/")
    touradmin.locator("#searchbar").fill(token)
    touradmin.get_by_role("button", name="Search").click()
    touradmin.get_by_role("checkbox", name=re.compile(re.escape(question[:40]))).check()
    touradmin.get_by_role("combobox", name=re.compile(r"^Action")).select_option(
        label="Approve the chosen questions"
    )
    touradmin.get_by_role("button", name="Run").click()
    expect(touradmin.locator(".messagelist")).to_contain_text("1 question approved.")

    public.goto(stop_url)
    approved = public.locator(".question").filter(has_text=question)
    expect(approved).to_be_visible()
    expect(approved).to_contain_text("@nightowl")
    expect(approved).to_contain_text("Approved")
