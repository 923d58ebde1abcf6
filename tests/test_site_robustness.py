"""Site-wide robustness: every URL of the site, real and garbage values, four kinds of user.

No request may answer 500, a POST without a CSRF token answers 403, staff pages
refuse anonymous visitors (login) and staff without the permission (403), and
what the public types is shown escaped.
"""

import io
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from contests.models import Contest, Entry, Selection
from contests.services.answers import ANSWER_SALT, selection_answer_token
from contests.services.entries import CONFIRM_SALT, entry_confirm_token
from notifications.models import OutboxMessage
from tests.support import rows_for_the_module
from tweetup.models import Job
from visitors.models import VisitorProfile
from visitors.services.links import (
    CHECK_IN_SALT,
    PROFILE_SALT,
    visitor_check_in_token,
    visitor_profile_token,
)
from visits.models import Question, TourStop, Visit

OPEN_SLUG = "cern-tweetup"
CLOSED_SLUG = "lhc-restart-2010"
DRAWN_SLUG = "first-cern-tweetup-2012"
VISIT_SLUG = "cern-tweetup-2012"

SKIPPED_PREFIXES = ("admin/", "i18n/")

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror")

GARBAGE_TEXT = [
    "ünïcødé-😀-\u202e-表",
    "x" * 3000,
    XSS_SCRIPT,
    "..",
    "../../etc/passwd",
    "%00",
    "\x00",
    "' OR 1=1 --",
    "-1",
]
GARBAGE_SLUGS = ["a" * 300, "-", "0", "no-such-slug", "ünïcødé", "..", XSS_SCRIPT]
GARBAGE_INTS = ["0", "2147483648", "99999999999999999999", "-1", "1e3"]
# A NUL character in a query string is refused before any view (tests/test_nul_queries.py):
# here "%00" is the text, so the garbage reaches the views.
GARBAGE_QUERY = {"page": "99999999999999999999", "ticket": XSS_SCRIPT, "q": "%00"}
GARBAGE_POST = {
    # Every field name the site's forms use, filled with nonsense.
    "name": XSS_SCRIPT,
    "email": "not-an-email",
    "twitter_handle": "@" + "x" * 200,
    "country": "ZZ",
    "languages": ["zz", XSS_SCRIPT],
    "background": "\x00",
    "background_other": "y" * 5000,
    "motivation": XSS_IMG,
    "language": "xx",
    "accept_rules": "maybe",
    "publish_handle": "perhaps",
    "website": "",
    "text": XSS_SCRIPT,
    "author_name": XSS_IMG,
    "stop": "99999999999999999999",
    "visitor": "99999999999999999999",
    "undo": "1",
    "reason": XSS_SCRIPT,
    "page": "-5",
    "external_entropy": "ünïcødé" * 100,
    "max_winners_per_country": "-99999999999999999999",
    "max_winners_per_background": "abc",
    "audience": "everyone-and-their-dog",
    "subject_en": XSS_SCRIPT,
    "body_en": XSS_IMG,
    "subject_fr": "",
    "body_fr": "x",
    "display_name": XSS_SCRIPT,
    "handle": "../",
    "bio": XSS_IMG,
    "language_0": "zz",
    "level_0": "god",
    "language_1": "en",
    "level_1": "",
    "can_attend": "",
    "ticket": "\x00",
}

