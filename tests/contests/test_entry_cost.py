"""A lighter entry: choices built once per process, few queries per entry."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from contests.forms import EntryForm
from contests.models import Entry
from notifications.models import OutboxMessage
from notifications.services.outbox import outbox_personal_data_remove
from tests.factories import entry_form_data
from tweetup.forms import _choices_in


def test_the_entry_forms_choices_are_built_once_per_process_and_language():
    _choices_in.cache_clear()
    for language, germany in (("en", "Germany"), ("fr", "Allemagne"), ("en", "Germany")):
        with translation.override(language):
            for _form in range(3):
                form = EntryForm()
                assert (dict(form.fields["country"].choices)["DE"]) == germany
                assert 'value="ga"' in str(form["languages"])
    # Two lists (countries, languages) in two languages, whatever the number of forms.
    assert _choices_in.cache_info().misses == 4


@pytest.mark.django_db
def test_an_entry_runs_few_queries_and_leaves_its_mails_bodies_to_the_worker(
    client, contest, django_capture_on_commit_callbacks
):
    url = contest.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(url, entry_form_data(language="fr"))
    assert response.status_code == 302
    entry = Entry.objects.get(contest=contest)
    # The contest; the entry; its mail in a savepoint (SAVEPOINT, INSERT,
    # RELEASE); and the savepoint of the test's own transaction around the
    # entry's (two): 13 queries before.
    assert len(queries) <= 7, [query["sql"][:80] for query in queries.captured_queries]
    assert not any("contests/mail/entry_confirm." in t.name for t in response.templates)
    row = OutboxMessage.objects.get()
    assert (row.body_text, row.template) == ("", "contests/mail/entry_confirm")
    assert row.subject == f"Confirmez votre participation : {contest.title}"
    # The worker renders the bodies, in the entrant's language, when it sends.
    for callback in callbacks:
        callback()
    row.refresh_from_db()
    assert (row.status, row.template, row.context) == ("sent", "", None)
    (sent,) = mail.outbox
    assert sent.body == row.body_text
    assert sent.body.startswith(f"Bonjour {entry.name},")
    assert "/contests/confirm/" in sent.alternatives[0].content


@pytest.mark.django_db
def test_forgetting_an_entrant_clears_the_context_of_a_mail_left_to_the_worker(
    client, contest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(contest.get_absolute_url(), entry_form_data())
    entry = Entry.objects.get(contest=contest)
    row = OutboxMessage.objects.get()
    assert row.context["entry"]["name"] == entry.name
    assert outbox_personal_data_remove(forgotten=[Entry.objects.filter(pk=entry.pk)]) == 1
    for callback in callbacks:
        callback()  # The worker finds nobody to write to, and renders nothing.
    row.refresh_from_db()
    assert (row.to_email, row.body_text, row.context, row.status) == ("", "", None, "failed")
    assert mail.outbox == []
