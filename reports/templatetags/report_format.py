"""Display formats for report figures: counts with separators, rates with "%" or "—"."""

from django import template

from reports import rates

register = template.Library()


@register.filter
def count(value):
    """12345 → "12,345"; None → "—"."""
    return rates.MISSING if value is None else f"{value:,}"


@register.filter
def rate(value):
    """Decimal("99.97") → "99.97%"; None → "—"."""
    return rates.MISSING if value is None else f"{value}%"


@register.filter
def channel_name(code):
    """A channel code → its name ("内部安置")."""
    from placement.channels import Channel

    return Channel(code).label if code in Channel.values else code
