"""Background jobs: long work a staff member asks for, run by a Celery worker with progress.

The freeze, the draw, the CSV exports, the bulk notices, the messages to
visitors and the privacy purge may take minutes at a million rows: a press
starts a job (``job_start``) and returns at once to the job's page, which
shows its progress and outcome. The job's task (each app's ``tasks`` module)
calls ``job_run`` with the work to do, a service called with
``progress(done, total)``.

A job runs once. ``job_claim`` takes it in a short transaction (its row
locked): a queued job, or a running one whose heartbeat stopped (its worker
died), and nothing else, so a task delivered twice does nothing the second
time. While it runs, a thread writes its heartbeat and progress on a
connection of its own, so they show even while the work holds one long
transaction. Work marked ``atomic`` (the freeze, the draw) is committed
together with the job's outcome, and only while the job is still this
worker's: a restart after a crash starts from a clean state. The beat task
``tweetup.tasks.resume_stale_jobs`` (``jobs_resume``) queues again the jobs
whose worker died or whose task the broker lost.
"""

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .audit import Verb, log_action
from .errors import ApplicationError
from .models import Job
from .permissions import ORGANIZER_PERMISSION
from .publish import task_after_commit

logger = logging.getLogger(__name__)

Kind = Job.Kind
State = Job.State
Progress = Callable[[int, int], None]
# Job tasks run long: far past Celery's default limits, which suit the mail.
JOB_SOFT_TIME_LIMIT = 6 * 3600
JOB_TIME_LIMIT = JOB_SOFT_TIME_LIMIT + 300
# Who may see a job of each kind: the permission of the page that starts it
# (None: superusers only).
KIND_PERMISSION = {
    Kind.FREEZE: ORGANIZER_PERMISSION,
    Kind.DRAW: ORGANIZER_PERMISSION,
    Kind.EXPORT_ENTRIES: ORGANIZER_PERMISSION,
    Kind.EXPORT_SELECTIONS: ORGANIZER_PERMISSION,
    Kind.NOT_CHOSEN: ORGANIZER_PERMISSION,
    Kind.VISIT_MESSAGE: "visitors.add_visitmessage",
    Kind.PURGE: None,
}


class JobLost(Exception):
    """The job was taken over by another worker (this one was thought dead): undo the work."""


def job_may_see(user, job: Job) -> bool:
    """Whether ``user`` may see ``job``: the permission of the page that starts its kind."""
    if not (user.is_authenticated and user.is_active):
        return False
    permission = KIND_PERMISSION.get(job.kind)
    return user.is_superuser if permission is None else user.has_perm(permission)


def job_active(*, kind: str, contest=None, visit=None) -> Job | None:
    """The queued or running job of ``kind`` for the target, if any."""
    return (
        Job.objects.filter(kind=kind, contest=contest, visit=visit, state__in=Job.ACTIVE)
        .order_by("-pk")
        .first()
    )


def jobs_of(*, contest=None, visit=None, limit: int = 10) -> list[Job]:
    """The newest jobs of a contest or a visit, for its staff pages (one query)."""
    return list(
        Job.objects.filter(contest=contest, visit=visit).order_by("-requested_at", "-pk")[:limit]
    )


def job_start(
    *,
    kind: str,
    task: str,
    actor,
    contest=None,
    visit=None,
    params: dict | None = None,
    now: datetime | None = None,
) -> tuple[Job, bool]:
    """Queue a job of ``kind`` for its target (a contest, a visit, or none), once.

    Returns ``(job, created)``: a job of the same kind for the same target
    already queued or running is returned as it is (a second press, or ten at
    once: the database allows one). A new job is on the record (who asked)
    and its Celery task ``task`` is queued with its primary key once the
    transaction commits; should the broker refuse it, ``jobs_resume`` queues
    it later. The job keeps the active language (the one of the page it was
    asked from), in which its outcome is written.
    """
    now = now or timezone.now()
    with transaction.atomic():
        existing = job_active(kind=kind, contest=contest, visit=visit)
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=kind,
                    task=task,
                    contest=contest,
                    visit=visit,
                    params=params or {},
                    requested_by=actor if actor is not None and actor.is_authenticated else None,
                    requested_at=now,
                    language=translation.get_language() or "",
                )
        except IntegrityError:
            # Another press made it between the look and the insert.
            existing = job_active(kind=kind, contest=contest, visit=visit)
            if existing is None:
                raise
            return existing, False
        log_action(
            actor=actor,
            action=Verb.JOB_START,
            target=job,
            contest=contest,
            visit=visit,
            data={"kind": kind, "job": job.pk},
            at=now,
        )
        task_after_commit(task, job.pk)
    logger.info("Job %s (%s) queued by %s.", job.pk, kind, actor)
    return job, True


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.JOB_STALE_SECONDS)


