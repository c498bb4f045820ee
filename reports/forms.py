"""The report filters carried in the URL (year, as-of date, industry), so a page can be shared."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise

from .selectors import report_as_of

AS_OF_AFTER_YEAR = _("截至日期不能晚于 %(year)s 年年底")
INDUSTRY_CHOICES = [("", _("全部行业")), *Enterprise.Industry.choices]


class ReportFilterForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100, required=False)
    # A text field, not type="date": the browser would show a date picker in its own locale
    # (12/31/2017 in an English browser next to a Chinese page). ISO reads the same in both.
    as_of = forms.DateField(
        label=_("截至日期"),
        required=False,
        input_formats=["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"],
        widget=forms.DateInput(format="%Y-%m-%d"),
    )
    industry = forms.ChoiceField(label=_("行业"), choices=INDUSTRY_CHOICES, required=False)

    def clean(self):
        """An as-of date after the year's end would title a report "2017年度 … 截至 2018-05-01"
        and count 2018's placements into 2017's: refused. One before the year's start stays
        (a year whose target is set in advance is read as of today, before it begins)."""
        data = super().clean()
        year, as_of = data.get("year"), data.get("as_of")
        if year and as_of and after_year(as_of, year):
            self.add_error("as_of", AS_OF_AFTER_YEAR % {"year": year})
        return data

    def resolved(self, *, default_year: int, today: datetime.date) -> dict:
        """Year, as-of date and industry with defaults (the as-of date by `report_as_of`): a
        value found wrong takes its default, the others stay as given."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        year = data.get("year") or default_year
        as_of = data.get("as_of")
        if as_of is None or after_year(as_of, year):  # the default year's end too
            as_of = report_as_of(year=year, today=today)
        return {"year": year, "as_of": as_of, "industry": data.get("industry") or None}


def after_year(day: datetime.date, year: int) -> bool:
    return day > datetime.date(year, 12, 31)
