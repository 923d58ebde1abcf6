"""Questions from the public for a tour stop: sent, moderated, answered, voted for."""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action

from ..errors import VisitError
from ..models import Question, QuestionVote, TourStop, Visit


def questions_open(*, visit: Visit, now: datetime | None = None) -> bool:
    """Questions are taken until the end of the visit's day, in its time zone."""
    return (now or timezone.now()) < visit.day_end


def question_submit(
    *, stop: TourStop, text: str, author_name: str = "", now: datetime | None = None
) -> Question:
    """Record a question for a tour stop; it waits for a tour admin's approval.

    Raises VisitError when the question is empty or too long, or the visit is over.
    """
    now = now or timezone.now()
    text = " ".join((text or "").split())
    author_name = " ".join((author_name or "").split())
    if not text:
        raise VisitError(_("Write a question."))
    if len(text) > Question._meta.get_field("text").max_length:
        raise VisitError(_("Keep the question short: 280 characters at most."))
    if len(author_name) > Question._meta.get_field("author_name").max_length:
        raise VisitError(_("The name is too long: 60 characters at most."))
    if not questions_open(visit=stop.visit, now=now):
        raise VisitError(_("The visit is over: questions are closed."))
    return Question.objects.create(stop=stop, text=text, author_name=author_name, created_at=now)


_MODERATION = {
    "approve": ({Question.Status.PENDING, Question.Status.REJECTED}, Question.Status.APPROVED),
    "reject": ({Question.Status.PENDING, Question.Status.APPROVED}, Question.Status.REJECTED),
    "asked": ({Question.Status.APPROVED}, Question.Status.ASKED),
}


def question_moderate(
    *, question: Question, action: str, actor=None, now: datetime | None = None
) -> Question:
    """Approve, reject, or mark as asked a question; raises VisitError when it cannot."""
    if action not in _MODERATION:
        raise VisitError(_("Unknown action."))
    allowed, status = _MODERATION[action]
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        if question.status == status:
            return question
        if question.status not in allowed:
            raise VisitError(
                _("This question is %(status)s and cannot be changed that way.")
                % {"status": question.get_status_display().lower()}
            )
        was = question.status
        question.status = status
        question.moderated_at = now or timezone.now()
        question.moderated_by = actor if actor is not None and actor.is_authenticated else None
        question.save(update_fields=["status", "moderated_at", "moderated_by"])
        log_action(
            actor=actor,
            action=Verb.QUESTION_MODERATE,
            target=question,
            changes={"status": [was, status]},
            visit=question.stop.visit_id,
            at=question.moderated_at,
        )
    return question


def questions_moderate(*, questions: Iterable[Question], action: str, actor=None) -> int:
    """Moderate several questions; returns how many took the new status."""
    done = 0
    for question in questions:
        try:
            question_moderate(question=question, action=action, actor=actor)
        except VisitError:
            continue
        done += 1
    return done


def question_answer(
    *, question: Question, answer: str, actor=None, now: datetime | None = None
) -> Question:
    """Record the guide's answer to an approved question."""
    answer = (answer or "").strip()
    if not answer:
        raise VisitError(_("Write the guide's answer."))
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        if question.status not in Question.PUBLIC_STATUSES:
            raise VisitError(_("Only an approved question can be answered."))
        question.answer = answer
        question.status = Question.Status.ANSWERED
        question.answered_at = now or timezone.now()
        if question.moderated_by_id is None and actor is not None and actor.is_authenticated:
            question.moderated_by = actor
        question.save(update_fields=["answer", "status", "answered_at", "moderated_by"])
        log_action(
            actor=actor,
            action=Verb.QUESTION_ANSWER,
            target=question,
            data={"answer": answer},
            visit=question.stop.visit_id,
            at=question.answered_at,
        )
    return question


def question_vote(*, question: Question, voter_key: str, now: datetime | None = None) -> bool:
    """Count one up-vote of this browser for a public question.

    Returns False when this voter already voted (the database's unique
    constraint decides, under concurrency too). Raises VisitError when the
    question is not public, or the visit is over (votes close with the
    questions, at the end of the visit's day).
    """
    if question.status not in Question.PUBLIC_STATUSES:
        raise VisitError(_("Only approved questions can be voted for."))
    if not questions_open(visit=question.stop.visit, now=now):
        raise VisitError(_("The visit is over: votes are closed."))
    if not voter_key:
        raise VisitError(_("Your browser must accept cookies to vote."))
    try:
        with transaction.atomic():
            QuestionVote.objects.create(question=question, voter_key=voter_key[:64])
    except IntegrityError:
        return False
    return True
