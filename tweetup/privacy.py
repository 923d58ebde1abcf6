"""The privacy purge, app by app: what the beat task and ``purge_personal_data`` run.

Each app forgets its own rows; this coordinator only calls them, in order,
in one transaction.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from contests.services.privacy import (
    entries_forgotten,
    entries_personal_data_remove,
    entry_retention_days,
)
from notifications.services.outbox import outbox_personal_data_remove
from tweetup.jobs import job_files_remove
from visitors.services.privacy import (
    visitor_retention_days,
    visitors_forgotten,
    visitors_private_data_remove,
)
from visitors.services.site_access import site_access_remove, site_access_retention_days


def personal_data_remove(
    *,
    now: datetime | None = None,
    entry_days: int | None = None,
    visitor_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    site_access_days: int | None = None,
) -> dict[str, int]:
    """The purges and the outbox rows they concern, in one transaction.

    The visitors' site-access details first (``site_access_remove``,
    ``site_access_days`` after the visit, default SITE_ACCESS_RETENTION_DAYS),
    then the entries (``entries_personal_data_remove``), then the visitors
    (``visitors_private_data_remove``), which also clears the profiles whose
    entries the first forgot, then the mail about everyone forgotten
    (``outbox_personal_data_remove``), and the export files older than
    PRIVACY_EXPORT_RETENTION_DAYS (``tweetup.jobs.job_files_remove``).
    ``entry_days`` and ``visitor_days`` default to the settings
    PRIVACY_ENTRY_RETENTION_DAYS and PRIVACY_VISITOR_RETENTION_DAYS. Returns
    how many site-access details, entries, visitor profiles, mails and export
    files were cleared; ``progress(done, 3)`` is called after each of the
    three steps. Raises the app's ApplicationError when a delay is negative,
    before anything is removed.
    """
    now = now or timezone.now()
    entry_days = entry_retention_days(entry_days)
    visitor_days = visitor_retention_days(visitor_days)
    site_access_days = site_access_retention_days(site_access_days)
    with transaction.atomic():
        site_access = site_access_remove(now=now, days=site_access_days)
        entries = entries_personal_data_remove(now=now, days=entry_days)
        if progress is not None:
            progress(1, 3)
        visitors = visitors_private_data_remove(now=now, days=visitor_days)
        if progress is not None:
            progress(2, 3)
        mails = outbox_personal_data_remove(forgotten=[entries_forgotten(), visitors_forgotten()])
        exports = job_files_remove(now=now)
        if progress is not None:
            progress(3, 3)
    return {
        "site_access": site_access,
        "entries": entries,
        "visitors": visitors,
        "mails": mails,
        "exports": exports,
    }
