"""The tests' PostgreSQL backend (tests/postgresql): a flush that keeps what Django rebuilds."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from tests.factories import ContestFactory


@pytest.mark.django_db(transaction=True)
def test_the_flush_after_a_transactional_test_empties_the_rows_and_keeps_the_content_types():
    if connection.vendor != "postgresql":
        pytest.skip("the tests' own backend is for PostgreSQL")
    assert connection.settings_dict["ENGINE"] == "tests.postgresql"
    contest = ContestFactory()
    User.objects.create(username="someone")
    Group.objects.create(name="A group of the test")
    content_types = set(ContentType.objects.values_list("pk", "app_label", "model"))
    permissions = set(Permission.objects.values_list("pk", "codename"))

    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    assert not User.objects.exists()
    assert not Group.objects.filter(name="A group of the test").exists()
    assert not type(contest).objects.exists()
    # Kept as they were, ids included, as post_migrate would write them back.
    assert set(ContentType.objects.values_list("pk", "app_label", "model")) == content_types
    assert set(Permission.objects.values_list("pk", "codename")) == permissions
    assert ("visitors", "siteaccess") in {(ct[1], ct[2]) for ct in content_types}