# Pages for organizers only (contests.views.organizer.organizer_required, permission
# contests.change_contest; contests.views.draw.organizers_only, the Organizers group;
# and their background jobs' pages).
ORGANIZER_PAGES = [
    ("contests:dashboard", {"slug": DRAWN_SLUG}, "get"),
    ("contests:export_entries", {"slug": DRAWN_SLUG}, "post"),
    ("contests:export_selections", {"slug": DRAWN_SLUG}, "post"),
    ("contests:freeze", {"slug": CLOSED_SLUG}, "get"),
    ("contests:draw", {"slug": CLOSED_SLUG}, "get"),
    ("contests:offers_send", {"slug": DRAWN_SLUG}, "post"),
    ("contests:not_chosen_notify", {"slug": DRAWN_SLUG}, "post"),
    ("contests:selection_disqualify", {"slug": DRAWN_SLUG, "pk": "selection"}, "post"),
    ("contests:outbox_resend", {"slug": DRAWN_SLUG, "pk": "outbox"}, "post"),
    # A contest's background job: organizers only, like the page that started it.
    ("job", {"pk": "job"}, "get"),
    ("job_status", {"pk": "job"}, "get"),
]
STAFF = ("organizer", "touradmin", "pressofficer")
# Who writes to the visitors: permission visitors.add_visitmessage.
MESSAGE_PAGES = [
    ("visitors:message", {"slug": VISIT_SLUG}, "get"),
]
# Who checks the visitors in: permission visitors.check_in_visitorprofile.
CHECK_IN_PAGES = [
    ("visitors:check_in", {"slug": VISIT_SLUG}, "get"),
    ("visitors:check_in_link", {"token": "check_in"}, "get"),
]
# Pages for every staff group: permission visitors.view_visitorprofile.
STAFF_PAGES = [
    ("visitors:group", {"slug": VISIT_SLUG}, "get"),
]
# The permission matrix: each page, the groups it lets in (the others get 403).
PAGE_GROUPS = [
    *((page, ("organizer",)) for page in ORGANIZER_PAGES),
    *((page, ("organizer", "pressofficer")) for page in MESSAGE_PAGES),
    *((page, ("touradmin", "pressofficer")) for page in CHECK_IN_PAGES),
    *((page, STAFF) for page in STAFF_PAGES),
]


@dataclass
class Demo:
    tokens: dict[str, list[str]] = field(default_factory=dict)
    pks: dict[str, list[int]] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)


def _walk(patterns, prefix="", namespace=""):
    """(route, url name) of every URL pattern, through included resolvers."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry.url_patterns, route, full_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield route, name or route


def site_routes() -> list[tuple[str, str]]:
    routes = [
        (route, name)
        for route, name in _walk(get_resolver().url_patterns)
        if not route.startswith(SKIPPED_PREFIXES)
    ]
    assert not any("(?P" in route or "^" in route for route, _name in routes), (
        "A regex route: fill it by hand in this test"
    )
    return routes


PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + PARAM.sub(lambda m: quote(str(values[m["name"]]), safe=""), route)


def route_params(route: str) -> dict[str, str]:
    return {m["name"]: m["converter"] or "str" for m in PARAM.finditer(route)}


@pytest.fixture(scope="module")
def _demo_rows(django_db_setup, django_db_blocker) -> Iterator[Demo]:
    """The demo, loaded once for the module's tests on this process."""
    yield from rows_for_the_module(django_db_blocker, _demo_values)


def _demo_values() -> Demo:
    call_command("loaddemo", yes_on_a_production_database=True, stdout=io.StringIO())
    drawn = Contest.objects.get(slug=DRAWN_SLUG)
    selections = list(
        Selection.objects.filter(draw__contest=drawn, deadline__isnull=False).order_by("pk")
    )
    entries = list(Entry.objects.filter(contest=drawn).order_by("pk")[:2])
    profiles = list(VisitorProfile.objects.order_by("pk")[:2])
    assert selections and entries and profiles, "the demo lost its drawn contest or visitors"
    outbox = OutboxMessage.objects.filter(contest=drawn).first()
    if outbox is None:
        entry = entries[0]
        outbox = OutboxMessage.objects.create(
            key=f"robustness-{entry.pk}",
            kind="entry_confirm",
            contest=drawn,
            to_email=entry.email,
            subject="Confirm your entry",
            body_text="Confirm your entry.",
        )
    stops = list(TourStop.objects.filter(visit__slug=VISIT_SLUG).order_by("starts_at"))
    questions = list(Question.objects.filter(stop__visit__slug=VISIT_SLUG).order_by("pk"))
    demo = Demo()
    pending = [s for s in selections if s.status == Selection.Status.PENDING]
    answered = [s for s in selections if s.status != Selection.Status.PENDING]
    demo.tokens = {
        "confirm": [entry_confirm_token(e) for e in entries],
        "selection": [selection_answer_token(s) for s in (pending[:1] + answered[:1])],
        "profile": [visitor_profile_token(p) for p in profiles[:1]],
        "check_in": [visitor_check_in_token(p) for p in profiles[:1]],
    }
    demo.pks = {
        "selection": [selections[0].pk],
        "outbox": [outbox.pk] if outbox else [1],
        "stop": [s.pk for s in stops[:2]],
        "question": [q.pk for q in questions[:1]],
        "question_stop": [questions[0].stop_id] if questions else [stops[0].pk],
    }
    job = Job.objects.create(
        kind=Job.Kind.EXPORT_SELECTIONS,
        task="contests.tasks.run_export_job",
        contest=drawn,
        requested_at=timezone.now(),
    )
    demo.pks["job"] = [job.pk]
    User.objects.create_user("nobody", "nobody@example.org", "x")
    return demo


