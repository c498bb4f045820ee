"""The retirement windows on the worker's page: exact dates for users who may see the full ID
number, years only for everyone else (an exact date is the birth date plus whole months, so it
would give away the birth month and day that their view of the number hides).

The years tell nothing more than the retirement year itself: each end is the birth date plus the
old age in whole years, or the retirement date moved by whole years."""

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import retirement

NOT_APPLICABLE_BEFORE_REFORM = _("不适用（2025 年以前已达原法定退休年龄）")


def _dates(window: retirement.Window) -> str:
    return gettext("%(start)s 至 %(end)s") % {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
    }


def _years(start_year: int, end_year: int) -> str:
    return gettext("%(start)s 年至 %(end)s 年") % {"start": start_year, "end": end_year}


class RetirementWindowsMixin:
    """Read-only fields of the worker admin: the internal-retirement and flexible windows."""

    @admin.display(description=_("内部退养可选期间"))
    def internal_retirement_window(self, obj):
        retires = obj.retirement_date
        return _dates(retirement.internal_retirement_window(retires)) if retires else ""

    @admin.display(description=_("内部退养可选期间"))
    def internal_retirement_years(self, obj):
        retires = obj.retirement_date
        if not retires:
            return ""
        # The window ends the day before retirement; that day's year would tell a 1 January
        # retirement apart, so the end shown is the retirement year.
        start = retirement.internal_retirement_window_start(retires)
        return _years(start.year, retires.year)

    @admin.display(description=_("弹性退休可选期间"))
    def flexible_retirement_window(self, obj):
        if not obj.retirement_date:
            return ""
        window = obj.flexible_retirement_window
        return _dates(window) if window else NOT_APPLICABLE_BEFORE_REFORM

    @admin.display(description=_("弹性退休可选期间"))
    def flexible_retirement_years(self, obj):
        if not obj.retirement_date:
            return ""
        window = obj.flexible_retirement_window
        return (
            _years(window.start.year, window.end.year) if window else NOT_APPLICABLE_BEFORE_REFORM
        )
