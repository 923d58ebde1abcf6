from django import template

from contests import selectors

register = template.Library()


@register.simple_tag
def visit_contests(visit):
    """The published contests that lead to this visit, for its pages."""
    return selectors.contests_for_visit(visit)