def job_claim(*, job_id: int, now: datetime | None = None) -> Job | None:
    """Take the job to run it; None when there is nothing to run.

    A queued job is taken; so is a running one whose heartbeat is older
    than JOB_STALE_SECONDS (its worker died), which starts again from the
    beginning. A job running elsewhere, done or failed is left alone, so a
    task delivered twice runs the job once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in Job.ACTIVE:
            return None
        if (
            job.state == State.RUNNING
            and job.heartbeat_at
            and job.heartbeat_at >= _stale_before(now)
        ):
            return None
        if job.state == State.RUNNING:
            logger.warning("Job %s lost its worker: starting it again.", job.pk)
        job.state = State.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.rows_done = 0
        changed = ["state", "attempts", "started_at", "heartbeat_at", "rows_done"]
        for field in _outcome_fields():
            setattr(job, field, "")
            changed.append(field)
        job.save(update_fields=changed)
    return job


class _Heartbeat(threading.Thread):
    """Write the job's heartbeat and progress every few seconds, on a connection of its own.

    The work may hold one long transaction; what is written on the worker's
    own connection would show only at its end.
    """

    def __init__(self, job: Job) -> None:
        super().__init__(name=f"job-{job.pk}-heartbeat", daemon=True)
        self.job_id, self.attempt = job.pk, job.attempts
        self.done, self.total = 0, None
        self.interval = settings.JOB_HEARTBEAT_SECONDS
        self._stopped = threading.Event()

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.interval):
                try:
                    Job.objects.filter(
                        pk=self.job_id, attempts=self.attempt, state=State.RUNNING
                    ).update(
                        rows_done=self.done, rows_total=self.total, heartbeat_at=timezone.now()
                    )
                except Exception:  # noqa: BLE001 - the database may come back; keep beating
                    logger.warning("Job %s: heartbeat not written.", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)


# What a job's work returns: its outcome, or a function that words it in the
# active language, which the job then keeps in every language of the site.
Outcome = str | Callable[[], str]


def _outcome_fields() -> list[str]:
    return [f"outcome_{code}" for code, _name in settings.LANGUAGES]


def _worded(job: Job, outcome: Outcome) -> dict[str, str]:
    """The outcome in each language the job can give it in; the others fall back to it."""
    if not callable(outcome):
        asked_in = job.language or settings.LANGUAGE_CODE
        return {
            field: outcome if field == f"outcome_{asked_in}" else "" for field in _outcome_fields()
        }
    worded = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            worded[f"outcome_{code}"] = str(outcome())
    return worded


def _finish(job: Job, beat: _Heartbeat, *, state: str, outcome: Outcome) -> bool:
    """Record the outcome, if the job is still this run's; False when another took it over."""
    done = beat.done if beat.total is None or state == State.FAILED else beat.total
    return bool(
        Job.objects.filter(pk=job.pk, attempts=job.attempts, state=State.RUNNING).update(
            state=state,
            **_worded(job, outcome),
            rows_done=done,
            rows_total=beat.total,
            file=job.file.name or "",
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    )


def job_run(
    *, job_id: int, work: Callable[[Job, Progress], Outcome], atomic: bool = False
) -> Job | None:
    """Run the job's ``work(job, progress)`` once, and record its outcome.

    ``work`` returns the outcome to show, best as a function that words it:
    it is then kept in every language of the site, and each reader of the
    job's page reads it in theirs. An ApplicationError it raises fails the
    job with its message, any other error with a general one (and is
    logged). It runs in the job's language, so that a refusal reads in the
    language it was asked in (and in the other one through the fallback).
    With ``atomic``, the work and the outcome are committed together, and
    rolled back if the job was meanwhile started again elsewhere. Returns the
    job as it ended, or None when there was nothing to run.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        return None
    # The worker's own language is the site's default, not the asker's.
    with translation.override(job.language or settings.LANGUAGE_CODE):
        return _run_claimed(job, work, atomic=atomic)


def _run_claimed(job: Job, work: Callable[[Job, Progress], Outcome], *, atomic: bool) -> Job | None:
    beat = _Heartbeat(job)
    beat.start()
    try:
        try:
            if atomic:
                with transaction.atomic():
                    outcome = work(job, beat.progress)
                    if not _finish(job, beat, state=State.DONE, outcome=outcome):
                        raise JobLost
            else:
                outcome = work(job, beat.progress)
                if not _finish(job, beat, state=State.DONE, outcome=outcome):
                    raise JobLost
        except JobLost:
            logger.warning("Job %s was started again elsewhere; this run is undone.", job.pk)
            return None
        except ApplicationError as exc:
            _finish(job, beat, state=State.FAILED, outcome=str(exc))
        except Exception:
            logger.exception("Job %s (%s) failed.", job.pk, job.kind)
            _finish(
                job,
                beat,
                state=State.FAILED,
                outcome=lambda: _(
                    "The job stopped on an error of the site; it is in the server's log."
                ),
            )
    finally:
        beat.stop()
    job.refresh_from_db()
    logger.info("Job %s (%s) %s: %s", job.pk, job.kind, job.state, job.outcome)
    return job


def job_file_write(*, job: Job, filename: str, write: Callable[[TextIO], None]) -> None:
    """Write the job's file whole or not at all, and name it on the job.

    ``write`` writes the text to the file it is given: a temporary file beside
    the final one, moved into place (an atomic rename) only once it is
    complete and on disk. The file lives in the private ``exports`` storage.
    """
    storage = storages["exports"]
    name = f"jobs/{job.pk}/{filename}"
    final = Path(storage.path(name))
    final.parent.mkdir(parents=True, exist_ok=True)
    # What a run killed in the middle left behind: the folder is this job's own,
    # and only one run of it writes at a time (job_claim).
    for stale in final.parent.glob(".*.part"):
        stale.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(
        "w",
        encoding="utf-8",
        newline="",
        dir=final.parent,
        prefix=".",
        suffix=".part",
        delete=False,
    ) as out:
        try:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    os.replace(out.name, final)
    job.file.name = name


def jobs_resume(*, now: datetime | None = None) -> int:
    """Queue again each job whose worker died, or whose task never came; returns how many.

    A running job whose heartbeat is older than JOB_STALE_SECONDS, and a
    queued one asked for longer ago than that: the task finds which to run
    (``job_claim``), so one queued twice runs once.
    """
    stale_before = _stale_before(now or timezone.now())
    jobs = list(
        Job.objects.filter(
            Q(state=State.RUNNING, heartbeat_at__lt=stale_before)
            | Q(state=State.QUEUED, requested_at__lt=stale_before)
        ).values_list("pk", "task")
    )
    for pk, task in jobs:
        logger.warning("Job %s seems stuck: queued again.", pk)
        task_after_commit(task, pk)
    return len(jobs)


def job_time_left(job: Job, *, now: datetime | None = None) -> timedelta | None:
    """How long the job may still take, from its pace so far; None when it cannot tell."""
    if job.state != State.RUNNING or not job.rows_total or not job.rows_done or not job.started_at:
        return None
    spent = ((now or timezone.now()) - job.started_at).total_seconds()
    left = spent * (job.rows_total - job.rows_done) / job.rows_done
    return timedelta(seconds=round(max(left, 0)))


def job_files_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete the files of jobs finished over ``days`` ago; returns how many.

    The exports hold the entrants' personal data: they are kept
    PRIVACY_EXPORT_RETENTION_DAYS (by default), then deleted by the privacy
    purge. The job stays, saying what it did, without its file.
    """
    days = settings.PRIVACY_EXPORT_RETENTION_DAYS if days is None else days
    before = (now or timezone.now()) - timedelta(days=days)
    storage = storages["exports"]
    removed = 0
    for job in Job.objects.filter(finished_at__lt=before).exclude(file=""):
        storage.delete(job.file.name)
        Job.objects.filter(pk=job.pk).update(file="")
        removed += 1
    return removed
