"""The demo seeder writes in bulk, skipping per-row validation: check that what it writes would
have passed every rule of the single-row path."""

import datetime
from io import StringIO

from django.core.management import call_command

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region, UserScope
from placement import idnumbers
from placement.channels import Channel
from placement.demo import DEMO_YEARS
from placement.models import AnnualTarget, Placement, Worker
from reports.selectors import Scope, placement_report


def test_seed_demo_builds_a_valid_province(db, capsys):
    call_command("seed_demo", workers=400)
    out = capsys.readouterr().out
    assert "demo-admin / " in out
    hr = UserScope.objects.get(user__username="demo-hr")
    assert hr.role == UserScope.Role.ENTERPRISE_HR and hr.enterprise.parent is not None
    assert hr.user.groups.filter(name="enterprise_hr").exists()
    assert UserScope.objects.get(user__username="demo-city").region.code == "140100"

    assert Worker.objects.count() == 400
    groups = Enterprise.objects.filter(members__isnull=False).distinct()
    assert {"山西焦煤集团有限责任公司", "大同煤矿集团有限责任公司"} <= set(
        groups.values_list("name", flat=True)
    )
    assert set(Placement.objects.values_list("channel", flat=True)) == set(Channel)
    years = set(Placement.objects.values_list("placed_on__year", flat=True))
    assert {2016, 2017} <= years

    for worker in Worker.objects.select_related("enterprise"):
        parsed = idnumbers.parse(worker.id_number)
        assert (parsed.birth_date, parsed.sex) == (worker.birth_date, worker.sex)
        worker.full_clean()
    for placement in Placement.objects.select_related("worker"):
        placement.full_clean()
    for enterprise in Enterprise.objects.all():
        enterprise.full_clean()

    city_targets = AnnualTarget.objects.filter(region__level=Region.Level.CITY)
    assert city_targets.filter(year=2016).exists() and city_targets.filter(year=2017).exists()
    assert AnnualTarget.objects.filter(region__level=Region.Level.PROVINCE).count() == 2


def test_seed_demo_if_empty_leaves_existing_data_alone(db, capsys):
    call_command("seed_demo", workers=50)
    call_command("seed_demo", workers=50, if_empty=True)
    assert Worker.objects.count() == 50
    assert "nothing generated" in capsys.readouterr().out


def test_every_city_has_workers_a_target_and_someone_waiting_in_every_demo_year(db):
    call_command("seed_demo", workers=400, stdout=StringIO())
    province = Region.objects.get(level=Region.Level.PROVINCE)
    for year in DEMO_YEARS:
        report = placement_report(
            scope=Scope(region=province),
            year=year,
            as_of=datetime.date(year, 12, 31),
            user=SYSTEM,
        )
        assert len(report.children) == 11
        for city in report.children:
            assert city.to_place > 0, (city.name, year)
            assert city.target, (city.name, year)
            assert city.pending > 0, (city.name, year)
            assert city.placed_in_year > 0, (city.name, year)


def test_seed_demo_national_spreads_workers_over_the_31_provinces_and_five_years(db):
    from reports.facts import report_facts_rebuild
    from reports.models import PlacementFact

    call_command("seed_demo", national=True, workers=1500, enterprises=200, stdout=StringIO())

    provinces = Region.objects.filter(level=Region.Level.PROVINCE)
    assert provinces.count() == 31
    assert Region.objects.filter(code="650000", name="新疆维吾尔自治区").exists()
    assert Enterprise.objects.count() == 200 + 3  # and the three groups' head offices
    assert Worker.objects.count() == 1500
    with_workers = {
        code[:2] for code in Worker.objects.values_list("enterprise__region__code", flat=True)
    }
    assert len(with_workers) == 31
    assert set(Worker.objects.values_list("diversion_year", flat=True)) == {
        2016,
        2017,
        2018,
        2019,
        2020,
    }
    # Each province's target per year, also for municipalities (no city between).
    assert AnnualTarget.objects.filter(region__code="110000", year=2020).exists()
    assert UserScope.objects.get(user__username="demo-province").region.code == "140000"
    # The facts the write path kept equal a rebuild from the ledger.
    kept = sorted(PlacementFact.objects.values_list("worker_id", "kind", "channel", "start", "end"))
    report_facts_rebuild()
    rebuilt = sorted(
        PlacementFact.objects.values_list("worker_id", "kind", "channel", "start", "end")
    )
    assert kept == rebuilt
    for worker in Worker.objects.order_by("?")[:100]:
        worker.full_clean()
