"""The admin import and export as a logged-in user: preview (counts, errors, paginated changes),
confirm, the error report, the blank template, scoped enterprises, masked or full ID numbers,
formula escaping, and the round trip export → import that changes nothing."""

import io
import re
import zipfile

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from openpyxl import load_workbook

from access.actors import SYSTEM
from enterprises.models import UserScope
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.models import AccessLog, Worker
from placement.services import worker_place
from spreadsheets.admin import IMPORT_NOTHING_CHANGED
from tests.formula_attacks import FORMULA_ATTACKS, as_written
from tests.job_queue import confirm_and_write, upload_and_check

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
EXPORT_URL = reverse("admin:placement_worker_export")


def upload(client, enterprise, data, name="roster.xlsx"):
    file = io.BytesIO(data)
    file.name = name
    return upload_and_check(client, IMPORT_URL, {"import_file": file, "enterprise": enterprise.pk})


def user_with(*codenames, scope_enterprise=None):
    user = User.objects.create_user("officer", password="x" * 16, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    if scope_enterprise is not None:
        UserScope.objects.create(
            user=user, role=UserScope.Role.ENTERPRISE_HR, enterprise=scope_enterprise
        )
    return user


def test_preview_shows_counts_and_a_page_of_changes_then_confirm_imports(root_client, enterprise):
    response = upload(root_client, enterprise, roster_xlsx(roster_rows(150, seed=2)))
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["result"].created == 150
    assert len(response.context["changes_page"]) == 100
    assert page.count("</tr>", page.index('id="import-changes"')) == 101
    assert Worker.objects.count() == 0
    confirm = response.context["confirm"]
    response = confirm_and_write(root_client, PROCESS_URL, confirm)
    assert response.status_code == 302
    assert Worker.objects.filter(enterprise=enterprise).count() == 150


def test_the_second_page_of_changes_is_served_from_the_stored_preview(root_client, enterprise):
    response = upload(root_client, enterprise, roster_xlsx(roster_rows(150, seed=2)))
    token = response.context["token"]
    response = root_client.get(IMPORT_URL, {"preview": token, "page": 2})
    assert [c.row for c in response.context["changes_page"]][0] == 104
    assert response.context["confirm"]["token"] == token


def test_a_refused_file_shows_every_error_offers_a_report_and_no_confirm(root_client, enterprise):
    rows = roster_rows(3, seed=4)
    rows[0][1] = ""
    rows[2][2] = 1.4e17
    response = upload(root_client, enterprise, roster_xlsx(rows))
    assert response.context["confirm"] is None
    assert [(e.row, e.column) for e in response.context["result"].errors] == [
        (4, "姓名"),
        (6, "身份证号码"),
    ]
    # Nothing is written, so no new, changed or unchanged rows are counted (they read "0"
    # beside a file whose other rows were fine): the page says what to do instead.
    page = response.content.decode()
    assert 'class="count-errors">2<' in page and "count-created" not in page
    assert "整个文件全部无误时才会导入" in page
    report = root_client.get(IMPORT_URL, {"errors": response.context["token"]})
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)][1][:2] == [
        "6",
        "身份证号码",
    ]
    assert Worker.objects.count() == 0


def test_attack_column_letters_exhaust_memory_through_the_admin_import(root_client, enterprise):
    data = roster_xlsx(roster_rows(2, seed=4))
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'(<c r=")A3(")', rb"\1AAAAAAA3\2", content, count=1)
                assert b"AAAAAAA3" in content
            archive.writestr(name, content)

    root_client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    response = upload(root_client, enterprise, buffer.getvalue())

    assert response.status_code == 200
    [error] = response.context["result"].errors
    assert error.message == (
        "Row 3 has a cell beyond the last column of a worksheet (XFD, column 16384); "
        "the file looks abnormal and was rejected"
    )
    assert Worker.objects.count() == 0


def test_the_blank_template_has_the_header_row_and_a_notes_sheet(root_client):
    response = root_client.get(IMPORT_URL, {"template": 1})
    workbook = load_workbook(io.BytesIO(response.content))
    header = [c.value for c in next(workbook.worksheets[0].iter_rows(max_row=1))]
    assert header[:3] == ["姓名", "公民身份号码", "性别"]
    notes = workbook.worksheets[1]
    assert notes.title == "填写说明"
    assert notes.max_row == len(header) + 1


def test_an_officer_can_import_only_into_an_enterprise_they_may_see(
    client, enterprise, make_enterprise
):
    other = make_enterprise(name="别人的煤矿")
    client.force_login(
        user_with("add_worker", "add_placement", "view_worker", scope_enterprise=enterprise)
    )
    response = upload(client, other, roster_xlsx(roster_rows(2, seed=5)))
    assert "enterprise" in response.context["form"].errors
    response = upload(client, enterprise, roster_xlsx(roster_rows(2, seed=5)))
    assert response.context["result"].created == 2


def test_a_user_without_permission_can_neither_import_nor_export(client, enterprise):
    client.force_login(user_with())
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 403


