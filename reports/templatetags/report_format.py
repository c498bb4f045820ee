"""Display formats for report figures: counts with separators, rates with "%" or "—"."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

from reports import rates

register = template.Library()


@register.filter
def count(value):
    """12345 → "12,345"; None → "—"."""
    return rates.MISSING if value is None else f"{value:,}"


@register.filter
def whole(value):
    """A computed number of workers (the elapsed share of a target) as a count: Decimal("1075.6")
    → "1,076" (half up, as the page's other roundings); None → "—"."""
    if value is None:
        return rates.MISSING
    return count(int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


@register.filter
def rate(value):
    """Decimal("99.97") → "99.97%"; None → "—"."""
    return rates.MISSING if value is None else f"{value}%"


@register.filter
def channel_name(code):
    """A channel code → its name ("内部安置")."""
    from placement.channels import Channel

    return Channel(code).label if code in Channel.values else code
