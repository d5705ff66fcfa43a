"""``{% appeal_url case %}``: the seller's signed link, for the e-mails that carry it."""

from django import template

from appeals.links import appeal_url as _appeal_url

register = template.Library()


@register.simple_tag
def appeal_url(case) -> str:
    return _appeal_url(case)