@pytest.fixture
def demo(_demo_rows, db) -> Demo:
    """The module's demo, with a client per kind of user, logged in afresh."""
    cache.clear()  # Rate-limit counters of earlier tests.
    demo = Demo(tokens=_demo_rows.tokens, pks=_demo_rows.pks)
    for label in ("anonymous", "nobody", *STAFF):
        client = Client()
        client.raise_request_exception = False
        if label != "anonymous":
            client.force_login(User.objects.get(username=label))
        demo.clients[label] = client
    return demo


def real_values(name: str, params: dict[str, str], demo: Demo) -> list[dict[str, str]]:
    """Values from the demo that a link of the site would carry, per URL name."""
    drawn, visit = DRAWN_SLUG, VISIT_SLUG
    contest_slugs = [OPEN_SLUG, CLOSED_SLUG, DRAWN_SLUG]
    token_kind = {
        "contests:confirm": "confirm",
        "visitors:place_accept": "selection",
        "visitors:place_decline": "selection",
        "visitors:check_in_link": "check_in",
    }
    if name in token_kind:
        return [{"token": t} for t in demo.tokens[token_kind[name]]]
    if name.startswith("visits:") and "token" in params:
        return [{"token": t} for t in demo.tokens["profile"]]
    if name == "contests:selection_disqualify":
        return [{"slug": drawn, "pk": pk} for pk in demo.pks["selection"]]
    if name in ("job", "job_status", "job_download"):
        return [{"pk": pk} for pk in demo.pks["job"]]
    if name == "contests:outbox_resend":
        return [{"slug": drawn, "pk": pk} for pk in demo.pks["outbox"]]
    if name == "visits:stop":
        return [{"slug": visit, "pk": pk} for pk in demo.pks["stop"]]
    if name == "visits:question_vote":
        return [
            {"slug": visit, "pk": demo.pks["question_stop"][0], "question_pk": pk}
            for pk in demo.pks["question"]
        ]
    if set(params) == {"slug"}:
        return [{"slug": s} for s in (contest_slugs if name.startswith("contests:") else [visit])]
    if not params:
        return [{}]
    # A new URL this test does not know yet: fill it as well as it can.
    guess = {}
    for param, converter in params.items():
        if converter == "int":
            guess[param] = 1
        elif param == "slug":
            guess[param] = visit if name.startswith("visits:") else drawn
        else:
            guess[param] = next(iter(demo.tokens["profile"]))
    return [guess]


def garbage_tokens(demo: Demo) -> list[str]:
    real = demo.tokens["selection"][0]
    confirm = signing.TimestampSigner(salt=CONFIRM_SALT)
    return [
        *GARBAGE_TEXT,
        "abc:def",
        real[:-1] + ("A" if real[-1] != "A" else "B"),  # Tampered signature.
        real + ":extra",
        # A genuine token of another kind: the salts must keep them apart.
        demo.tokens["profile"][0],
        demo.tokens["confirm"][0],
        demo.tokens["check_in"][0],
        # Signed by the site but shaped wrong, or naming rows that do not exist.
        signing.dumps([1, 2], salt=ANSWER_SALT),
        signing.dumps({"s": "1", "d": "x"}, salt=ANSWER_SALT),
        signing.dumps({"s": 2**70, "d": 0}, salt=ANSWER_SALT),
        signing.dumps({"v": 2**70}, salt=PROFILE_SALT),
        signing.dumps({"v": "1"}, salt=PROFILE_SALT),
        signing.dumps({"c": 2**70}, salt=CHECK_IN_SALT),
        signing.dumps({"c": None}, salt=CHECK_IN_SALT),
        confirm.sign(str(2**70)),
        confirm.sign("abc"),
    ]


def garbage_values(route: str, real: dict[str, str], demo: Demo):
    """The real values with one parameter at a time replaced by garbage."""
    for param, converter in route_params(route).items():
        if converter == "int":
            candidates = GARBAGE_INTS
        elif converter == "slug":
            candidates = GARBAGE_SLUGS
        elif param == "token":
            candidates = garbage_tokens(demo)
        else:
            candidates = GARBAGE_TEXT
        for value in candidates:
            yield {**real, param: value}


