"""The outbox under faults, on the production stack's own processes (README "Reliability").

The Celery worker is killed (SIGKILL) at random points of 200 sends; the SMTP
server answers 451 for an hour, then takes the mail; it refuses one recipient
for good (550); an organizer's Resend is pressed ten times at once; staff
open the signed links of real mail. Each test prints what it measured.

Time is compressed: the test runs beat's outbox sweep itself every few seconds
(the task beat sends every minute, on beat's queue), and a wait the outbox
keeps in its rows that outlasts a test (a mail's next try during the hour of
451s, the age of a task a killed worker took before claiming its row) is
moved into the past, as the clock would move it. The stack's sending timeout
(45 s) is waited out. That no other mail came is proved by the work being
done (every row at its final status, the worker idle), never by a sleep.
"""

import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from celery import Celery
from playwright.sync_api import expect
from psycopg import sql

from tests.acceptance.stack import DEMO_PASSWORD, HttpVisitor, Person, links
from tests.html_forms import BrowserForm
from tests.support import wait_until

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(600)]

CONTEST = "/contests/cern-tweetup/"
DASHBOARD = f"{CONTEST}dashboard/"
THANKS = f"{CONTEST}thanks/"
# The task beat sends every minute, and its queue (CELERY_BEAT_SCHEDULE, CELERY_TASK_ROUTES).
SWEEP_TASK = "notifications.tasks.send_unsent_messages"
PERIODIC_QUEUE = "periodic"
QUEUES = ("celery", PERIODIC_QUEUE)
# The longest the outbox may take to settle after a fault, sweeps run by the test.
SETTLE = 240
# How often the test runs the sweep while it waits (beat: every minute).
SWEEP_EVERY = 3
# The SMTP outage of the second test, in the outbox's own time.
OUTAGE = timedelta(hours=1)
REFUSED_FOR_GOOD = "550 5.1.1 No such user"
STAFF_REFUSAL = "This link is not for staff"


def report(capsys, text: str) -> None:
    """Print a measured figure on the terminal, whether or not the test passes."""
    with capsys.disabled():
        print(f"\n[outbox faults] {text}")


# The outbox's rows --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """An outbox row (notifications.OutboxMessage) as the worker left it."""

    id: int
    key: str
    to_email: str
    status: str
    attempts: int
    last_error: str
    queued_at: datetime | None
    claimed_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    resend_requested_at: datetime | None

    @property
    def waiting(self) -> bool:
        """Back to pending after a failed attempt, waiting for its next try (no task queued)."""
        return self.status == "pending" and self.queued_at is None and bool(self.next_attempt_at)


def outbox_rows(stack, addresses: list[str]) -> list[Row]:
    columns = sql.SQL(", ").join(sql.Identifier(column.name) for column in fields(Row))
    found = stack.query(
        sql.SQL(
            "SELECT {} FROM notifications_outboxmessage WHERE lower(to_email) = ANY(%s) ORDER BY id"
        ).format(columns),
        ([address.lower() for address in addresses],),
    )
    return [Row(*values) for values in found]


def outbox_row(stack, address: str) -> Row:
    [row] = outbox_rows(stack, [address])
    return row


def copies(stack, keys: set[str]) -> Counter:
    """How many copies of each outbox row (by its key) the SMTP server took."""
    return Counter(
        key for message in stack.mail.messages if (key := message["X-TweetUp-Key"]) in keys
    )


