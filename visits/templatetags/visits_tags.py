from django import template

from visits import selectors

register = template.Library()


@register.simple_tag
def visits_for_home():
    """The visits to list on the home page."""
    return selectors.visits_for_home()