def _exception_line(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    frames = traceback.extract_tb(exc_info[2])
    own = [f for f in frames if "site-packages" not in f.filename] or frames
    where = f"{own[-1].filename}:{own[-1].lineno}"
    return f"{exc_info[0].__name__}: {exc_info[1]} at {where}"


def _check(response, label: str, method: str, url: str, failures: list[str], *, csrf=False):
    """Record a 500, a broken stream, raw user HTML or a CSRF check that did not answer 403."""
    where = f"{method} {url[:120]} as {label}"
    if response.status_code >= 500:
        failures.append(f"{where}: {response.status_code} {_exception_line(response)}")
        return
    if csrf and response.status_code != 403:
        failures.append(f"{where} without CSRF token: {response.status_code}, expected 403")
    try:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    except Exception as exc:  # noqa: BLE001 - any error in a stream is a finding
        failures.append(f"{where}: stream broke: {exc!r}")
        return
    if response.get("Content-Type", "").startswith("text/html"):
        text = body.decode("utf-8", "replace")
        for marker in RAW_MARKERS:
            if marker in text:
                failures.append(f"{where}: raw {marker!r} in the HTML")


def _request(client: Client, method: str, url: str, data=None):
    if method == "GET":
        return client.get(url, data)
    return client.post(url, data or {})


def _report(failures: list[str], requests: int) -> str:
    return f"{len(failures)} problem(s) in {requests} requests:\n" + "\n".join(failures)


@pytest.mark.django_db
def test_no_url_answers_500_to_any_user_with_real_values(demo):
    """Every user, every method, with and without garbage, one route after the other.

    One test, in the order of the URL patterns: what a request changes (a
    contest frozen by the freeze page's POST) is what the next pages meet.
    """
    routes = site_routes()
    assert any(name == "contests:detail" for _r, name in routes)
    assert any(name == "visits:detail" for _r, name in routes)
    failures: list[str] = []
    requests = 0
    for route, name in routes:
        for values in real_values(name, route_params(route), demo):
            url = fill(route, values)
            for label, client in demo.clients.items():
                for method, data in (
                    ("GET", None),
                    ("GET", GARBAGE_QUERY),
                    ("POST", GARBAGE_POST),
                    ("POST", {}),
                ):
                    _check(_request(client, method, url, data), label, method, url, failures)
                    requests += 1
    assert requests > 500
    assert not failures, _report(failures, requests)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "name"),
    [pytest.param(route, name, id=name) for route, name in site_routes() if route_params(route)],
)
def test_no_url_answers_500_to_garbage_in_its_address(demo, route, name):
    """Each parameter of the address in turn replaced by garbage: anonymous and both staff groups.

    A test per route, so that the routes spread over the test processes.
    """
    failures: list[str] = []
    requests = 0
    reals = real_values(name, route_params(route), demo)
    for values in garbage_values(route, reals[0], demo):
        url = fill(route, values)
        for label in ("anonymous", "organizer", "touradmin"):
            client = demo.clients[label]
            for method, data in (("GET", GARBAGE_QUERY), ("POST", GARBAGE_POST)):
                _check(_request(client, method, url, data), label, method, url, failures)
                requests += 1
    assert requests
    assert not failures, _report(failures, requests)


@pytest.mark.django_db
@pytest.mark.parametrize("label", ["anonymous", "organizer", "touradmin"])
def test_posts_without_csrf_token_answer_403_on_every_url(demo, label):
    failures: list[str] = []
    client = Client(enforce_csrf_checks=True)
    client.raise_request_exception = False
    if label != "anonymous":
        client.force_login(User.objects.get(username=label))
    for route, name in site_routes():
        for values in real_values(name, route_params(route), demo):
            url = fill(route, values)
            for data in (GARBAGE_POST, {}):
                response = client.post(url, data)
                _check(response, label, "POST", url, failures, csrf=True)
    assert not failures, "\n".join(failures)


def _staff_url(name: str, kwargs: dict, demo: Demo) -> str:
    values = {}
    for key, value in kwargs.items():
        if key == "pk":
            values[key] = demo.pks[value][0]
        elif key == "token":
            values[key] = demo.tokens[value][0]
        else:
            values[key] = value
    return reverse(name, kwargs=values)


