"""Background jobs: a press starts one and shows its page; progress, outcome, files, crashes."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation

from contests.models import Contest, Draw
from contests.services.draws import contest_freeze
from notifications.models import OutboxMessage
from tests.contests.drawing import add_entries, closed_contest, frozen_contest, organizer
from tests.factories import VisitFactory, staff_user
from tests.support import celery_publishing_to, postgres_test_database_url, wait_until
from tweetup import jobs
from tweetup.models import AuditEntry, Job
from tweetup.publish import task_after_commit
from tweetup.roles import TOUR_ADMINS


@pytest.fixture(autouse=True)
def exports_root(tmp_path, settings, monkeypatch):
    """Exports go to a folder of the test's own; a worker it starts writes there too."""
    root = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    monkeypatch.setenv("EXPORTS_ROOT", str(root))
    return root


def press(client, name: str, contest: Contest, data=None, *, run: bool = True):
    url = reverse(f"contests:{name}", kwargs={"slug": contest.slug})
    if not run:
        return client.post(url, data or {})
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data or {})


# Pressing, pressing again ------------------------------------------------------


@pytest.mark.django_db
def test_an_export_press_starts_a_job_on_the_record_and_returns_to_its_page(client):
    contest = closed_contest()
    user = organizer()
    client.force_login(user)
    response = press(client, "export_entries", contest, run=False)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.state, job.contest, job.requested_by) == (
        Job.Kind.EXPORT_ENTRIES,
        Job.State.QUEUED,
        contest,
        user,
    )
    logged = AuditEntry.objects.get(verb=AuditEntry.Verb.JOB_START)
    assert (logged.actor, logged.contest_id) == (user, contest.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and 'src="/static/js/job.js"' in page
    # Without scripts, the page refreshes itself while the job is under way.
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page


@pytest.mark.django_db
def test_a_second_press_shows_the_same_job_until_it_ended(client):
    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    first = press(client, "export_selections", contest, run=False)
    second = press(client, "export_selections", contest, run=False)
    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 1
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.JOB_START).count() == 1
    # Once the job ended, a new press makes a new export.
    Job.objects.update(state=Job.State.DONE)
    third = press(client, "export_selections", contest, run=False)
    assert third["Location"] != first["Location"]
    assert Job.objects.count() == 2


