"""The report filters carried in the URL (year, as-of date, industry), so a page can be shared."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise

from .selectors import report_as_of

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

    def resolved(self, *, default_year: int, today: datetime.date) -> dict:
        """Year, as-of date and industry with defaults (the as-of date by `report_as_of`)."""
        data = self.cleaned_data if self.is_valid() else {}
        year = data.get("year") or default_year
        as_of = data.get("as_of") or report_as_of(year=year, today=today)
        return {"year": year, "as_of": as_of, "industry": data.get("industry") or None}
