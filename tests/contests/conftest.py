import pytest

from tests.contests.drawing import organizer


@pytest.fixture
def organizer_client(client):
    """The test client, logged in as a member of the Organizers group."""
    client.force_login(organizer())
    return client