@dataclass(frozen=True)
class OutboxSettings:
    """The outbox's settings as the stack's processes read them, in seconds."""

    retry_after: float
    retry_max: float
    max_attempts: int
    sending_timeout: float
    requeue_after: float

    def retry_delay(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt, as README "Mail: the outbox" says."""
        return min(self.retry_after * 2 ** (attempts - 1), self.retry_max)

    def attempt_times(self) -> list[float]:
        """When each attempt of a mail the server keeps refusing comes, from the first."""
        times = [0.0]
        for attempts in range(1, self.max_attempts):
            times.append(times[-1] + self.retry_delay(attempts))
        return times


@pytest.fixture(scope="module")
def outbox_settings(stack) -> OutboxSettings:
    code = (
        "import json\nfrom django.conf import settings as s\n"
        "print('outbox=' + json.dumps([s.OUTBOX_RETRY_AFTER.total_seconds(), "
        "s.OUTBOX_RETRY_MAX.total_seconds(), s.OUTBOX_MAX_ATTEMPTS, "
        "s.OUTBOX_SENDING_TIMEOUT.total_seconds(), s.OUTBOX_REQUEUE_AFTER.total_seconds()]))"
    )
    output = stack.manage("shell", "-c", code).stdout
    return OutboxSettings(*json.loads(output.rsplit("outbox=", 1)[1]))


# The worker, seen from outside --------------------------------------------------------


class Worker:
    """The stack's Celery worker: its queues in Redis, its answers, and beat's sweep."""

    def __init__(self, stack) -> None:
        self.broker_url = stack.env["CELERY_BROKER_URL"]
        self.app = Celery("tests.acceptance.outbox", broker=self.broker_url, set_as_current=False)
        self.app.conf.update(broker_connection_retry_on_startup=False, task_serializer="json")

    def queued(self) -> int:
        """Tasks waiting in the worker's queues (Kombu keeps a list per queue and priority)."""
        with redis.Redis.from_url(self.broker_url, socket_connect_timeout=1) as client:
            return sum(
                client.llen(key)
                for queue in QUEUES
                for key in client.scan_iter(match=f"{queue}*", _type="list")
            )

    def idle(self) -> bool:
        """Nothing waits in its queues, and the worker answers that it runs and holds nothing."""
        if self.queued():
            return False
        inspect = self.app.control.inspect(timeout=1, limit=1)
        for held in (inspect.active, inspect.reserved, inspect.scheduled):
            answer = held()
            if not answer or any(answer.values()):
                return False
        return not self.queued()

    def wait_idle(self, timeout: float = 60) -> None:
        wait_until(self.idle, timeout=timeout, what="the Celery worker to be idle")

    def processes(self) -> int:
        """The worker's pool processes: how many mails it may be sending at one instant."""
        stats = wait_until(
            lambda: self.app.control.inspect(timeout=1, limit=1).stats(),
            timeout=30,
            what="the Celery worker's stats",
        )
        return next(iter(stats.values()))["pool"]["max-concurrency"]

    def sweep(self) -> None:
        """Run beat's outbox sweep now, as beat does every minute."""
        self.app.send_task(SWEEP_TASK, queue=PERIODIC_QUEUE)

    def close(self) -> None:
        self.app.close()


@pytest.fixture(scope="module")
def worker(stack):
    watched = Worker(stack)
    yield watched
    watched.close()


def sweep_until(worker: Worker, done, *, what: str, timeout: float = SETTLE, on_idle=None):
    """Run the sweep every few seconds until ``done()`` returns something true, and return it.

    ``on_idle`` runs whenever the worker is idle and ``done()`` is not: it may
    move time forward for rows that wait on the clock alone.
    """
    last = 0.0

    def check():
        nonlocal last
        result = done()
        if result:
            return result
        if time.monotonic() - last >= SWEEP_EVERY:
            if on_idle is not None and worker.idle():
                on_idle()
            worker.sweep()
            last = time.monotonic()
        return None

    return wait_until(check, timeout=timeout, what=what)


def enter(stack, person: Person) -> None:
    """Enter the open contest as a browser does, without one: its confirmation is queued."""
    answer = HttpVisitor(stack.base_url).enter(CONTEST, person)
    assert answer.location == THANKS, (answer.status, answer.text[:500])


# 1. The worker killed while it sends ---------------------------------------------------

MAILS = 200
KILLS = 5

# Queues each address's entry confirmation through the site's own service, in
# one process of the runtime venv, as 200 people entering would.
ENTER_MANY = """
import json
from contests.models import Contest
from contests.services.entries import entry_submit
contest = Contest.objects.get(slug="cern-tweetup")
for email, handle in json.loads({people!r}):
    entry_submit(
        contest=contest, name="Kill Point", email=email, twitter_handle=handle,
        country="CH", languages=["en"], background="science", language="en",
        motivation="I would share every stop of the visit with my physics club.",
    )
"""


def test_worker_killed_at_random_points_of_200_sends_delivers_all_repeating_only_unrecorded_mail(
    stack, worker, outbox_settings, capsys
):
    """Every mail arrives; only a mail the server took before its record was written comes twice.

    The worker is killed (SIGKILL, with its pool) five times, each after a
    random number of further deliveries; supervisord starts it again. At each
    kill, the rows left ``sending`` whose mail the server already holds are
    the only ones that may be sent again, after OUTBOX_SENDING_TIMEOUT.
    """
    rng = random.Random()
    tag = uuid.uuid4().hex[:6]
    addresses = [f"kill{number}.{tag}@example.org" for number in range(MAILS)]
    people = [(address, f"k{tag}{number}") for number, address in enumerate(addresses)]
    processes = worker.processes()
    keys: set[str] = set()
    started = time.monotonic()

    def delivered() -> int:
        nonlocal keys
        if len(keys) < MAILS:
            keys = {row.key for row in outbox_rows(stack, addresses)}
        return len(copies(stack, keys))

    kills: list[dict] = []
    # Per row, the kills that caught it after the server's 250, before its record.
    caught: Counter = Counter()
    claims_seen: set[tuple] = set()
    with ThreadPoolExecutor(1) as pool:
        queueing = pool.submit(
            stack.manage, "shell", "-c", ENTER_MANY.format(people=json.dumps(people))
        )
        for _ in range(KILLS):
            target = min(delivered() + rng.randint(3, 30), MAILS - 10)

            def reached(target=target) -> bool:
                if queueing.done() and queueing.exception():
                    raise queueing.exception()
                return delivered() >= target

            wait_until(reached, timeout=180, what=f"{target} of the {MAILS} mails")
            stack.worker_kill()
            # The worker is dead: nothing records now. A row it left "sending" whose
            # mail the server holds was caught between the server's 250 and the record.
            taken = set(copies(stack, keys))
            left = [
                row
                for row in outbox_rows(stack, addresses)
                if row.status == "sending" and (row.id, row.claimed_at) not in claims_seen
            ]
            claims_seen |= {(row.id, row.claimed_at) for row in left}
            caught.update(row.key for row in left if row.key in taken)
            kills.append(
                {
                    "delivered": len(taken),
                    "sending": len(left),
                    "taken": sum(row.key in taken for row in left),
                }
            )
            stack.worker_start()
        queueing.result()
    assert len(outbox_rows(stack, addresses)) == MAILS

    # A task a worker took but had not claimed its row with died with it: Redis
    # hands it out again after the visibility timeout (15 minutes), or the
    # sweep queues the row again after OUTBOX_REQUEUE_AFTER. Once the worker is
    # idle, such a row waits on the clock alone: move its clock.
    stranded: set[int] = set()

    def move_time_for_lost_tasks() -> None:
        for row in outbox_rows(stack, addresses):
            if row.status == "pending" and row.queued_at is not None:
                moved = stack.query(
                    "UPDATE notifications_outboxmessage "
                    "SET queued_at = queued_at - make_interval(secs => %s) "
                    "WHERE id = %s AND status = 'pending' AND queued_at = %s RETURNING id",
                    (outbox_settings.requeue_after, row.id, row.queued_at),
                )
                stranded.update(row_id for (row_id,) in moved)

    sweep_until(
        worker,
        lambda: all(row.status == "sent" for row in outbox_rows(stack, addresses)),
        what=f"all {MAILS} mails to be sent",
        on_idle=move_time_for_lost_tasks,
    )
    worker.wait_idle()
    elapsed = time.monotonic() - started

    counted = copies(stack, keys)
    rows = {row.key: row for row in outbox_rows(stack, addresses)}
    assert set(counted) == keys, f"never delivered: {sorted(keys - set(counted))}"
    repeated = {key: count - 1 for key, count in counted.items() if count > 1}
    report(
        capsys,
        f"{MAILS} mails, {len(kills)} SIGKILLs of the worker ({processes} processes) "
        f"at {[kill['delivered'] for kill in kills]} delivered; "
        f"rows left sending per kill {[kill['sending'] for kill in kills]}, of which the "
        f"server had taken {[kill['taken'] for kill in kills]}; tasks lost before their "
        f"claim {len(stranded)}; duplicates {sum(repeated.values())} "
        f"({sorted(repeated)}); all sent in {elapsed:.0f} s",
    )
    # A mail comes again only once per kill that caught it between the server's 250
    # and its record (and was then claimed again: one more attempt).
    assert all(count <= caught[key] for key, count in repeated.items()), (repeated, caught)
    assert all(rows[key].attempts > count for key, count in repeated.items())
    # So at most one mail per pool process and kill, however the kills fall.
    assert sum(repeated.values()) <= len(kills) * processes


# 2. An SMTP outage (451) for an hour ------------------------------------------------------


def test_smtp_refusing_451_for_an_hour_of_compressed_time_delivers_every_mail_once_none_failed(
    stack, worker, outbox_settings, capsys
):
    """Each retry comes at its documented step, one attempt per step, then each mail goes once.

    The server refuses every mail with 451 for an hour of the outbox's time:
    between sweeps each row's next try is moved into the past, as an hour of
    beat's sweeps would find it due. Then the server accepts.
    """
    people = [Person.unique(f"Greylisted Entrant{number}") for number in range(3)]
    addresses = [person.email for person in people]
    times = outbox_settings.attempt_times()
    refused_attempts = sum(moment < OUTAGE.total_seconds() for moment in times)
    assert refused_attempts < outbox_settings.max_attempts, "the outage would fail the mail"
    started = time.monotonic()

    stack.mail.refuse(451)
    for person in people:
        enter(stack, person)
    steps = 0
    while True:
        rows = wait_until(
            lambda: (
                (found := outbox_rows(stack, addresses))
                and len(found) == len(people)
                and all(row.waiting for row in found)
                and found
            ),
            timeout=SETTLE,
            what="each mail to be refused and wait for its next try",
        )
        for row in rows:
            assert row.last_error.startswith("SMTPDataError: 451"), row.last_error
            # The documented wait after this many failed attempts, one attempt per step.
            wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
            assert wait == outbox_settings.retry_delay(row.attempts), row
            assert stack.mail.refused_count(to=row.to_email) == row.attempts, row
        due = {row.id: row.attempts for row in rows if row.attempts < refused_attempts}
        if not due:
            break
        # The clock reaches each row's next try; the sweep finds it due.
        for row_id, attempts in due.items():
            stack.query(
                "UPDATE notifications_outboxmessage SET next_attempt_at = now() "
                "WHERE id = %s AND attempts = %s AND status = 'pending'",
                (row_id, attempts),
            )
        steps += 1
        sweep_until(
            worker,
            lambda due=due: all(
                row.attempts > due[row.id] and row.waiting
                for row in outbox_rows(stack, addresses)
                if row.id in due
            ),
            what=f"retry step {steps}",
        )

    # The hour is over and the server takes mail again; each row is due at its next step.
    stack.mail.accept()
    for row in outbox_rows(stack, addresses):
        stack.query(
            "UPDATE notifications_outboxmessage SET next_attempt_at = now() "
            "WHERE id = %s AND status = 'pending'",
            (row.id,),
        )
    sweep_until(
        worker,
        lambda: all(row.status == "sent" for row in outbox_rows(stack, addresses)),
        what="every mail to be sent once the server accepts",
    )
    worker.wait_idle()
    elapsed = time.monotonic() - started

    rows = outbox_rows(stack, addresses)
    assert [row.status for row in rows] == ["sent"] * len(people)
    assert [row.attempts for row in rows] == [refused_attempts + 1] * len(people)
    assert [stack.mail.count(to=address) for address in addresses] == [1] * len(people)
    assert [stack.mail.refused_count(to=address) for address in addresses] == [
        refused_attempts
    ] * len(people)
    delivered_after = times[refused_attempts]
    report(
        capsys,
        f"451 for {OUTAGE.total_seconds():.0f} s of outbox time "
        f"(OUTBOX_RETRY_AFTER_SECONDS={outbox_settings.retry_after:.0f}): "
        f"{refused_attempts} attempts refused per mail, at "
        f"{[int(moment) for moment in times[:refused_attempts]]} s, in {steps} sweeps; "
        f"each of {len(people)} mails delivered once at attempt {refused_attempts + 1} "
        f"({delivered_after:.0f} s after its first), none failed; {elapsed:.0f} s of real time",
    )


# 3. A permanent refusal for one recipient ------------------------------------------------


def test_a_recipient_refused_with_550_fails_at_once_with_the_answer_and_the_others_go(
    stack, worker, staff_page, capsys
):
    before, nobody, after = (
        Person.unique("Before Refusal"),
        Person.unique("Nobody Home"),
        Person.unique("After Refusal"),
    )
    stack.mail.refuse_recipient(nobody.email, REFUSED_FOR_GOOD)
    for person in (before, nobody, after):
        enter(stack, person)
    everyone = [before.email, nobody.email, after.email]
    wait_until(
        lambda: [row.status for row in outbox_rows(stack, everyone)] == ["sent", "failed", "sent"],
        timeout=SETTLE,
        what="the refused mail to fail and the others to be sent",
    )
    # A sweep does not try it again: it failed for good.
    worker.sweep()
    worker.wait_idle()

    refused = outbox_row(stack, nobody.email)
    assert refused.status == "failed"
    assert refused.attempts == 1
    assert refused.next_attempt_at is None
    assert f"SMTPRecipientsRefused: {REFUSED_FOR_GOOD}" in refused.last_error
    assert stack.mail.refused_count(to=nobody.email) == 1
    assert stack.mail.count(to=nobody.email) == 0
    assert [stack.mail.count(to=person.email) for person in (before, after)] == [1, 1]

    # The organizer sees it at the top of the contest's dashboard, with the server's answer.
    page = staff_page("organizer")
    page.goto(DASHBOARD)
    alert = page.locator(f"#failed-mail-{refused.id}")
    expect(alert).to_contain_text(nobody.email)
    expect(alert).to_contain_text(REFUSED_FOR_GOOD)
    report(capsys, f"550 for one recipient: failed after 1 attempt with {refused.last_error!r}")


# 4. Resend pressed ten times at once -------------------------------------------------------


def staff_session(stack, username: str) -> HttpVisitor:
    """A browser without a browser, signed in at the admin's login form."""
    visitor = HttpVisitor(stack.base_url)
    form = BrowserForm.parse(visitor.get("/admin/login/").text, "login-form")
    answer = visitor.post(
        "/admin/login/", form.data({"username": username, "password": DEMO_PASSWORD})
    )
    assert answer.status == 302, f"{username} could not log in: {answer.text[:500]}"
    return visitor


def resend_form(page: str, *, within: str, row_id: int) -> tuple[str, list[tuple[str, str]]]:
    """The action and fields of the Resend button of a row, in the element ``within``."""
    start = page.index(f'id="{within}"')
    found = re.compile(
        rf'<form method="post" action="([^"]*/outbox/{row_id}/resend/)">(.*?)</form>', re.S
    ).search(page, start)
    assert found, f"no Resend button for row {row_id} in #{within}"
    form = BrowserForm.parse(f'<form id="resend">{found[2]}</form>', "resend")
    return found[1], form.data()


def press_at_once(stack, session: HttpVisitor, action: str, fields, times: int) -> list[int]:
    """``times`` presses of the same button from the same page, arriving together."""
    barrier = threading.Barrier(times)

    def press(_number: int) -> int:
        browser = HttpVisitor(stack.base_url)
        browser.cookies = dict(session.cookies)
        barrier.wait(timeout=30)
        return browser.post(action, fields).status

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(press, range(times)))


