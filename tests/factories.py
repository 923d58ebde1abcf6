"""factory_boy factories for the domain models."""

from datetime import timedelta

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from contests import draw_algorithm
from contests.models import Contest, Entry
from tweetup.roles import groups_ensure
from visits.models import Visit


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    slug = factory.Sequence(lambda n: f"visit-{n}")
    title = factory.Sequence(lambda n: f"Visit {n}")
    date = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=30)).date())
    time_zone = "Europe/Zurich"
    meeting_point = "Reception, Building 33"


class ContestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contest

    slug = factory.Sequence(lambda n: f"contest-{n}")
    title = factory.Sequence(lambda n: f"Contest {n}")
    description = "A day behind the scenes."
    hashtag = "TestTweetup"
    rules = "One entry per person."
    time_zone = "Europe/Zurich"
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    winners_count = 5
    alternates_count = 3
    seed = factory.LazyFunction(draw_algorithm.new_seed)


class EntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entry

    contest = factory.SubFactory(ContestFactory)
    name = factory.Sequence(lambda n: f"Entrant {n}")
    email = factory.Sequence(lambda n: f"entrant{n}@example.org")
    email_normalized = factory.LazyAttribute(lambda o: o.email.lower())
    twitter_handle = factory.Sequence(lambda n: f"entrant_{n}")
    handle_normalized = factory.LazyAttribute(lambda o: o.twitter_handle.lower())
    country = "CH"
    languages = factory.LazyFunction(lambda: ["en", "fr"])
    background = "science"
    motivation = "I would love to see the Control Centre."
    language = "en"
    rules_accepted = True
    ticket = factory.Sequence(lambda n: f"T{n:07d}")
    confirmed_at = factory.LazyFunction(timezone.now)

    class Params:
        # An entry whose ticket is in its contest's draw: confirmed before
        # the cut-off the freeze recorded (or the closing time, not frozen yet).
        in_draw = factory.Trait(
            confirmed_at=factory.LazyAttribute(
                lambda o: (o.contest.tickets_cutoff or o.contest.closes_at) - timedelta(minutes=1)
            )
        )


def entry_form_data(**overrides) -> dict:
    """What a person posts to the public entry form, valid unless overridden."""
    data = {
        "name": "Lucy McKenna",
        "email": "Lucy@Example.org",
        "twitter_handle": "@Lucy_M",
        "country": "IE",
        "languages": ["en", "ga"],
        "background": "communication",
        "motivation": "I explain physics to children every week.",
        "language": "en",
        "accept_rules": "on",
    }
    data.update(overrides)
    return data


def staff_user(username: str, group_name: str) -> User:
    """A staff user in one of the staff groups (made again if a transactional test flushed it)."""
    groups_ensure()
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def contest_admin_post(**overrides) -> dict:
    """What an organizer posts to the contest admin's add form: open tomorrow for three days."""
    now = timezone.localtime()
    data = {
        "title_en": "Banner day",
        "description_en": "A day behind the scenes.",
        "rules_en": "One entry per person.",
        "hashtag_en": "BannerDay",
        "slug": "banner-day",
        "published": "on",
        "time_zone": "Europe/Zurich",
        "opens_at_0": now.date().isoformat(),
        "opens_at_1": "09:00",
        "closes_at_0": (now + timedelta(days=3)).date().isoformat(),
        "closes_at_1": "09:00",
        "winners_count": "5",
        "alternates_count": "5",
        "acceptance_hours": "72",
    }
    data.update(overrides)
    return data
