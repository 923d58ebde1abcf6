"""Contest pages and mail put their colons inside translated strings, for French typography."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tests.factories import EntryFactory

CONTEST_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "contests"
# A colon right after a translated string: French needs a space before it.
COLON_OUTSIDE = re.compile(r"{%\s*(?:translate|trans|endblocktranslate|endblocktrans)\b[^%]*%}\s*:")


def test_no_contest_template_leaves_a_colon_outside_its_translated_string():
    found = [
        f"{path.relative_to(CONTEST_TEMPLATES)}: {match.group(0)}"
        for path in sorted(CONTEST_TEMPLATES.rglob("*.*"))
        for match in COLON_OUTSIDE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found


@pytest.mark.django_db
@pytest.mark.parametrize("extension", ["txt", "html"])
def test_the_offer_mail_writes_votre_ticket_with_a_space_before_the_colon(extension):
    entry = EntryFactory(ticket="K7QX-2M4P", language="fr")
    context = {
        "entry": entry,
        "selection": {"deadline": timezone.now() + timedelta(days=3)},
        "time_zone": "Europe/Zurich",
        "accept_url": "https://example.org/accept",
        "decline_url": "https://example.org/decline",
    }
    with translation.override("fr"):
        text = render_to_string(f"contests/mail/_offer_details.{extension}", context)
    assert re.search(r"Votre ticket : (<strong>)?K7QX-2M4P", text), text
