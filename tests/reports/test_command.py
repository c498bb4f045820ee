import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from placement.channels import Channel
from placement.models import AnnualTarget
from reports.management.commands.placement_report import UNKNOWN_REGION


def run(*args):
    out = StringIO()
    call_command("placement_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ledger(province, taiyuan, make_worker, place):
    place(make_worker(), datetime.date(2017, 3, 1), Channel.INTERNAL_TRANSFER)
    place(make_worker(), datetime.date(2016, 10, 1), Channel.SELF_EMPLOYMENT)
    place(make_worker(), datetime.date(2017, 8, 1))
    AnnualTarget.objects.create(year=2017, region=province, workers=4)


def test_json_has_the_figures_rates_as_strings_and_children(ledger):
    data = json.loads(run("--year", "2017", "--as-of", "2017-06-30", "--json"))

    assert data["scope"] == "山西省"
    assert (data["to_place"], data["placed"], data["placed_in_year"]) == (3, 2, 1)
    assert data["placement_rate"] == "66.67"
    assert data["target"] == 4
    assert data["target_completion"] == "25.0"
    assert data["elapsed_share"] == "49.6"
    channels = {c["code"]: c for c in data["channels"]}
    assert channels["internal_transfer"] == {
        "code": "internal_transfer",
        "name": "内部安置",
        "placed": 1,
        "share": "50.0",
    }
    assert channels["entrepreneurship"]["share"] == "0.0"
    taiyuan = next(c for c in data["children"] if c["key"] == "140100")
    assert (taiyuan["to_place"], taiyuan["placed"], taiyuan["placement_rate"]) == (3, 2, "66.67")
    assert {c["code"]: c["placed"] for c in taiyuan["channels"]}["self_employment"] == 1
    assert {c["code"]: c["share"] for c in taiyuan["categories"]}["reemployment"] == "50.0"
    assert {c["code"]: c["placed"] for c in data["relations"]} == {
        "kept": 1,
        "retirement_in_place": 0,
        "ended": 1,
    }
    assert taiyuan["target"] is None
    assert taiyuan["target_completion"] is None
    assert len(data["children"]) == 11


def test_json_for_a_region_and_an_enterprise(ledger, enterprise):
    county = json.loads(
        run("--year", "2017", "--as-of", "2017-12-31", "--region", "140105", "--json")
    )
    assert county["placed"] == 3
    assert [c["name"] for c in county["children"]] == [enterprise.name]

    single = json.loads(
        run(
            "--year",
            "2017",
            "--as-of",
            "2017-12-31",
            "--enterprise",
            enterprise.credit_code,
            "--json",
        )
    )
    assert (single["to_place"], single["placed_in_year"], single["target"]) == (3, 2, None)


def test_an_industry_with_no_enterprises_gives_nulls(ledger):
    data = json.loads(
        run("--year", "2017", "--as-of", "2017-06-30", "--industry", "steel", "--json")
    )

    assert (data["to_place"], data["placed"], data["placement_rate"]) == (0, 0, None)


def test_the_table_names_the_scope_and_children(ledger):
    text = run("--year", "2017", "--as-of", "2017-06-30")

    assert "山西省" in text
    assert "66.67" in text
    assert "太原市" in text


def test_an_unknown_region_is_an_error(db):
    with pytest.raises(CommandError) as error:
        run("--year", "2017", "--region", "999999")
    assert str(error.value) == str(UNKNOWN_REGION % {"code": "999999"})


def test_an_as_of_date_after_the_year_is_refused_as_on_the_pages(ledger):
    with pytest.raises(CommandError, match="截至日期不能晚于 2017 年年底"):
        run("--year", "2017", "--as-of", "2018-05-01", "--json")
    data = json.loads(run("--year", "2017", "--as-of", "2017-12-31", "--json"))
    assert data["as_of"] == "2017-12-31"