def resends_logged(stack, row_id: int) -> int:
    [(count,)] = stack.query(
        "SELECT count(*) FROM tweetup_auditentry WHERE verb = 'mail_resend' AND object_pk = %s",
        (str(row_id),),
    )
    return count


def test_ten_resend_presses_at_once_deliver_one_copy_and_a_double_press_on_a_sent_mail_one(
    stack, worker, capsys
):
    """The dashboard's Resend, posted with the organizer's session as the browser posts it.

    Ten presses on the failed mail's button arrive together; later the button
    of the sent mail in the outbox is pressed twice from the same page.
    """
    person = Person.unique("Typo Mended")
    stack.mail.refuse_recipient(person.email, REFUSED_FOR_GOOD)
    enter(stack, person)
    failed = wait_until(
        lambda: (row := outbox_row(stack, person.email)).status == "failed" and row,
        timeout=SETTLE,
        what="the mail to fail",
    )
    # The cause is mended (the mailbox exists now); the organizer presses Resend.
    stack.mail.accept()
    organizer = staff_session(stack, "organizer")
    dashboard = organizer.get(DASHBOARD)
    assert dashboard.status == 200
    action, fields = resend_form(
        dashboard.text, within=f"failed-mail-{failed.id}", row_id=failed.id
    )
    statuses = press_at_once(stack, organizer, action, fields, times=10)
    assert statuses == [302] * 10
    sent = sweep_until(
        worker,
        lambda: (row := outbox_row(stack, person.email)).status == "sent" and row,
        what="the resent mail to be sent",
    )
    worker.wait_idle()
    assert stack.mail.count(to=person.email) == 1
    assert sent.attempts == 1
    # The press that queued it is on the record, and only that one.
    assert resends_logged(stack, failed.id) == 1

    # A double press on the sent mail's button in the outbox, from one page.
    logged = resends_logged(stack, failed.id)
    dashboard = organizer.get(DASHBOARD)
    action, fields = resend_form(dashboard.text, within="outbox-table", row_id=failed.id)
    statuses = press_at_once(stack, organizer, action, fields, times=2)
    assert statuses == [302] * 2
    again = sweep_until(
        worker,
        lambda: (
            (row := outbox_row(stack, person.email)).status == "sent"
            and row.resend_requested_at != sent.resend_requested_at
            and row.last_attempt_at > row.resend_requested_at
            and row
        ),
        what="the mail resent once more to be sent",
    )
    worker.wait_idle()
    assert again.attempts == 1
    assert stack.mail.count(to=person.email) == 2
    assert resends_logged(stack, failed.id) == logged + 1
    report(
        capsys,
        "Resend: 10 presses at once on a failed mail delivered 1 copy; a double press on "
        f"the sent mail 1 more; resends in the audit log {logged}, then "
        f"{resends_logged(stack, failed.id)}",
    )


