"""A group's own line against the group's target, and the worker list under the dashboard's
industry filter (found by a review of the report pages, each reproduced first)."""

import datetime

from django.urls import reverse

from access.actors import SYSTEM
from placement.services import target_set

D = datetime.date


def test_a_groups_own_line_is_not_measured_against_the_whole_groups_target(
    client_as, make_enterprise, make_worker, place
):
    group = make_enterprise(name="测试集团")
    mine = make_enterprise(name="测试矿甲", parent=group)
    target_set(year=2016, enterprise=group, workers=10, actor=SYSTEM)
    for _ in range(8):
        place(make_worker(enterprise=mine), D(2016, 6, 1))
    place(make_worker(enterprise=group), D(2016, 6, 1))  # one worker of the head office
    make_worker(enterprise=group)  # and one still waiting

    client = client_as("county")
    page = client.get(reverse("reports:enterprise", args=[group.pk]) + "?year=2016")
    totals = page.context["report"].totals
    assert (totals.placed_in_year, totals.target, str(totals.target_completion)) == (9, 10, "90.0")
    own = next(c["figures"] for c in page.context["children"] if c["figures"].key == str(group.pk))
    # The head office's line counts its own 1 placement: the group's task of 10 is not its own.
    assert own.placed_in_year == 1
    assert own.target is None, (own.target, own.target_completion)


def test_the_worker_list_follows_the_dashboards_industry_filter(client_as, enterprise, make_worker):
    make_worker()  # a coal enterprise's worker
    client = client_as("hr")
    page = client.get(reverse("reports:enterprise", args=[enterprise.pk]) + "?industry=steel")
    assert page.context["totals"].to_place == 0
    listing = client.get(page.context["workers_url"])
    assert "industry=steel" in page.context["workers_url"]
    # The list the dashboard links to lists the worker the dashboard's figures left out.
    assert listing.context["page"].paginator.count == 0, listing.context["page"].paginator.count
