"""The command line where a user is named (`--user`): the same scope and permissions as pages."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from placement.demo_rosters import roster_rows, roster_xlsx
from placement.models import Worker


def report(**options):
    out = io.StringIO()
    call_command(
        "placement_report", "--as-of=2016-12-31", year=2016, json=True, stdout=out, **options
    )
    return json.loads(out.getvalue())


def test_a_report_for_a_named_user_stays_in_their_scope(world):
    a, b = world.a.enterprise, world.b.enterprise
    assert report(user="hr-a", enterprise=a.credit_code)["placed"] == 1
    with pytest.raises(CommandError):
        report(user="hr-a", enterprise=b.credit_code)
    with pytest.raises(CommandError):
        report(user="county-xiaodian", region="140100")
    assert report(user="city-taiyuan", region="140100")["placed"] == 2
    # Without --user the operator of the server sees the whole province.
    assert report()["placed"] == 3


def test_a_deactivated_or_unknown_user_is_refused(world):
    for username in ("hr-a-left", "nobody"):
        with pytest.raises(CommandError):
            report(user=username, enterprise=world.a.enterprise.credit_code)


def test_an_import_for_a_named_user_needs_their_scope_and_permission(world, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster_xlsx(roster_rows(2, seed=9)))
    a, b = world.a.enterprise, world.b.enterprise

    def run(username, enterprise):
        call_command(
            "import_roster",
            str(path),
            enterprise=enterprise.credit_code,
            user=username,
            json=True,
            stdout=io.StringIO(),
        )

    with pytest.raises(CommandError):
        run("hr-a", b)  # another enterprise: "not found"
    with pytest.raises(CommandError):
        run("city-taiyuan", a)  # region staff may read, not import
    run("hr-a", a)
    imported = Worker.history.filter(history_type="+", history_user__username="hr-a")
    assert imported.count() == 2
    assert Worker.objects.filter(enterprise=b).count() == 1