# 5. Staff open the signed links of real mail ------------------------------------------------


@dataclass
class MailedLinks:
    """Signed links from mail the site sent, each to the person it is for."""

    accept: str  # a pending winner's offer
    decline: str  # the same offer
    profile: str  # a visitor's profile, from the welcome mail of the winner who accepted
    confirm: str  # an unconfirmed entry's confirmation


def admin_time(moment: datetime, zone: ZoneInfo) -> tuple[str, str]:
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def the_link(message, pattern: str) -> str:
    [link] = [url for url in links(message) if re.search(pattern, url)]
    return link


def post_form(visitor: HttpVisitor, path: str, form_id: str, filled=None, submitter=None):
    form = BrowserForm.parse(visitor.get(path).text, form_id)
    return visitor.post(path, form.data(filled or {}, submitter=submitter))


def job_finished(session: HttpVisitor, job_page: str) -> None:
    """Wait for the background job whose page the press led to, as its page does."""
    assert job_page.startswith("/jobs/"), job_page

    def state() -> str:
        answer = session.get(f"{job_page}status.json")
        assert answer.status == 200, answer.text[:500]
        return json.loads(answer.text)["state"]

    wait_until(lambda: state() in ("done", "failed"), timeout=120, what=f"the job {job_page}")
    assert state() == "done", session.get(f"{job_page}status.json").text


