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


def personal_data_remove(
    *,
    now: datetime | None = None,
    entry_days: int | None = None,
    visitor_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Both purges and the outbox rows they concern, in one transaction.

    The entries first (``entries_personal_data_remove``), then the visitors
    (``visitors_private_data_remove``), which also clears the profiles whose
    entries the first forgot, then the mail about everyone forgotten
    (``outbox_personal_data_remove``), and the export files older than
    PRIVACY_EXPORT_RETENTION_DAYS (``tweetup.jobs.job_files_remove``).
    ``entry_days`` and ``visitor_days`` default to the settings
    PRIVACY_ENTRY_RETENTION_DAYS and PRIVACY_VISITOR_RETENTION_DAYS. Returns
    how many entries, visitor profiles, mails and export files were cleared;
    ``progress(done, 3)`` is called after each of the three steps. Raises the
    app's ApplicationError when either delay is negative, before anything is
    removed.
    """
    now = now or timezone.now()
    entry_days = entry_retention_days(entry_days)
    visitor_days = visitor_retention_days(visitor_days)
    with transaction.atomic():
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
    return {"entries": entries, "visitors": visitors, "mails": mails, "exports": exports}
