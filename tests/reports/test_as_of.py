"""One as-of rule for every way of asking: a past year as of 31 December, the current year (and
a future one) as of today."""

import datetime
import io
import json
from io import StringIO

import openpyxl
from django.core.management import call_command
from django.urls import reverse

from placement.models import AnnualTarget
from reports.selectors import report_as_of


def test_a_past_year_is_read_as_of_its_last_day_and_the_current_year_as_of_today():
    today = datetime.date(2026, 5, 14)
    assert report_as_of(year=2017, today=today) == datetime.date(2017, 12, 31)
    assert report_as_of(year=2025, today=today) == datetime.date(2025, 12, 31)
    assert report_as_of(year=2026, today=today) == today
    assert report_as_of(year=2027, today=today) == today


def test_the_page_the_export_and_the_command_give_the_same_figures_for_a_past_year(
    client_as, province, make_worker, place
):
    # As of 2017-12-31: two workers to place, one placed (50.00%). As of today the late
    # placement and the late registration would make it three and two (66.67%).
    place(make_worker(), datetime.date(2017, 5, 1))
    place(make_worker(), datetime.date(2018, 3, 1))
    make_worker(registered_on=datetime.date(2018, 6, 1))
    AnnualTarget.objects.create(year=2017, region=province, workers=4)
    client = client_as("superuser")

    page = client.get(reverse("reports:region", args=["140000"]), {"year": 2017})
    export = client.get(
        reverse("reports:region_export", args=["140000", "children"]), {"year": 2017}
    )
    out = StringIO()
    call_command("placement_report", "--year", "2017", "--json", stdout=out)

    report = page.context["report"]
    rows = [
        [c.value for c in row]
        for row in openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows()
    ]
    command = json.loads(out.getvalue())
    expected = (2, 1, 1, 1, 4)
    assert report.as_of == datetime.date(2017, 12, 31)
    totals = report.totals
    assert (
        totals.to_place,
        totals.placed,
        totals.pending,
        totals.placed_in_year,
        totals.target,
    ) == expected
    assert "截至 2017-12-31" in rows[0][0]
    assert rows[2] == ["山西省", 2, 1, 1, 50, 1, 4, 25]
    assert command["as_of"] == "2017-12-31"
    assert (
        command["to_place"],
        command["placed"],
        command["pending"],
        command["placed_in_year"],
        command["target"],
    ) == expected
    assert (command["placement_rate"], command["target_completion"]) == ("50.00", "25.0")