@pytest.mark.django_db
def test_the_database_allows_one_active_job_per_kind_and_target():
    from django.db import IntegrityError, transaction

    contest = closed_contest()
    now = timezone.now()
    Job.objects.create(kind=Job.Kind.FREEZE, task="t", contest=contest, requested_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(kind=Job.Kind.FREEZE, task="t", contest=contest, requested_at=now)
    Job.objects.create(kind=Job.Kind.PURGE, task="t", requested_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(kind=Job.Kind.PURGE, task="t", requested_at=now)


# The job's page ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_page_names_the_time_zone_of_its_request_time(client, settings):
    settings.TIME_ZONE = "Europe/Zurich"
    contest = closed_contest()
    client.force_login(organizer())
    job = Job.objects.create(
        kind=Job.Kind.EXPORT_ENTRIES,
        task="contests.tasks.run_export_job",
        contest=contest,
        requested_at=datetime(2027, 1, 13, 13, 30, tzinfo=UTC),
    )
    page = client.get(job.get_absolute_url(), headers={"accept-language": "fr"}).content.decode()
    assert "le mercredi 13 janvier 2027, 14:30 (Europe/Zurich)." in page


@pytest.mark.django_db
def test_the_job_page_shows_rows_done_of_rows_and_the_time_left(client):
    contest = closed_contest()
    client.force_login(organizer())
    job = Job.objects.create(
        kind=Job.Kind.EXPORT_ENTRIES,
        task="contests.tasks.run_export_job",
        contest=contest,
        requested_at=timezone.now(),
        state=Job.State.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
        rows_done=250_000,
        rows_total=1_000_000,
    )
    page = client.get(job.get_absolute_url()).content.decode()
    assert '<progress id="job-progress" class="w-100" max="1000000" value="250000">' in page
    assert "250,000 of 1,000,000 rows" in page
    # 10 s for a quarter: 30 s left, and a second more if the request came late.
    assert re.search(r"Time left: about 0 min 3[01] s", page)
    status = client.get(reverse("job_status", kwargs={"pk": job.pk})).json()
    assert status["state"] == "running"
    assert (status["rows_done"], status["rows_total"], status["percent"]) == (250_000, 10**6, 25)
    assert status["seconds_left"] in (30, 31) and status["download_url"] is None


@pytest.mark.django_db
def test_a_failed_job_says_so_and_why(client):
    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    response = press(client, "freeze", contest, {"confirm": "on"}, run=False)
    # Frozen by other means before the job ran: the job cannot freeze it again.
    contest_freeze(contest=contest, actor=None)
    job = Job.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        task_after_commit(job.task, job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.finished_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "This job failed." in page and "This contest is already frozen." in page
    assert "alert-danger" in page and "job.js" not in page
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.CONTEST_FREEZE).count() == 1


def run_in_the_worker_language(job: Job) -> Job:
    """Run the job's task as a worker does: in the site's default language, English."""
    with translation.override("en"), TestCase.captureOnCommitCallbacks(execute=True):
        task_after_commit(job.task, job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_jobs_outcome_reads_in_each_readers_language_whoever_asked(client):
    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    url = reverse("contests:freeze", kwargs={"slug": contest.slug})
    response = client.post(url, {"confirm": "on"}, headers={"accept-language": "fr"})
    job = run_in_the_worker_language(Job.objects.get())
    assert (job.language, job.state) == ("fr", Job.State.DONE)
    assert job.outcome_fr.startswith("Le concours est figé : 3 tickets participent au tirage")
    assert job.outcome_en.startswith("The contest is frozen: 3 tickets are in the draw")
    for language, said, not_said in (
        ("fr", "Le concours est figé", "The contest is frozen"),
        ("en", "The contest is frozen", "Le concours est figé"),
    ):
        page = client.get(response["Location"], headers={"accept-language": language})
        assert said in page.content.decode() and not_said not in page.content.decode()
        status = client.get(
            reverse("job_status", kwargs={"pk": job.pk}), headers={"accept-language": language}
        ).json()
        assert status["outcome"] == getattr(job, f"outcome_{language}")


@pytest.mark.django_db
def test_a_job_asked_from_a_french_page_says_in_french_why_it_failed(client):
    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    url = reverse("contests:freeze", kwargs={"slug": contest.slug})
    client.post(url, {"confirm": "on"}, headers={"accept-language": "fr"})
    contest_freeze(contest=contest, actor=None)
    job = run_in_the_worker_language(Job.objects.get())
    assert (job.state, job.outcome_fr) == (Job.State.FAILED, "Ce concours est déjà figé.")
    # The refusal was worded once, for whoever asked: other readers read it too.
    with translation.override("en"):
        assert job.outcome == "Ce concours est déjà figé."


@pytest.mark.django_db
def test_a_french_worker_changes_nothing_in_the_outcome(client):
    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    url = reverse("contests:freeze", kwargs={"slug": contest.slug})
    client.post(url, {"confirm": "on"}, headers={"accept-language": "en"})
    # A French worker (or a French request before it on the same thread) changes nothing.
    with translation.override("fr"), TestCase.captureOnCommitCallbacks(execute=True):
        task_after_commit(Job.objects.get().task, Job.objects.get().pk)
    job = Job.objects.get()
    assert job.language == "en"
    assert job.outcome_en.startswith("The contest is frozen: 3 tickets are in the draw")
    assert job.outcome_fr.startswith("Le concours est figé : 3 tickets participent au tirage")


@pytest.mark.django_db
def test_only_staff_who_may_see_the_contest_see_its_jobs(client):
    contest = closed_contest()
    job = Job.objects.create(
        kind=Job.Kind.FREEZE, task="t", contest=contest, requested_at=timezone.now()
    )
    urls = [
        reverse("job", kwargs={"pk": job.pk}),
        reverse("job_status", kwargs={"pk": job.pk}),
        reverse("job_download", kwargs={"pk": job.pk}),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(staff_user("guide", TOUR_ADMINS))
    for url in urls:
        assert client.get(url).status_code == 403, url
    # The purge's job is for superusers only.
    purge = Job.objects.create(kind=Job.Kind.PURGE, task="t", requested_at=timezone.now())
    client.force_login(organizer())
    assert client.get(reverse("job", kwargs={"pk": purge.pk})).status_code == 403
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    assert client.get(reverse("job", kwargs={"pk": purge.pk})).status_code == 200


# Exports -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_export_is_one_complete_file_downloaded_by_permitted_staff_only(client, exports_root):
    contest = closed_contest()
    # Over two pages of the keyset paging (5,000 rows each), and one row more.
    add_entries(contest, 10_001)
    add_entries(closed_contest(), 3)
    user = organizer()
    client.force_login(user)
    response = press(client, "export_entries", contest)
    job = Job.objects.get()
    assert job.state == Job.State.DONE, job.outcome
    assert (job.rows_done, job.rows_total) == (10_001, 10_001)
    page = client.get(response["Location"]).content.decode()
    assert "The export is ready: 10,001 rows." in page
    download = reverse("job_download", kwargs={"pk": job.pk})
    assert f'href="{download}"' in page
    # Only the complete file is in the folder: no part left beside it.
    files = [path for path in exports_root.rglob("*") if path.is_file()]
    assert [path.name for path in files] == [f"{contest.slug}-entries.csv"]

    got = client.get(download)
    assert got.status_code == 200
    assert got["Content-Disposition"] == f'attachment; filename="{contest.slug}-entries.csv"'
    text = b"".join(got.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert len(lines) == 10_001 + 1
    tickets = [line.split(",", 1)[0] for line in lines[1:]]
    assert len(set(tickets)) == 10_001

    # The dashboard lists the job and its file too.
    dashboard = reverse("contests:dashboard", kwargs={"slug": contest.slug})
    assert f'href="{download}"' in client.get(dashboard).content.decode()

    client.force_login(staff_user("guide", TOUR_ADMINS))
    assert client.get(download).status_code == 403
    client.logout()
    assert client.get(download).status_code == 302


@pytest.mark.django_db
def test_the_purge_deletes_export_files_past_their_time(client, exports_root):
    from tweetup.privacy import personal_data_remove

    contest = closed_contest()
    add_entries(contest, 3)
    client.force_login(organizer())
    press(client, "export_entries", contest)
    job = Job.objects.get()
    download = reverse("job_download", kwargs={"pk": job.pk})
    got = client.get(download)
    assert got.status_code == 200
    assert b"".join(got.streaming_content).count(b"\n") == 4
    assert personal_data_remove()["exports"] == 0
    Job.objects.update(finished_at=timezone.now() - timedelta(days=8))
    assert personal_data_remove()["exports"] == 1
    assert not [path for path in exports_root.rglob("*") if path.is_file()]
    assert client.get(download).status_code == 404
    assert "The export is ready: 3 rows." in client.get(job.get_absolute_url()).content.decode()


# A worker killed in the middle of a job ------------------------------------------


@pytest.mark.parametrize("kind", ["freeze", "draw"])
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_finishes_once_on_a_new_worker(
    client, kind, machine_redis_url, celery_worker_factory, smtp_server
):
    """SIGKILL the worker while the job runs; the sweep hands it to a new worker.

    The job is held in its transaction by a lock the test takes on the
    contest's row, so the kill comes surely in the middle: nothing of it is
    committed, the new worker does it once, and each offer mail comes once.
    """
    visit = VisitFactory()
    if kind == "freeze":
        contest = closed_contest(visit=visit)
        add_entries(contest, 40)
        data = {"confirm": "on"}
    else:
        contest = frozen_contest(40, visit=visit, winners_count=3, alternates_count=2)
        data = {"external_entropy": "round 1"}
    client.force_login(organizer())
    queue = f"jobs-{uuid.uuid4().hex[:12]}"
    with celery_publishing_to(machine_redis_url, queue):
        first = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
        with psycopg.connect(postgres_test_database_url()) as lock:
            # Not FOR UPDATE: the job's row refers to the contest (FOR KEY SHARE).
            lock.execute(
                "SELECT id FROM contests_contest WHERE id = %s FOR NO KEY UPDATE", [contest.pk]
            )
            response = client.post(reverse(f"contests:{kind}", kwargs={"slug": contest.slug}), data)
            assert response.status_code == 302
            job = Job.objects.get()
            wait_until(
                lambda: Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).exists(),
                timeout=30,
                what="the worker to take the job",
            )
            first.process.kill()
            first.process.wait(timeout=10)
            lock.rollback()
        second = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
        # Nothing of the killed run was kept; the job still says it runs.
        contest.refresh_from_db()
        assert contest.frozen_at is not None if kind == "draw" else contest.frozen_at is None
        assert not Draw.objects.exists()
        assert Job.objects.get().state == Job.State.RUNNING
        # Its heartbeat stopped with the worker: once it is stale, the sweep queues it again.
        Job.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert jobs.jobs_resume() == 1
        wait_until(
            lambda: Job.objects.filter(pk=job.pk, state=Job.State.DONE).exists(),
            timeout=60,
            what="the job to finish on the new worker",
        )
        job.refresh_from_db()
        assert job.attempts == 2
        # The winners' offers and the alternates' mails telling them their rank.
        chosen = contest.winners_count + contest.alternates_count
        if kind == "draw":
            smtp_server.sink.wait_for(chosen, timeout=60)
        # Swept again, or its task delivered again: the job is done and stays done once.
        task_after_commit(job.task, job.pk)
        second.wait_idle(timeout=60)
    contest.refresh_from_db()
    assert contest.frozen_at is not None and contest.tickets_count == 40
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.CONTEST_FREEZE).count() == 1
    if kind == "draw":
        assert Draw.objects.count() == 1
        assert AuditEntry.objects.filter(verb=AuditEntry.Verb.DRAW).count() == 1
        assert OutboxMessage.objects.filter(contest=contest).count() == chosen
        recipients = sorted(m["To"] for m in smtp_server.sink.messages)
        assert len(recipients) == len(set(recipients)) == chosen
    assert Job.objects.get().state == Job.State.DONE


@pytest.mark.django_db(transaction=True)
def test_an_export_whose_worker_was_killed_is_written_whole_once_on_a_new_worker(
    client, exports_root, machine_redis_url, celery_worker_factory
):
    """SIGKILL the worker in the middle of an export: the file comes whole, once, from the next."""
    contest = closed_contest()
    add_entries(contest, 40)
    client.force_login(organizer())
    queue = f"jobs-{uuid.uuid4().hex[:12]}"
    with celery_publishing_to(machine_redis_url, queue):
        first = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
        with psycopg.connect(postgres_test_database_url()) as lock:
            # The export's reads wait behind this lock: the kill comes in the middle.
            lock.execute("LOCK TABLE contests_entry IN ACCESS EXCLUSIVE MODE")
            press(client, "export_entries", contest, run=False)
            job = Job.objects.get()
            wait_until(
                lambda: Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).exists(),
                timeout=30,
                what="the worker to take the job",
            )
            first.process.kill()
            first.process.wait(timeout=10)
            lock.rollback()
        second = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
        assert not [path for path in exports_root.rglob("*.csv") if path.is_file()]
        Job.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert jobs.jobs_resume() == 1
        wait_until(
            lambda: Job.objects.filter(pk=job.pk, state=Job.State.DONE).exists(),
            timeout=60,
            what="the export to finish on the new worker",
        )
        second.wait_idle(timeout=60)
    job.refresh_from_db()
    assert (job.attempts, job.rows_done, job.rows_total) == (2, 40, 40)
    files = [path for path in exports_root.rglob("*") if path.is_file()]
    assert [path.name for path in files] == [f"{contest.slug}-entries.csv"]
    assert len(files[0].read_text(encoding="utf-8-sig").splitlines()) == 41


@pytest.mark.django_db
def test_the_admin_lists_the_jobs_read_only_with_a_link_to_each(client):
    contest = closed_contest()
    job = Job.objects.create(
        kind=Job.Kind.FREEZE, task="t", contest=contest, requested_at=timezone.now()
    )
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    listing = client.get(reverse("admin:tweetup_job_changelist")).content.decode()
    assert f'href="{job.get_absolute_url()}"' in listing
    assert client.post(reverse("admin:tweetup_job_change", args=[job.pk]), {}).status_code == 403
    assert client.get(reverse("admin:tweetup_job_add")).status_code == 403
