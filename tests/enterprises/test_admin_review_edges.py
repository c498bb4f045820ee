"""Enterprises, groups and targets as administrators manage them, and their imports: a future
diversion date, moves by import, rights to change, groups outside a scope, credit codes as typed,
names alike (found by a review, each reproduced first)."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from access.actors import SYSTEM
from enterprises.imports import enterprise_import
from enterprises.models import Enterprise, Region
from placement.channels import Channel
from placement.demo import credit_code
from placement.imports import target_import
from placement.models import AnnualTarget
from reports import cache as report_cache
from reports.selectors import Scope, placement_report
from tests.conftest import xlsx_bytes

D = datetime.date
EH = [
    "企业名称",
    "统一社会信用代码",
    "行业",
    "所在地区代码",
    "所属集团统一社会信用代码",
    "分流安置方案实施日期",
]


def _change(client, obj, **fields):
    data = {
        "name": obj.name,
        "credit_code": obj.credit_code,
        "industry": obj.industry,
        "region": obj.region.pk,
    }
    return client.post(reverse("admin:enterprises_enterprise_change", args=[obj.pk]), data | fields)


# 1. An enterprise diversion date in the future is accepted (a worker's own one is refused).
def test_an_enterprise_diversion_date_in_the_future_is_refused_in_the_admin(
    root_client, make_enterprise, make_worker
):
    mine = make_enterprise(diversion_date=D(2016, 1, 1))
    worker = make_worker(enterprise=mine, registered_on=D(2016, 1, 1))  # no date of their own

    def to_place():
        return placement_report(
            scope=Scope(enterprise=mine), year=2016, as_of=D(2016, 12, 31), user=SYSTEM
        ).totals.to_place

    assert to_place() == 1
    response = _change(root_client, mine, diversion_date="2099-01-01")  # a typo for 2019
    worker.refresh_from_db()
    # What happens: 302, the worker now "diverted" on 2099-01-01, gone from the figures, and
    # any placement of them is refused as earlier than the diversion.
    assert (worker.registered_on, to_place()) == (D(2016, 1, 1), 1), (
        response.status_code,
        worker.registered_on,
        to_place(),
    )


def test_an_enterprise_diversion_date_in_the_future_is_refused_by_the_import(make_enterprise):
    mine = make_enterprise(diversion_date=D(2016, 1, 1))
    result = enterprise_import(
        data=xlsx_bytes([EH, [mine.name, mine.credit_code, "煤炭", "140105", None, "2099-01-01"]]),
        filename="e.xlsx",
        user=SYSTEM,
    )
    assert [(e.row, e.column) for e in result.errors] == [(2, "分流安置方案实施日期")]


# 2. An enterprise moved by an import: cached dashboards keep it in its old county and group.
def test_an_enterprise_moved_by_import_moves_its_figures_on_the_dashboards(
    report_cache_on,
    superuser,
    make_enterprise,
    make_worker,
    place,
    django_capture_on_commit_callbacks,
):
    xiaodian, yingze = Region.objects.get(code="140105"), Region.objects.get(code="140106")
    group_a = make_enterprise(name="甲集团", region=Region.objects.get(code="140100"))
    group_b = make_enterprise(name="乙集团", region=Region.objects.get(code="140100"))
    mine = make_enterprise(name="移动矿", region=xiaodian, parent=group_a)
    place(make_worker(enterprise=mine), D(2016, 5, 1), Channel.INTERNAL_TRANSFER)

    def placed(scope):
        return report_cache.placement_report_cached(
            scope=scope, year=2016, as_of=D(2016, 12, 31), user=superuser
        ).totals.placed

    scopes = [
        Scope(region=xiaodian),
        Scope(region=yingze),
        Scope(enterprise=group_a),
        Scope(enterprise=group_b),
    ]
    assert [placed(s) for s in scopes] == [1, 0, 1, 0]
    with django_capture_on_commit_callbacks(execute=True):
        result = enterprise_import(
            data=xlsx_bytes(
                [EH[:5], ["移动矿", mine.credit_code, "煤炭", "140106", group_b.credit_code]]
            ),
            filename="e.xlsx",
            user=SYSTEM,
        )
    assert result.errors == [] and result.updated == 1
    assert [placed(s) for s in scopes] == [0, 1, 0, 1]  # is [1, 0, 1, 0] until the entries expire


# 3. The import permission is "add": a user who may add but not change enterprises changes them.
def test_a_user_who_may_only_add_enterprises_cannot_change_one_by_import(
    client_as, make_user, make_enterprise
):
    mine = make_enterprise(name="原名", diversion_date=D(2016, 1, 1))
    user = make_user("county")
    user.user_permissions.add(Permission.objects.get(codename="add_enterprise"))
    client = client_as(user)
    assert (
        client.get(reverse("admin:enterprises_enterprise_change", args=[mine.pk])).status_code
        == 200
    )  # view only
    assert _change(client, mine, name="改名").status_code == 403
    assert client.get(reverse("admin:enterprises_enterprise_import")).status_code == 200
    enterprise_import(
        data=xlsx_bytes([EH, ["改名", mine.credit_code, "钢铁", "140105", None, "2016-09-01"]]),
        filename="e.xlsx",
        user=user,
    )
    mine.refresh_from_db()
    assert (mine.name, mine.industry, mine.diversion_date) == ("原名", "coal", D(2016, 1, 1))


# 4. Region staff (granted change_enterprise) saving a mine of a group outside their region.
def test_saving_a_mine_whose_group_is_outside_the_users_region_keeps_the_group(
    client_as, make_user, make_enterprise
):
    group = make_enterprise(name="太原集团", region=Region.objects.get(code="140100"))
    mine = make_enterprise(name="大同矿", region=Region.objects.get(code="140212"), parent=group)
    user = make_user("city", username="datong", region=Region.objects.get(code="140200"))
    user.user_permissions.add(Permission.objects.get(codename="change_enterprise"))
    client = client_as(user)
    page = client.get(
        reverse("admin:enterprises_enterprise_change", args=[mine.pk])
    ).content.decode()
    select = re.search(r'<select name="parent".*?</select>', page, re.S).group(0)
    posted_parent = re.findall(r'<option value="(\d+)" selected', select)  # [] : shown empty
    response = _change(
        client, mine, name="大同矿（更名）", parent=posted_parent[0] if posted_parent else ""
    )
    mine.refresh_from_db()
    assert response.status_code == 302
    assert mine.parent_id == group.pk  # is None: the group link was dropped without a word


# 5. The admin refuses credit codes that the normaliser and the import accept.
def test_the_admin_accepts_a_full_width_or_spaced_credit_code(root_client, xiaodian):
    code = credit_code("140105", 801)
    for i, typed in enumerate(
        ["".join(chr(ord(c) + 0xFEE0) for c in code), code[:9] + " " + code[9:]]
    ):
        Enterprise.objects.filter(credit_code=code).delete()
        response = root_client.post(
            reverse("admin:enterprises_enterprise_add"),
            {"name": f"新矿{i}", "credit_code": typed, "industry": "coal", "region": xiaodian.pk},
        )
        errors = response.context["adminform"].form.errors if response.status_code == 200 else None
        assert response.status_code == 302, (typed, errors)
        assert Enterprise.objects.get(name=f"新矿{i}").credit_code == code


# 6. The target import does not normalise credit codes as the enterprise import does.
def test_a_target_finds_its_enterprise_by_a_spaced_credit_code(make_enterprise):
    mine = make_enterprise()
    typed = mine.credit_code[:9] + " " + mine.credit_code[9:]
    result = target_import(
        data=xlsx_bytes(
            [["年度", "地区代码", "统一社会信用代码", "目标任务（人）"], [2017, None, typed, 10]]
        ),
        filename="t.xlsx",
        user=SYSTEM,
    )
    assert [str(e.message) for e in result.errors] == []
    assert AnnualTarget.objects.get(enterprise=mine).workers == 10


# 7. Two enterprises of the same name cannot be told apart where a roster is imported.
def test_enterprises_of_the_same_name_are_told_apart_in_the_roster_import(
    root_client, make_enterprise
):
    make_enterprise(name="一矿")
    make_enterprise(name="一矿", region=Region.objects.get(code="140212"))
    page = root_client.get(reverse("admin:placement_worker_import")).content.decode()
    labels = re.findall(r'<option value="\d+">([^<]*)</option>', page)
    assert len(set(labels)) == len(labels), labels


def test_an_enterprise_stored_with_a_planned_date_can_still_be_renamed(make_enterprise):
    """The rule refuses a future date typed now; one stored before it may stay."""
    from django.utils import timezone

    planned = timezone.localdate() + datetime.timedelta(days=30)
    mine = make_enterprise(name="旧名")
    Enterprise.objects.filter(pk=mine.pk).update(diversion_date=planned)
    mine.refresh_from_db()
    mine.name = "新名"
    mine.full_clean()
    mine.diversion_date = planned + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):
        mine.full_clean()
