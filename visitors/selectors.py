"""Read queries about visitors shared by several views, services and templates."""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tweetup.vocabulary import Background, language_name
from visits.models import Visit

from .models import LanguageLevel, VisitorProfile


def visitor_profiles(visit: Visit):
    """The visitors of a visit who hold their place, with their entries."""
    return (
        VisitorProfile.objects.for_visit(visit)
        .active()
        .select_related("selection__entry", "selection__draw__contest__visit", "checked_in_by")
        .order_by("display_name", "pk")
    )


def visitors_public(visit: Visit) -> QuerySet[VisitorProfile]:
    """Visitors who agreed to appear on public pages; only their public fields are read."""
    return (
        VisitorProfile.objects.for_visit(visit)
        .active()
        .filter(public_consent=True)
        .only("pk", "display_name", "handle", "bio", "languages", "background", "selection_id")
        .order_by("display_name", "pk")
    )


# The group, for organizers ---------------------------------------------------


@dataclass
class GroupSummary:
    visitors: int
    confirmed: int
    checked_in: int
    # [{"code", "name", "speakers", "levels": [(level name, count)]}], most spoken first
    languages: list[dict]
    backgrounds: list[tuple[str, int]]
    # [{"visitor", "dietary", "accessibility"}]
    needs: list[dict]
    profiles: list[VisitorProfile]


def visit_group_summary(*, visit: Visit) -> GroupSummary:
    """What the group brings and needs: languages with levels, backgrounds, needs. One query."""
    profiles = list(visitor_profiles(visit))
    level_order = list(LanguageLevel.values)
    level_names = dict(LanguageLevel.choices)
    languages: dict[str, Counter] = defaultdict(Counter)
    for profile in profiles:
        for item in profile.languages or []:
            languages[item.get("code", "")][item.get("level", "")] += 1
    language_rows = [
        {
            "code": code,
            "name": language_name(code),
            "speakers": sum(levels.values()),
            "levels": [
                (level_names[level], levels[level])
                for level in reversed(level_order)
                if levels.get(level)
            ],
        }
        for code, levels in languages.items()
        if code
    ]
    language_rows.sort(key=lambda row: (-row["speakers"], row["name"]))
    backgrounds = Counter(
        profile.background_other
        if profile.background == Background.OTHER and profile.background_other
        else (profile.get_background_display() or _("Not given"))
        for profile in profiles
    )
    needs = [
        {
            "visitor": profile,
            "dietary": profile.dietary_needs,
            "accessibility": profile.accessibility_needs,
        }
        for profile in profiles
        if profile.dietary_needs or profile.accessibility_needs
    ]
    return GroupSummary(
        visitors=len(profiles),
        confirmed=sum(1 for p in profiles if p.is_confirmed),
        checked_in=sum(1 for p in profiles if p.is_checked_in),
        languages=language_rows,
        backgrounds=backgrounds.most_common(),
        needs=needs,
        profiles=profiles,
    )