def export_rows(client, enterprise):
    # The user's scope is the enterprise: the export holds its workers without a filter.
    response = client.post(EXPORT_URL, {"format": "0", "resource": "0"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_export_masks_id_numbers_and_phones_unless_the_user_may_see_them(
    client, make_worker, enterprise
):
    worker = make_worker(phone="13812345678")
    client.force_login(user_with("view_worker", scope_enterprise=enterprise))
    rows = export_rows(client, enterprise)
    # The export carries the birth date: the masked number keeps the region code only.
    assert rows[1][1] == worker.id_number[:6] + "*" * 12
    assert rows[1][8] == "138****5678"
    log = AccessLog.objects.get()
    assert (log.action, log.rows, log.full_numbers) == (AccessLog.Action.EXPORT, 1, False)
    client.force_login(User.objects.create_user("full", is_staff=True, password="x" * 16))
    full = User.objects.get(username="full")
    full.user_permissions.set(
        Permission.objects.filter(codename__in=["view_worker", "view_full_id_number"])
    )
    UserScope.objects.create(user=full, role=UserScope.Role.ENTERPRISE_HR, enterprise=enterprise)
    rows = export_rows(client, enterprise)
    assert rows[1][1] == worker.id_number
    assert isinstance(rows[1][1], str)
    assert rows[1][8] == "13812345678"
    assert AccessLog.objects.filter(username="full", full_numbers=True, rows=1).exists()


def test_export_escapes_formula_like_cells_and_the_import_reads_them_back(
    root_client, make_worker, enterprise
):
    make_worker(post="=HYPERLINK(1)", phone="13800000000")
    make_worker(post="+1", name="测试乙")
    make_worker(post="@x", name="测试丙")
    make_worker(post="-5", name="测试丁")
    rows = export_rows(root_client, enterprise)
    assert sorted(r[5] for r in rows[1:]) == ["'+1", "'-5", "'=HYPERLINK(1)", "'@x"]
    phones = [r[8] for r in rows[1:] if r[8]]
    assert phones == ["13800000000"]


@pytest.mark.parametrize("post", FORMULA_ATTACKS)
def test_attack_formula_after_tab_cr_or_full_width_sign_in_admin_export(
    root_client, make_worker, enterprise, post
):
    # Typed in the admin, imported before the reader cleaned text, or written by a script: what
    # is stored is exported, so the rule holds for any stored text.
    Worker.objects.filter(pk=make_worker().pk).update(post=post, name=post)
    rows = export_rows(root_client, enterprise)
    written = as_written(post)
    assert (rows[1][0], rows[1][5]) == (written, written)


def test_export_then_import_changes_nothing(root_client, make_worker, enterprise):
    for index in range(3):
        worker = make_worker(post="=SUM(1)" if index == 0 else "掘进工")
        if index < 2:
            worker_place(
                worker=worker,
                channel="internal_transfer",
                placed_on=_day(),
                destination_unit="集团（内部）",
                actor=SYSTEM,
            )
    rows = export_rows(root_client, enterprise)
    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(root_client, enterprise, buffer.getvalue())
    result = response.context["result"]
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def _day():
    import datetime

    return datetime.date(2016, 6, 1)


def test_targets_and_enterprises_import_through_the_same_admin_flow(root_client, enterprise):
    from placement.models import AnnualTarget

    data = f"年度,统一社会信用代码,目标任务（人）\n2017,{enterprise.credit_code},40\n"
    file = io.BytesIO(data.encode("gbk"))
    file.name = "targets.csv"
    response = upload_and_check(
        root_client, reverse("admin:placement_annualtarget_import"), {"import_file": file}
    )
    assert response.context["result"].created == 1
    confirm_and_write(
        root_client,
        reverse("admin:placement_annualtarget_process_import"),
        response.context["confirm"],
    )
    assert AnnualTarget.objects.get(enterprise=enterprise).workers == 40
    template = root_client.get(reverse("admin:enterprises_enterprise_import"), {"template": 1})
    header = next(load_workbook(io.BytesIO(template.content)).worksheets[0].iter_rows(max_row=1))
    assert [c.value for c in header] == [
        "企业名称",
        "统一社会信用代码",
        "行业",
        "所在地区代码",
        "所属集团统一社会信用代码",
        "分流安置方案实施日期",
    ]


def test_confirming_an_identical_file_says_nothing_changed(root_client, enterprise):
    data = roster_xlsx(roster_rows(4, seed=8))
    for _round in range(2):
        response = upload(root_client, enterprise, data)
        response = confirm_and_write(root_client, PROCESS_URL, response.context["confirm"])
        response = root_client.get(response["Location"], follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [str(IMPORT_NOTHING_CHANGED % {"created": 0, "updated": 0, "unchanged": 4})]
    assert Worker.objects.count() == 4


def test_a_preview_belongs_to_the_user_who_uploaded_it(root_client, client, enterprise, make_user):
    response = upload(root_client, enterprise, roster_xlsx(roster_rows(3, seed=2)))
    confirm = response.context["confirm"]
    other = make_user("superuser", username="another-admin")
    root_client.force_login(other)
    assert root_client.get(IMPORT_URL, {"preview": confirm["token"]}).status_code == 404
    assert root_client.get(IMPORT_URL, {"errors": confirm["token"]}).status_code == 404
    assert root_client.post(PROCESS_URL, confirm).status_code == 404
    assert Worker.objects.count() == 0


def test_a_confirmation_imports_into_the_previewed_enterprise_only(
    root_client, enterprise, make_enterprise
):
    other = make_enterprise(name="另一煤矿")
    response = upload(root_client, enterprise, roster_xlsx(roster_rows(3, seed=2)))
    forged = {**response.context["confirm"], "enterprise": other.pk}
    assert root_client.post(PROCESS_URL, forged).status_code == 403
    assert Worker.objects.count() == 0


def test_an_export_is_named_by_the_day_in_china_and_its_sheet_by_what_it_holds(
    client, make_worker, monkeypatch
):
    """At 04:00 in Beijing it is still the day before in UTC, which the library's name took."""
    import datetime

    from django.utils import timezone

    make_worker()
    moment = datetime.datetime(2026, 12, 7, 20, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    client.force_login(User.objects.create_superuser("root", password="x" * 16))
    response = client.post(EXPORT_URL, {"format": "0", "resource": "0"})
    assert response["Content-Disposition"] == 'attachment; filename="worker-2026-12-08.xlsx"'
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["花名册"]
