"""A contest's own text in English and French: its page, the fallback, the mail, the admin.

What organizers write (title, description, rules, hashtag) has a column per
language (django-modeltranslation, contests.translation); each reader reads
their language, or the other one where it was not written.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contests.models import Contest
from contests.services.audit_record import draw_audit_record
from contests.services.entries import entry_submit
from contests.services.selection_mail import draw_offers_send
from notifications.models import OutboxMessage
from tests.builders import drawn_contest
from tests.contests.drawing import organizer
from tests.factories import ContestFactory, contest_admin_post

pytestmark = pytest.mark.django_db

BILINGUAL = {
    "title_en": "UX test day",
    "title_fr": "Journée de test UX",
    "description_en": "A day behind the scenes of the lab.",
    "description_fr": "Une journée dans les coulisses du labo.",
    "rules_en": "One entry per person.",
    "rules_fr": "Une participation par personne.",
    "hashtag_en": "UXTestDay",
    "hashtag_fr": "JourneeTestUX",
}
ENGLISH = [BILINGUAL[f"{field}_en"] for field in ("title", "description", "rules", "hashtag")]
FRENCH = [BILINGUAL[f"{field}_fr"] for field in ("title", "description", "rules", "hashtag")]


def read(client, contest: Contest, language: str) -> str:
    response = client.get(contest.get_absolute_url(), headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


def test_a_french_reader_reads_the_contest_in_french_and_an_english_reader_in_english(client):
    contest = ContestFactory(**BILINGUAL)
    french = read(client, contest, "fr")
    assert all(text in french for text in FRENCH), french
    assert not any(text in french for text in ENGLISH)
    english = read(client, contest, "en")
    assert all(text in english for text in ENGLISH)
    assert not any(text in english for text in FRENCH)


def test_a_text_not_written_in_french_shows_in_english_to_french_readers(client):
    contest = ContestFactory(
        **{**BILINGUAL, "description_fr": "", "rules_fr": None, "hashtag_fr": ""}
    )
    french = read(client, contest, "fr")
    assert BILINGUAL["title_fr"] in french
    for field in ("description", "rules", "hashtag"):
        assert BILINGUAL[f"{field}_en"] in french, field


def test_a_text_written_only_in_french_shows_to_english_readers_too(client):
    contest = ContestFactory(**BILINGUAL)
    Contest.objects.filter(pk=contest.pk).update(description_en="")
    assert BILINGUAL["description_fr"] in read(client, contest, "en")


def _entrant(language: str, n: int) -> dict:
    return {
        "name": f"Camille Martin {n}",
        "email": f"camille{n}@example.org",
        "twitter_handle": f"camille{n}",
        "country": "FR",
        "languages": ["fr", "en"],
        "background": "science",
        "motivation": "Voir le centre de contrôle.",
        "language": language,
    }


def test_each_entrant_gets_the_confirmation_with_the_title_in_their_language(
    django_capture_on_commit_callbacks,
):
    contest = ContestFactory(**BILINGUAL)
    # The worker renders the bodies when it sends the mail (after the commit).
    with django_capture_on_commit_callbacks(execute=True):
        entry_submit(contest=contest, **_entrant("fr", 1))
        entry_submit(contest=contest, **_entrant("en", 2))
    rows = {row.language: row for row in OutboxMessage.objects.filter(kind="entry_confirm")}
    sent = {message.to[0]: message for message in mail.outbox}
    french, english = sent[rows["fr"].to_email], sent[rows["en"].to_email]
    french_html = french.alternatives[0].content if french.alternatives else ""
    assert BILINGUAL["title_fr"] in french.subject
    assert BILINGUAL["title_fr"] in french.body and BILINGUAL["title_fr"] in french_html
    assert BILINGUAL["title_en"] not in french.subject + french.body
    assert BILINGUAL["title_en"] in english.subject and BILINGUAL["title_en"] in english.body


def test_a_french_winners_offer_carries_the_french_title_and_the_draw_record_no_text(client):
    contest, draw = drawn_contest(
        winners=[{"language": "fr"}, {"language": "en"}], alternates=0, **BILINGUAL
    )
    draw_offers_send(draw=draw)
    rows = {row.language: row for row in OutboxMessage.objects.filter(kind="selection_offer")}
    assert BILINGUAL["title_fr"] in rows["fr"].subject
    assert BILINGUAL["title_fr"] in rows["fr"].body_text
    assert BILINGUAL["title_fr"] in rows["fr"].body_html
    assert BILINGUAL["title_en"] not in rows["fr"].subject + rows["fr"].body_text
    assert BILINGUAL["title_en"] in rows["en"].subject
    # The published audit record keeps its shape (DESIGN.md): no text of the contest's.
    record = draw_audit_record(draw=draw)
    assert set(record) == {
        "algorithm", "contest", "seed", "commitment", "external_entropy", "tickets",
        "tickets_digest", "winners_count", "alternates_count", "caps", "attributes",
        "ranking", "winners", "alternates", "drawn_at",
    }  # fmt: skip
    response = client.get(reverse("contests:draw_json", kwargs={"slug": contest.slug}))
    published = b"".join(response.streaming_content).decode()
    assert set(json.loads(published)) == set(record)
    assert not any(text in published for text in [*ENGLISH, *FRENCH])


def test_the_contest_admin_shows_each_text_in_both_languages_and_saves_through_the_service(
    client,
):
    client.force_login(organizer())
    page = client.get(reverse("admin:contests_contest_add")).content.decode()
    for field in ("title", "description", "rules", "hashtag"):
        for language in ("en", "fr"):
            assert f'name="{field}_{language}"' in page, (field, language)
        assert f'name="{field}"' not in page
    response = client.post(
        reverse("admin:contests_contest_add"),
        contest_admin_post(**BILINGUAL, slug="ux-test-day"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    contest = Contest.objects.get(slug="ux-test-day")
    assert (contest.title_en, contest.title_fr) == (BILINGUAL["title_en"], BILINGUAL["title_fr"])
    assert contest.rules_fr == BILINGUAL["rules_fr"]
    assert len(contest.commitment) == 64  # contest_save gave it its seed.


def test_the_contest_admin_asks_for_the_english_text_and_leaves_french_optional(client):
    client.force_login(organizer())
    now = timezone.localtime()
    response = client.post(
        reverse("admin:contests_contest_add"),
        {
            **{key: value for key, value in BILINGUAL.items() if key.endswith("_fr")},
            "slug": "french-only",
            "time_zone": "Europe/Zurich",
            "opens_at_0": now.date().isoformat(),
            "opens_at_1": "09:00",
            "closes_at_0": (now + timedelta(days=3)).date().isoformat(),
            "closes_at_1": "09:00",
            "winners_count": "5",
            "alternates_count": "5",
            "acceptance_hours": "72",
        },
    )
    assert response.status_code == 200
    assert not Contest.objects.filter(slug="french-only").exists()