def _answer(demo: Demo, label: str, method: str, url: str):
    return getattr(demo.clients[label], method)(url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kwargs", "method", "allowed", "refused"),
    [
        (name, kwargs, method, allowed, ("nobody", *(s for s in STAFF if s not in groups)))
        for (name, kwargs, method), groups in PAGE_GROUPS
        for allowed in groups
    ],
)
def test_staff_pages_send_anonymous_to_login_and_refuse_other_users(
    demo, name, kwargs, method, allowed, refused
):
    url = _staff_url(name, kwargs, demo)
    anonymous = _answer(demo, "anonymous", method, url)
    assert anonymous.status_code == 302, (url, anonymous.status_code)
    assert anonymous["Location"].startswith(reverse("admin:login") + "?next="), anonymous[
        "Location"
    ]
    for label in refused:
        response = _answer(demo, label, method, url)
        assert response.status_code == 403, (url, label, response.status_code)
    response = _answer(demo, allowed, method, url)
    assert response.status_code in (200, 302), (url, allowed, response.status_code)
    if response.status_code == 302:
        assert not response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_live_updates_can_be_posted_only_by_tour_admins_and_press_officers(demo):
    url = reverse("visits:live", kwargs={"slug": VISIT_SLUG})
    for label in ("anonymous", "nobody", "organizer"):
        response = demo.clients[label].post(url, {"text_en": "Beams are back"})
        assert response.status_code == 403, label
        assert demo.clients[label].get(url).status_code == 200, label
    for label in ("touradmin", "pressofficer"):
        assert demo.clients[label].post(url, {"text_en": "Beams are back"}).status_code == 302


def _pages_escape(demo: Demo, pages: list[tuple[str, str]], failures: list[str]) -> str:
    """GET each (user, url); record raw payloads; return all the HTML for further checks."""
    html = []
    for label, url in pages:
        response = demo.clients[label].get(url)
        if response.status_code != 200:
            failures.append(f"GET {url} as {label}: {response.status_code}")
            continue
        _check(response, label, "GET", url, failures)
        html.append(response.content.decode())
    return "\n".join(html)


