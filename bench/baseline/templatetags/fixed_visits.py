"""``visits_tags`` for the baseline: the home page's list of visits, fixed and empty.

The site's tag reads the visits from the database; the baseline's pages read
nothing from it (the benchmark's site has no visit either).
"""

from django import template

register = template.Library()


@register.simple_tag
def visits_for_home():
    return []
