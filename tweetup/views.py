from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import jobs, roles
from .models import Job


def ratelimited(request, exception=None):
    return render(
        request,
        "error.html",
        {"title": _("Too many requests"), "message": _("Please wait a while and try again.")},
        status=429,
    )


def permission_denied(request, exception=None):
    """The 403 page: for a signed-in colleague, which groups may open the page, and ways on."""
    perm = getattr(exception, "perm", None)
    groups = roles.groups_with_permission(perm) if perm else []
    return render(
        request,
        "403.html",
        {"roles": [str(roles.ROLE_NAMES.get(group, group)) for group in groups]},
        status=403,
    )


def csrf_failure(request, reason=""):
    return render(
        request,
        "error.html",
        {
            "title": _("Your form expired"),
            "message": _(
                "For your security the form could not be accepted. Go back, reload the page "
                "and send it again (cookies must be enabled)."
            ),
        },
        status=403,
    )


def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's)."""
    return redirect(static("img/favicon.svg"), permanent=True)


# Background jobs -------------------------------------------------------------


def _job_for(request, pk: int) -> Job | HttpResponse:
    """The job, for staff who may see it; the login page for strangers, 403 for the others."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    job = get_object_or_404(Job.objects.select_related("contest", "visit", "requested_by"), pk=pk)
    if not jobs.job_may_see(request.user, job):
        raise PermissionDenied
    return job


def _job_status(job: Job) -> dict:
    left = jobs.job_time_left(job)
    if job.rows_total is None:
        rows = _("Counting the rows…") if job.is_active else ""
    else:
        rows = _("%(done)s of %(total)s rows") % {
            "done": intcomma(job.rows_done),
            "total": intcomma(job.rows_total),
        }
    if left is None:
        time_left = ""
    else:
        minutes, seconds = divmod(round(left.total_seconds()), 60)
        time_left = _("Time left: about %(minutes)d min %(seconds)02d s") % {
            "minutes": minutes,
            "seconds": seconds,
        }
    return {
        "rows": rows,
        "time_left": time_left,
        "state": job.state,
        "state_label": job.get_state_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "seconds_left": round(left.total_seconds()) if left is not None else None,
        "outcome": job.outcome,
        "download_url": (
            reverse("job_download", kwargs={"pk": job.pk})
            if job.state == Job.State.DONE and job.file
            else None
        ),
    }


@require_safe
def job_detail(request, pk: int):
    """A job's page: its progress bar, rows done of rows, time left, and its outcome."""
    job = _job_for(request, pk)
    if isinstance(job, HttpResponse):
        return job
    return render(
        request,
        "jobs/job.html",
        {
            "job": job,
            "status_url": reverse("job_status", kwargs={"pk": job.pk}),
            "status": _job_status(job),
        },
    )


@require_safe
def job_status(request, pk: int):
    """The job's progress as JSON, which its page polls (static/js/job.js)."""
    job = _job_for(request, pk)
    if isinstance(job, HttpResponse):
        return job
    response = JsonResponse(_job_status(job))
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def job_download(request, pk: int):
    """The file a finished job made (an export), for staff who may see the job."""
    job = _job_for(request, pk)
    if isinstance(job, HttpResponse):
        return job
    if job.state != Job.State.DONE or not job.file:
        raise Http404("This job has no file.")
    try:
        handle = storages["exports"].open(job.file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    response = FileResponse(handle, as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "no-store"
    return response


def _legal_context() -> dict:
    return {
        "controller_name": settings.PRIVACY_CONTROLLER_NAME,
        "controller_address": settings.PRIVACY_CONTROLLER_ADDRESS,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
    }


def privacy_notice(request):
    """Who holds the entrants' and visitors' data, what, why, how long, and how to withdraw."""
    return render(
        request,
        "privacy.html",
        {
            **_legal_context(),
            "entry_days": settings.PRIVACY_ENTRY_RETENTION_DAYS,
            "visitor_days": settings.PRIVACY_VISITOR_RETENTION_DAYS,
            "site_access_days": settings.SITE_ACCESS_RETENTION_DAYS,
        },
    )


def imprint(request):
    """Who publishes the site and how to reach them."""
    return render(
        request,
        "imprint.html",
        {
            **_legal_context(),
            "publisher": settings.IMPRINT_PUBLISHER,
            "address": settings.IMPRINT_ADDRESS,
            "email": settings.IMPRINT_EMAIL,
            "phone": settings.IMPRINT_PHONE,
            "responsible": settings.IMPRINT_RESPONSIBLE,
        },
    )