def contest_with_offers(stack, worker) -> MailedLinks:
    """An organizer runs a contest over HTTP to its draw; its people answer from their mail."""
    zone = ZoneInfo(stack.setting("TIME_ZONE"))
    organizer = staff_session(stack, "organizer")
    token = uuid.uuid4().hex[:6]
    slug = f"staff-links-{token}"
    [(visit_id,)] = stack.query("SELECT id FROM visits_visit WHERE slug = 'cern-tweetup'")
    now = datetime.now(zone)
    opens, closes = (
        admin_time(now - timedelta(hours=1), zone),
        admin_time(now + timedelta(hours=1), zone),
    )
    answer = post_form(
        organizer,
        "/admin/contests/contest/add/",
        "contest_form",
        {
            "title_en": f"Staff links {token}",
            "slug": slug,
            "hashtag_en": "StaffLinks",
            "description_en": "Who may open whose link.",
            "rules_en": "One entry per person.",
            "published": True,
            "opens_at_0": opens[0],
            "opens_at_1": opens[1],
            "closes_at_0": closes[0],
            "closes_at_1": closes[1],
            "winners_count": "2",
            "alternates_count": "1",
            "visit": str(visit_id),
        },
        submitter="_save",
    )
    assert answer.status == 302, answer.text[:2000]
    [(contest_id,)] = stack.query("SELECT id FROM contests_contest WHERE slug = %s", (slug,))

    path = f"/contests/{slug}/"
    drawn = [Person.unique(name) for name in ("Wren Winner", "Ward Winner", "Alma Alternate")]
    for person in drawn:
        assert HttpVisitor(stack.base_url).enter(path, person).location == f"{path}thanks/"
    # Someone who enters the open demo contest and has not confirmed yet (this
    # contest closes before the draw, and with it its unconfirmed entries' links).
    unconfirmed = Person.unique("Ulla Unconfirmed")
    enter(stack, unconfirmed)
    confirmations = {
        person.email: stack.mail.wait_for(person.email, "Confirm your entry")
        for person in [*drawn, unconfirmed]
    }
    for person in drawn:
        link = the_link(confirmations[person.email], "/contests/confirm/")
        answer = post_form(
            HttpVisitor(stack.base_url), link.removeprefix(stack.base_url), "confirm-form"
        )
        assert answer.status == 200, answer.text[:500]

    # The organizer closes the contest once the last confirmation is a second old
    # (the admin keeps whole seconds), freezes it and draws.
    [(last,)] = stack.query(
        "SELECT max(confirmed_at) FROM contests_entry WHERE contest_id = %s", (contest_id,)
    )
    wait_until(
        lambda: datetime.now(zone) > last + timedelta(seconds=1.1),
        timeout=10,
        what="the last confirmation to be a second old",
    )
    closing = admin_time(datetime.now(zone), zone)
    change = f"/admin/contests/contest/{contest_id}/change/"
    answer = post_form(
        organizer,
        change,
        "contest_form",
        {"closes_at_0": closing[0], "closes_at_1": closing[1]},
        submitter="_save",
    )
    assert answer.status == 302, answer.text[:2000]
    answer = post_form(organizer, f"{path}freeze/", "freeze-form", {"confirm": True}, "freeze")
    assert answer.status == 302, answer.text[:2000]
    job_finished(organizer, answer.location)
    answer = post_form(organizer, f"{path}draw/", "draw-form", {}, "draw")
    assert answer.status == 302, answer.text[:2000]
    job_finished(organizer, answer.location)

    winners = [
        email
        for (email,) in stack.query(
            "SELECT e.email FROM contests_selection s JOIN contests_entry e ON e.id = s.entry_id "
            "JOIN contests_draw d ON d.id = s.draw_id "
            "WHERE d.contest_id = %s AND s.status = 'pending' ORDER BY s.position",
            (contest_id,),
        )
    ]
    assert len(winners) == 2, winners
    accepting, pending = (stack.mail.wait_for(email, "You were drawn") for email in winners)
    accept = the_link(accepting, r"/accept/$").removeprefix(stack.base_url)
    answer = post_form(
        HttpVisitor(stack.base_url), accept, "accept-form", {"can_attend": True}, "accept"
    )
    assert answer.status == 302, answer.text[:2000]
    welcome = stack.mail.wait_for(winners[0], "Your place is confirmed")
    worker.wait_idle()
    return MailedLinks(
        accept=the_link(pending, r"/accept/$"),
        decline=the_link(pending, r"/decline/$"),
        profile=the_link(welcome, r"/visits/profile/[^/]+/$"),
        confirm=the_link(confirmations[unconfirmed.email], "/contests/confirm/"),
    )


