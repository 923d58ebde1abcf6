"""A NUL character in a query string is refused with a 400 page, never a 500."""

import pytest
from django.contrib.auth.models import User

from tests.contests.drawing import organizer
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db

URLS = [
    "/admin/contests/entry/?country=%00",
    "/admin/contests/entry/?q=%00",
    "/admin/contests/entry/?speaks=%00",
    "/admin/notifications/outboxmessage/?kind=%00",
    "/contests/?page=%00",
    "/?%00=1",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("who", ["organizer", "superuser", "anonymous"])
def test_a_nul_character_in_the_query_string_answers_400(client, url, who):
    EntryFactory()
    if who == "organizer":
        client.force_login(organizer())
    elif who == "superuser":
        client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    response = client.get(url)
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_the_same_filter_without_nul_still_works(client):
    EntryFactory(country="FR")
    client.force_login(organizer())
    assert client.get("/admin/contests/entry/?country=FR").status_code == 200


def test_the_400_page_is_sent_with_the_site_policy(client):
    response = client.get("/contests/?page=%00")
    assert response.status_code == 400
    assert "script-src" in response["Content-Security-Policy"]