@pytest.mark.django_db
def test_what_the_public_types_is_shown_escaped(demo, settings, django_capture_on_commit_callbacks):
    settings.QUESTION_RATE_LIMIT = "1000/m"
    anonymous = demo.clients["anonymous"]
    failures: list[str] = []
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_img = "&lt;img src=x onerror=alert(1)&gt;"

    # An entry: its name and motivation.
    contest_url = reverse("contests:detail", kwargs={"slug": OPEN_SLUG})
    response = anonymous.post(
        contest_url,
        {
            "name": XSS_SCRIPT + " Smith",
            "email": "xss.tester@cern.ch",
            "twitter_handle": "xss_tester",
            "country": "CH",
            "languages": ["en"],
            "background": "science",
            "motivation": XSS_IMG,
            "language": "en",
            "accept_rules": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = Entry.objects.get(email_normalized="xss.tester@cern.ch")
    assert entry.name.startswith(XSS_SCRIPT)
    confirm_url = reverse("contests:confirm", kwargs={"token": entry_confirm_token(entry)})
    # A drawn winner whose name is shown on the public results.
    winner = (
        Selection.objects.filter(draw__contest__slug=DRAWN_SLUG, kind=Selection.Kind.WINNER)
        .select_related("entry")
        .first()
    )
    Entry.objects.filter(pk=winner.entry_id).update(
        name=XSS_IMG + " Doe", publish_handle=False, personal_data_removed_at=None
    )

    # A question, approved so that it shows: the demo's day moves to tomorrow so questions are open.
    visit = Visit.objects.get(slug=VISIT_SLUG)
    shift = timedelta(days=(timezone.localdate() - visit.date).days + 1)
    Visit.objects.filter(pk=visit.pk).update(date=F("date") + shift)
    TourStop.objects.filter(visit=visit).update(
        starts_at=F("starts_at") + shift, ends_at=F("ends_at") + shift
    )
    stop = TourStop.objects.filter(visit__slug=VISIT_SLUG).order_by("starts_at").first()
    stop_url = stop.get_absolute_url()
    response = anonymous.post(stop_url, {"text": XSS_SCRIPT, "author_name": XSS_IMG})
    assert response.status_code == 302, response.content.decode()[:3000]
    question = Question.objects.get(stop=stop, text=XSS_SCRIPT)
    Question.objects.filter(pk=question.pk).update(status=Question.Status.APPROVED)

    # A visitor profile: display name and bio, shown in public with consent.
    profile = VisitorProfile.objects.order_by("pk").first()
    token = visitor_profile_token(profile)
    profile_url = reverse("visitors:profile", kwargs={"token": token})
    with django_capture_on_commit_callbacks(execute=False):
        response = anonymous.post(
            profile_url,
            {
                "display_name": XSS_SCRIPT,
                "handle": "",
                "background": "science",
                "bio": XSS_IMG,
                "language": "en",
                "language_0": "en",
                "level_0": "native",
                "public_consent": "on",
                "photo_consent": "on",
                "confirm_attendance": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    profile.refresh_from_db()
    assert profile.bio == XSS_IMG and profile.public_consent

    # A live update from a tour admin.
    live_url = reverse("visits:live", kwargs={"slug": VISIT_SLUG})
    response = demo.clients["touradmin"].post(live_url, {"text_en": XSS_SCRIPT})
    assert response.status_code == 302

    visit_kwargs = {"slug": VISIT_SLUG}
    public_pages = [
        ("anonymous", reverse("home")),
        ("anonymous", contest_url),
        ("anonymous", reverse("contests:entry_sent", kwargs={"slug": OPEN_SLUG})),
        ("anonymous", confirm_url),
        ("anonymous", reverse("contests:results", kwargs={"slug": DRAWN_SLUG})),
        ("anonymous", reverse("contests:live_draw", kwargs={"slug": DRAWN_SLUG})),
        ("anonymous", stop_url),
        ("anonymous", reverse("visits:detail", kwargs=visit_kwargs)),
        ("anonymous", reverse("visits:print", kwargs=visit_kwargs)),
        ("anonymous", live_url),
        ("anonymous", reverse("visits:live_fragment", kwargs=visit_kwargs)),
        ("anonymous", profile_url),
        ("anonymous", reverse("visitors:visitor_itinerary", kwargs={"token": token})),
        ("anonymous", reverse("visitors:visitor_itinerary_print", kwargs={"token": token})),
        ("anonymous", reverse("visitors:badge", kwargs={"token": token})),
    ]
    staff_pages = [
        ("organizer", reverse("contests:dashboard", kwargs={"slug": DRAWN_SLUG})),
        ("organizer", reverse("contests:dashboard", kwargs={"slug": OPEN_SLUG})),
        ("organizer", reverse("visitors:group", kwargs=visit_kwargs)),
        ("organizer", reverse("visitors:message", kwargs=visit_kwargs)),
        ("touradmin", reverse("visitors:check_in", kwargs=visit_kwargs)),
        (
            "touradmin",
            reverse(
                "visitors:check_in_link",
                kwargs={"token": visitor_check_in_token(profile)},
            ),
        ),
    ]
    public_html = _pages_escape(demo, public_pages, failures)
    staff_html = _pages_escape(demo, staff_pages, failures)
    feed = anonymous.get(reverse("visits:updates_feed", kwargs=visit_kwargs))
    assert feed.status_code == 200
    assert b"<script>alert(1)" not in feed.content
    assert not failures, "\n".join(failures)
    # The payloads were shown (escaped), so the checks above looked at them.
    assert escaped_script in public_html  # question text, display name, entrant name
    assert escaped_img in public_html  # bio, winner's first name, question author
    assert escaped_script in staff_html or escaped_img in staff_html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("ENTRY_RATE_LIMIT", f"/contests/{OPEN_SLUG}/"),
        ("ENTRY_RATE_LIMIT", f"/contests/{OPEN_SLUG}/confirm-again/"),
        ("QUESTION_RATE_LIMIT", "stop"),
    ],
)
def test_rate_limited_empty_posts_get_an_answer_not_a_500(demo, settings, setting, url):
    """Past the limit, even an empty form gets a page that says to wait."""
    setattr(settings, setting, "1/h")
    if url == "stop":
        url = TourStop.objects.filter(visit__slug=VISIT_SLUG).first().get_absolute_url()
    client = demo.clients["anonymous"]
    statuses = [client.post(url, {}).status_code for _ in range(3)]
    assert all(status < 500 for status in statuses), (url, statuses)