# Tables every request or beat may write without any staff action: sessions, beat's heartbeat.
UNWATCHED_TABLES = {"django_session", "tweetup_heartbeat"}


def database_state(stack) -> dict[str, tuple]:
    """Each table's row count and a digest of its rows."""
    tables = [
        name
        for (name,) in stack.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        if name not in UNWATCHED_TABLES
    ]
    digest = sql.SQL(
        "SELECT {name}, count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        "FROM {table} t"
    )
    union = sql.SQL(" UNION ALL ").join(
        digest.format(name=sql.Literal(name), table=sql.Identifier(name)) for name in tables
    )
    return {name: (count, digest) for name, count, digest in stack.query(union)}


# What the addressee's page posts through each link, and the button pressed.
LINK_FORMS = {
    "accept": ("accept-form", {"can_attend": True}, "accept"),
    "decline": ("decline-form", {}, "decline"),
    "profile": ("profile-form", {"emergency_contact_name": "Mallory Staff"}, "submit"),
    "confirm": ("confirm-form", {}, None),
}


@pytest.fixture(scope="module")
def mailed_links(stack, worker) -> MailedLinks:
    return contest_with_offers(stack, worker)


@pytest.mark.parametrize("username", ["organizer", "touradmin"])
def test_staff_opening_a_signed_link_from_real_mail_are_refused_and_nothing_changes(
    stack, worker, staff_page, mailed_links, username
):
    """Offer accept and decline, a visitor's profile, an entry's confirmation: 403, no change.

    Each link is opened in the staff member's browser, and its addressee's
    form posted through it as that page would, in the staff session.
    """
    mailed = mailed_links
    page = staff_page(username)
    # The staff session's CSRF token, from the admin's own logout form.
    page.goto("/admin/")
    csrf = page.locator("#logout-form [name=csrfmiddlewaretoken]").get_attribute("value")
    for kind, (form_id, filled, submitter) in LINK_FORMS.items():
        url = getattr(mailed, kind)
        # What the addressee's own page posts (opening it changes nothing).
        addressee_page = HttpVisitor(stack.base_url).get(url.removeprefix(stack.base_url))
        fields = dict(
            BrowserForm.parse(addressee_page.text, form_id).data(filled, submitter=submitter)
        )
        fields["csrfmiddlewaretoken"] = csrf
        worker.wait_idle()
        before = database_state(stack)

        opened = page.goto(url)
        assert opened.status == 403, (kind, opened.status)
        expect(page.locator("main")).to_contain_text(STAFF_REFUSAL)
        posted = page.request.post(
            url, form=fields, headers={"Origin": stack.base_url, "Referer": url}
        )
        assert posted.status == 403, (kind, posted.status, posted.text()[:500])
        assert STAFF_REFUSAL in posted.text()

        worker.wait_idle()
        after = database_state(stack)
        changed = {
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        }
        assert not changed, f"{username} opening the {kind} link changed {sorted(changed)}"
