"""`{{ cents|sgd }}`: an amount in cents as dollars with two decimals ("1,624.10", "-54.50")."""

from django import template

from nexuscore.billing.pdf import dollars

register = template.Library()


@register.filter
def sgd(cents) -> str:
    if cents is None or cents == "":
        return ""
    return f"{dollars(int(cents)):,.2f}"
