from django import template

from visitors import selectors

register = template.Library()


@register.simple_tag
def visitors_public(visit):
    """The visitors of this visit who agreed to appear on its public pages."""
    return list(selectors.visitors_public(visit))
