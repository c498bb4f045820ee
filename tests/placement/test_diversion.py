"""The diversion date (分流时间): the roster's column sets when a worker counts as to be placed;
without it the enterprise's own date (分流安置方案实施日期) applies, and only without either the
import day. Where the date came from is kept, shown in the admin, and said in the preview."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from access.actors import SYSTEM
from enterprises.imports import enterprise_import
from placement.channels import Channel
from placement.imports import PLACED_BEFORE_NEW_DIVERSION, roster_import
from placement.models import DiversionSource, Worker
from placement.rules import DIVERSION_DATE_IN_FUTURE, PLACEMENT_BEFORE_DIVERSION
from placement.services import worker_place, worker_register
from reports.selectors import Scope, placement_report
from tests.conftest import synthetic_id
from tests.job_queue import upload_and_check

D = datetime.date
A = synthetic_id(seq=11)
B = synthetic_id(seq=13)
C = synthetic_id(seq=15)


def csv_roster(headers, *rows) -> bytes:
    lines = [",".join(headers)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(enterprise, data, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    return roster_import(data=data, filename="roster.csv", enterprise=enterprise, **kwargs)


def errors(result):
    return [(e.row, e.column, e.message) for e in result.errors]


def dates(*numbers):
    return [
        (worker.registered_on, worker.registered_on_source)
        for number in numbers
        for worker in Worker.objects.by_id_number(number)
    ]


@pytest.mark.parametrize(
    "header", ["分流时间", "分流日期", "分流年月", "列入分流安置时间", "列入安置名单时间"]
)
def test_every_alias_of_the_diversion_column_sets_the_date(enterprise, header):
    result = run(enterprise, csv_roster(["姓名", "身份证号码", header], ["甲", A, "2016-03-15"]))

    assert errors(result) == []
    assert dates(A) == [(D(2016, 3, 15), DiversionSource.ROSTER)]
    assert Worker.objects.get().diversion_year == 2016


def test_a_month_only_diversion_date_means_the_first_of_that_month(enterprise):
    data = csv_roster(
        ["姓名", "身份证号码", "分流年月"], ["甲", A, "2016.03"], ["乙", B, "2016年7月"]
    )
    assert errors(run(enterprise, data)) == []
    assert dates(A, B) == [
        (D(2016, 3, 1), DiversionSource.ROSTER),
        (D(2016, 7, 1), DiversionSource.ROSTER),
    ]


def test_without_a_roster_date_the_enterprises_date_applies_then_the_import_day(
    enterprise, make_enterprise
):
    enterprise.diversion_date = D(2016, 4, 1)
    enterprise.save()
    data = csv_roster(
        ["姓名", "身份证号码", "分流时间", "安置方式", "安置时间"],
        ["甲", A, "2016-02-01", "", ""],
        ["乙", B, "", "内部安置", "2016-05-01"],
    )
    result = run(enterprise, data)
    assert errors(result) == []
    assert dates(A, B) == [
        (D(2016, 2, 1), DiversionSource.ROSTER),
        (D(2016, 4, 1), DiversionSource.ENTERPRISE),
    ]
    assert result.notes == [
        "1 名职工自 2016-02-01 起计入需安置人数（依据花名册的“分流时间”列）",
        "1 名职工自 2016-04-01 起计入需安置人数（花名册没有其分流时间，"
        "依据企业“测试煤矿甲”的分流安置方案实施日期）",
    ]

    other = make_enterprise(name="无日期煤矿")
    result = run(other, csv_roster(["姓名", "身份证号码"], ["丙", C]))
    assert dates(C) == [(timezone.localdate(), DiversionSource.IMPORT)]
    assert Worker.objects.by_id_number(C).get().diversion_year is None
    assert "文件没有分流时间列，企业也没有填写分流安置方案实施日期" in result.notes[0]


def test_a_placement_before_the_diversion_date_is_an_error_naming_the_row(enterprise):
    data = csv_roster(
        ["姓名", "身份证号码", "分流时间", "安置方式", "安置时间"],
        ["甲", A, "2016-06-01", "内部安置", "2016-05-31"],
        ["乙", B, "2016.06", "内部安置", "2016.06"],
    )
    result = run(enterprise, data)

    message = PLACEMENT_BEFORE_DIVERSION % {
        "placed": "2016-05-31",
        "diverted": "2016-06-01",
        "source": DiversionSource.ROSTER.label,
    }
    # The second row's placement, given to the month, falls in the month of the diversion.
    assert errors(result) == [(2, "安置时间", message)]
    assert Worker.objects.count() == 0


def test_a_placement_before_the_enterprises_date_is_an_error_too(enterprise):
    enterprise.diversion_date = D(2016, 6, 1)
    enterprise.save()
    data = csv_roster(
        ["姓名", "身份证号码", "安置方式", "安置时间"], ["甲", A, "内部安置", "2016-01-04"]
    )

    result = run(enterprise, data)

    assert [(e.row, e.column) for e in result.errors] == [(2, "安置时间")]
    assert "企业的分流安置方案实施日期" in result.errors[0].message


def test_a_diversion_date_in_the_future_is_refused(enterprise):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    result = run(enterprise, csv_roster(["姓名", "身份证号码", "分流时间"], ["甲", A, tomorrow]))
    assert errors(result) == [(2, "分流时间", str(DIVERSION_DATE_IN_FUTURE))]


def test_the_preview_lists_every_column_it_did_not_use(enterprise):
    data = csv_roster(
        ["序号", "姓名", "身份证号码", "分留时间", "备注", "姓名"],
        [1, "甲", A, "2016-01-01", "", "甲"],
    )
    result = run(enterprise, data, dry_run=True)

    assert result.unused_columns == ["分留时间", "备注", "姓名"]
    assert result.as_dict()["unused_columns"] == ["分留时间", "备注", "姓名"]
    assert Worker.objects.count() == 0


def test_the_command_prints_the_dates_and_the_unused_columns(enterprise, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        csv_roster(["姓名", "身份证号码", "分流日期", "分流时间x"], ["甲", A, "2016-01-01", ""])
    )
    out = io.StringIO()
    call_command(
        "import_roster", str(path), "--enterprise", enterprise.credit_code, "--dry-run", stdout=out
    )
    text = out.getvalue()
    assert "1 名职工自 2016-01-01 起计入需安置人数（依据花名册的“分流日期”列）" in text
    assert "文件中这些列没有导入（列名不认识，或与前面的列重复）：“分流时间x”" in text


def test_a_new_roster_date_moves_a_registered_worker_in_the_reports(enterprise, province):
    headers = ["姓名", "身份证号码", "分流时间"]
    run(enterprise, csv_roster(["姓名", "身份证号码"], ["甲", A]))
    scope = Scope(region=province)
    assert (
        placement_report(scope=scope, year=2016, as_of=D(2016, 12, 31), user=SYSTEM).totals.to_place
        == 0
    )

    preview = run(enterprise, csv_roster(headers, ["甲", A, "2016-03-01"]), dry_run=True)
    result = run(enterprise, csv_roster(headers, ["甲", A, "2016-03-01"]))

    assert (result.updated, result.unchanged) == (1, 0) == (preview.updated, preview.unchanged)
    assert preview.changes[0].fields == [
        (
            "分流时间",
            f"{timezone.localdate().isoformat()}（登记（导入）之日）",
            "2016-03-01（花名册的分流时间）",
        )
    ]
    assert dates(A) == [(D(2016, 3, 1), DiversionSource.ROSTER)]
    assert (
        placement_report(scope=scope, year=2016, as_of=D(2016, 12, 31), user=SYSTEM).totals.to_place
        == 1
    )
    # The same file again changes nothing; a file without the column keeps the date.
    assert run(enterprise, csv_roster(headers, ["甲", A, "2016-03-01"])).unchanged == 1
    assert run(enterprise, csv_roster(["姓名", "身份证号码"], ["甲", A])).unchanged == 1
    assert dates(A) == [(D(2016, 3, 1), DiversionSource.ROSTER)]


def test_a_new_roster_date_after_a_stored_placement_is_refused(enterprise):
    run(enterprise, csv_roster(["姓名", "身份证号码", "分流时间"], ["甲", A, "2016-01-01"]))
    worker = Worker.objects.get()
    worker_place(
        worker=worker, channel=Channel.SELF_EMPLOYMENT, placed_on=D(2016, 5, 1), actor=SYSTEM
    )

    result = run(
        enterprise, csv_roster(["姓名", "身份证号码", "分流时间"], ["甲", A, "2016-08-01"])
    )

    message = PLACED_BEFORE_NEW_DIVERSION % {"placed": "2016-05-01", "diverted": "2016-08-01"}
    assert errors(result) == [(2, "分流时间", message)]
    assert dates(A) == [(D(2016, 1, 1), DiversionSource.ROSTER)]


def test_workers_without_their_own_date_follow_the_enterprises_date(
    enterprise, make_worker, province
):
    own = make_worker(registered_on=D(2016, 2, 1), registered_on_source=DiversionSource.ROSTER)
    waiting = make_worker(registered_on=D(2026, 1, 5))
    placed_early = make_worker(registered_on=D(2016, 3, 1))
    worker_place(
        worker=placed_early, channel=Channel.SELF_EMPLOYMENT, placed_on=D(2016, 3, 1), actor=SYSTEM
    )
    data = (
        "企业名称,统一社会信用代码,行业,所在地区代码,分流安置方案实施日期\n"
        f"{enterprise.name},{enterprise.credit_code},煤炭,{enterprise.region.code},2016.05\n"
    ).encode()

    preview = enterprise_import(data=data, filename="e.csv", dry_run=True, user=SYSTEM)
    assert preview.updated == 1 and "测试煤矿甲" in preview.notes[0]
    enterprise_import(data=data, filename="e.csv", user=SYSTEM)

    enterprise.refresh_from_db()
    assert enterprise.diversion_date == D(2016, 5, 1)
    assert [
        (w.registered_on, w.registered_on_source)
        for w in Worker.objects.filter(pk__in=[own.pk, waiting.pk, placed_early.pk]).order_by("pk")
    ] == [
        (D(2016, 2, 1), DiversionSource.ROSTER),
        (D(2016, 5, 1), DiversionSource.ENTERPRISE),
        (D(2016, 3, 1), DiversionSource.IMPORT),  # placed before the new date: kept
    ]
    report = placement_report(
        scope=Scope(region=province), year=2016, as_of=D(2016, 12, 31), user=SYSTEM
    )
    assert (report.totals.to_place, report.totals.placed) == (3, 1)
    assert waiting.history.latest().history_source.startswith("import:enterprises:")


def test_changing_the_enterprises_date_in_the_admin_moves_its_workers(
    enterprise, make_worker, root_client
):
    waiting = make_worker(registered_on=D(2026, 1, 5))
    client = root_client
    url = reverse("admin:enterprises_enterprise_change", args=[enterprise.pk])
    form = {
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "industry": enterprise.industry,
        "region": enterprise.region.pk,
        "diversion_date": "2016-01-10",
    }
    response = client.post(url, form, follow=True)

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert (waiting.registered_on, waiting.registered_on_source) == (
        D(2016, 1, 10),
        DiversionSource.ENTERPRISE,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert (
        "1 名职工的分流时间随企业的分流安置方案实施日期改变；"
        "0 名职工在此日期前已安置，保留原分流时间" in shown
    )

    form["diversion_date"] = ""
    client.post(url, form)
    waiting.refresh_from_db()
    assert waiting.registered_on_source == DiversionSource.IMPORT
    assert waiting.registered_on == timezone.localdate(waiting.created_at)


def test_registering_without_a_date_takes_the_enterprises_date(enterprise):
    enterprise.diversion_date = D(2016, 4, 1)
    enterprise.save()
    worker = worker_register(enterprise=enterprise, id_number=A, name="甲", actor=SYSTEM)
    assert (worker.registered_on, worker.registered_on_source) == (
        D(2016, 4, 1),
        DiversionSource.ENTERPRISE,
    )


def _worker_form(enterprise, **changes):
    data = {
        "enterprise": enterprise.pk,
        "name": "新登记",
        "id_number": A,
        "status": "worker",
        "registered_on": "",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_the_worker_page_takes_a_typed_date_or_the_enterprises(root_client, enterprise):
    enterprise.diversion_date = D(2016, 4, 1)
    enterprise.save()
    add = reverse("admin:placement_worker_add")

    root_client.post(add, _worker_form(enterprise))
    assert dates(A) == [(D(2016, 4, 1), DiversionSource.ENTERPRISE)]

    root_client.post(add, _worker_form(enterprise, id_number=B, registered_on="2016-02-03"))
    assert dates(B) == [(D(2016, 2, 3), DiversionSource.ENTERED)]


def test_the_worker_page_refuses_a_placement_before_the_typed_date(root_client, enterprise):
    data = _worker_form(
        enterprise,
        registered_on="2016-06-01",
        **{
            "placements-TOTAL_FORMS": "1",
            "placements-0-channel": Channel.SELF_EMPLOYMENT,
            "placements-0-placed_on": "2016-05-01",
        },
    )
    response = root_client.post(reverse("admin:placement_worker_add"), data)

    assert response.status_code == 200
    assert "早于分流时间（2016-06-01，来源：在职工页面填写）" in response.content.decode()
    assert not Worker.objects.exists()


def test_the_admin_list_and_page_show_the_date_and_where_it_came_from(root_client, enterprise):
    run(enterprise, csv_roster(["姓名", "身份证号码", "分流时间"], ["甲", A, "2016-01-01"]))
    worker = Worker.objects.get()

    listing = root_client.get(reverse("admin:placement_worker_changelist")).content.decode()
    page = root_client.get(reverse("admin:placement_worker_change", args=[worker.pk]))

    assert "分流时间" in listing and "花名册的分流时间" in listing
    assert "2016年1月1日" in listing or "2016-01-01" in listing
    assert "花名册的分流时间" in page.content.decode()


def test_the_admin_preview_says_from_when_and_lists_unused_columns(root_client, enterprise):
    file = io.BytesIO(
        csv_roster(["姓名", "身份证号码", "分流时间", "备注"], ["甲", A, "2016-01-01", ""])
    )
    file.name = "roster.csv"
    response = upload_and_check(
        root_client,
        reverse("admin:placement_worker_import"),
        {"import_file": file, "enterprise": enterprise.pk},
    )

    body = response.content.decode()
    assert "1 名职工自 2016-01-01 起计入需安置人数（依据花名册的“分流时间”列）" in body
    assert "文件中这些列没有导入（列名不认识，或与前面的列重复）：“备注”" in body
    assert not Worker.objects.exists()


def test_the_admin_list_filters_by_where_the_date_came_from(root_client, enterprise):
    run(enterprise, csv_roster(["姓名", "身份证号码", "分流时间"], ["筛选张三", A, "2016-01-01"]))
    run(enterprise, csv_roster(["姓名", "身份证号码"], ["筛选李四", B]))
    url = reverse("admin:placement_worker_changelist")

    listing = root_client.get(url, {"registered_on_source__exact": "roster"}).content.decode()

    assert "筛选张三" in listing and "筛选李四" not in listing


def test_a_new_worker_placed_before_the_import_is_previewed_as_counted_from_the_placement(
    enterprise,
):
    """No 分流时间 anywhere: the worker counts from the import day, or from their placement if
    that was earlier; the row says which, as the summary does."""
    headers = ["姓名", "身份证号码", "安置方式", "安置时间"]
    preview = run(
        enterprise, csv_roster(headers, ["甲", A, "灵活就业", "2017-05-01"]), dry_run=True
    )
    [change] = preview.changes
    shown = dict((label, new) for label, _old, new in change.fields)
    assert shown["分流时间"] == "2017-05-01（安置日期：已在导入前安置，自安置之日起计入）"
    assert "其中 1 名已安置的职工自其安置日期起计入（最早 2017-05-01）" in " ".join(preview.notes)


def test_a_new_worker_placed_on_the_import_day_counts_from_the_import_day(enterprise):
    today = timezone.localdate().isoformat()
    headers = ["姓名", "身份证号码", "安置方式", "安置时间"]
    preview = run(enterprise, csv_roster(headers, ["甲", A, "灵活就业", today]), dry_run=True)
    shown = {label: new for label, _old, new in preview.changes[0].fields}
    assert shown["分流时间"] == f"{today}（登记（导入）之日）"
    assert not any("已安置的职工自其安置日期起计入" in note for note in preview.notes)


def figures(scope, as_of):
    totals = placement_report(scope=scope, year=as_of.year, as_of=as_of, user=SYSTEM).totals
    return totals.to_place, totals.placed, totals.placed_in_year


def test_one_roster_gives_the_same_figures_in_one_import_or_two(make_enterprise):
    """The list of diverted workers first, their placements in a later import: a worker placed
    before the day the first import registered them counts from the placement, as they would
    had both come in one file; the preview shows the date moving."""
    one, two = make_enterprise(name="一次导入煤矿"), make_enterprise(name="两次导入煤矿")
    headers = ["姓名", "身份证号码", "安置方式", "安置时间"]
    assert not run(one, csv_roster(headers, ["甲", A, "内部安置", "2017-03-01"])).errors
    assert not run(two, csv_roster(["姓名", "身份证号码"], ["乙", B])).errors
    second = csv_roster(headers, ["乙", B, "内部安置", "2017-03-01"])
    preview = run(two, second, dry_run=True)
    shown = {label: (old, new) for label, old, new in preview.changes[0].fields}
    today = timezone.localdate().isoformat()
    assert shown["分流时间"] == (
        f"{today}（登记（导入）之日）",
        "2017-03-01（安置日期：已在导入前安置，自安置之日起计入）",
    )
    assert not run(two, second).errors
    as_of = D(2017, 6, 30)
    assert figures(Scope(enterprise=one), as_of) == (1, 1, 1)
    assert figures(Scope(enterprise=two), as_of) == (1, 1, 1)
    worker = Worker.objects.get(enterprise=two)
    assert (worker.registered_on, worker.registered_on_source, worker.diversion_year) == (
        D(2017, 3, 1),
        DiversionSource.IMPORT,
        None,
    )


def test_a_stated_date_is_not_moved_by_an_earlier_placement(enterprise):
    """Only the import day gives way: a date the roster stated refuses a placement before it."""
    headers = ["姓名", "身份证号码", "分流时间"]
    assert not run(enterprise, csv_roster(headers, ["甲", A, "2017-06-01"])).errors
    result = run(
        enterprise,
        csv_roster(
            ["姓名", "身份证号码", "安置方式", "安置时间"], ["甲", A, "内部安置", "2017-03-01"]
        ),
    )
    assert result.errors
    assert Worker.objects.get().registered_on == D(2017, 6, 1)


def test_a_groups_head_office_counting_only_a_placement_of_the_year_is_in_its_sum(
    make_enterprise, make_worker, place, xiaodian
):
    """Group + member, the only enterprises of 小店: the group's sums equal the county's."""
    group = make_enterprise(name="集团公司")
    member = make_enterprise(name="成员矿", parent=group)
    head = make_worker(enterprise=group, registered_on=D(2017, 8, 1))
    place(head, D(2017, 3, 1))
    # Placed in the year, to be placed only from August: as records entered before the write
    # path moved such a date back (above) still are.
    Worker.objects.filter(pk=head.pk).update(registered_on=D(2017, 8, 1))
    place(make_worker(enterprise=member, registered_on=D(2017, 1, 4)), D(2017, 4, 1))
    call_command("refresh_report_facts", stdout=io.StringIO())
    as_of = D(2017, 6, 30)
    assert figures(Scope(enterprise=group), as_of) == figures(Scope(region=xiaodian), as_of)
    assert figures(Scope(region=xiaodian), as_of) == (1, 1, 2)


def test_a_month_only_placement_moves_the_import_day_only_from_an_earlier_month(enterprise):
    headers = ["姓名", "身份证号码", "安置方式", "安置时间"]
    run(enterprise, csv_roster(headers, ["甲", A, "灵活就业", "2017-03-15"]))
    run(enterprise, csv_roster(headers, ["甲", A, "灵活就业", "2017.03"]))  # the same placement
    assert Worker.objects.get().registered_on == D(2017, 3, 15)
    run(enterprise, csv_roster(headers, ["甲", A, "内部安置", "2017.01"]))  # an earlier one
    assert Worker.objects.get().registered_on == D(2017, 1, 1)


def test_a_placement_entered_before_the_registration_day_moves_it_back(enterprise):
    """The same rule on the pages' write path: registered without a date (the day itself), then
    a placement of an earlier day entered: to be placed from that day, with a history row."""
    worker = worker_register(enterprise=enterprise, id_number=A, name="甲", actor=SYSTEM)
    assert worker.registered_on_source == DiversionSource.IMPORT
    worker_place(
        worker=worker, channel=Channel.INTERNAL_TRANSFER, placed_on=D(2017, 3, 1), actor=SYSTEM
    )
    worker.refresh_from_db()
    assert worker.registered_on == D(2017, 3, 1)
    assert worker.history.first().registered_on == D(2017, 3, 1)
    assert figures(Scope(enterprise=enterprise), D(2017, 6, 30)) == (1, 1, 1)


def test_a_stated_date_refuses_an_earlier_placement_on_the_pages_too(enterprise):
    from django.core.exceptions import ValidationError

    worker = worker_register(
        enterprise=enterprise,
        id_number=A,
        name="甲",
        registered_on=D(2017, 6, 1),
        registered_on_source=DiversionSource.ENTERED,
        actor=SYSTEM,
    )
    with pytest.raises(ValidationError):
        worker_place(
            worker=worker, channel=Channel.INTERNAL_TRANSFER, placed_on=D(2017, 3, 1), actor=SYSTEM
        )
    worker.refresh_from_db()
    assert worker.registered_on == D(2017, 6, 1)


def test_a_mistyped_placement_deleted_or_redated_takes_back_the_date_it_moved(enterprise):
    worker = worker_register(enterprise=enterprise, id_number=A, name="甲", actor=SYSTEM)
    registered = worker.registered_on
    placement = worker_place(
        worker=worker, channel=Channel.INTERNAL_TRANSFER, placed_on=D(2011, 5, 1), actor=SYSTEM
    )
    worker.refresh_from_db()
    assert worker.registered_on == D(2011, 5, 1)
    placement.placed_on = D(2017, 5, 1)  # the year corrected
    from placement.services import placement_delete, placement_save

    placement_save(placement=placement, actor=SYSTEM)
    worker.refresh_from_db()
    assert worker.registered_on == min(registered, D(2017, 5, 1))
    placement_delete(placement=placement, actor=SYSTEM)
    worker.refresh_from_db()
    assert worker.registered_on == registered
