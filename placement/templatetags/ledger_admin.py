"""The admin's date hierarchy with its years read by index probes (database/distinct.py).

Django's `{% date_hierarchy %}` lists the years with `SELECT DISTINCT date_trunc('year', …)`
over every row of the list: 0.2 s over 2,000,000 workers on every page view of the worker
list. A small list (DISTINCT_SCAN_ROWS) keeps Django's query. Everything else (months, days,
links) is Django's own.
"""

import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.db.models import DateField, DateTimeField

from database.distinct import distinct_years

register = template.Library()


class _YearsByProbes:
    """Mixed into the list's queryset class: `dates(field, "year")` by index probes."""

    def dates(self, field_name, kind, order="ASC"):
        if kind != "year":
            return super().dates(field_name, kind, order)
        years = distinct_years(self, field_name)
        return [datetime.date(year, 1, 1) for year in (years if order == "ASC" else years[::-1])]


# A list of at most this many rows (counted exactly by its paginator) has its years read by
# Django's one DISTINCT: a probe per year over a small filtered list (the province's 6,700
# workers still waiting among 2,000,000) is a scan each, 16-23 ms apiece for six years.
DISTINCT_SCAN_ROWS = 50_000


def ledger_date_hierarchy(cl):
    field = cl.date_hierarchy
    plain_date = "__" not in field and isinstance(cl.model._meta.get_field(field), DateField)
    if not plain_date or isinstance(cl.model._meta.get_field(field), DateTimeField):
        return date_hierarchy(cl)
    counted_exactly = not getattr(cl.paginator, "estimated", False)
    if counted_exactly and cl.result_count <= DISTINCT_SCAN_ROWS:
        return date_hierarchy(cl)
    original = cl.queryset
    queryset = original._chain()
    queryset.__class__ = type("YearsByProbes", (_YearsByProbes, type(original)), {})
    cl.queryset = queryset
    try:
        return date_hierarchy(cl)
    finally:
        cl.queryset = original


@register.tag(name="ledger_date_hierarchy")
def ledger_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=ledger_date_hierarchy,
        template_name="date_hierarchy.html",
        takes_context=False,
    )
