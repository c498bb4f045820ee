"""The roster import as HR officers meet it: stored internal retirements kept within their window,
the permissions a row's changes need, a file without rows, rows that hold only a row number or a
footer, a unit without a channel (found by a review, each reproduced first)."""

import datetime
import io

from django.contrib.auth.models import Permission
from django.urls import reverse

from placement.models import Worker
from tests.conftest import synthetic_id
from tests.job_queue import confirm_and_write, upload_and_check
from tests.placement.roster_builders import HEAD, book, errs, r, run

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")


# A roster that says 否 to 特殊工种, or changes 身份, for a stored worker whose stored internal
# retirement depends on it is refused, as Worker.clean refuses it on the worker's page; a blank
# cell says nothing.
def test_a_blank_special_work_type_keeps_the_stored_one_and_a_no_is_refused(enterprise):
    """A woman of a special work type (retires at 45) in internal retirement since 2016-06: the
    next roster leaves 特殊工种 blank (says nothing: kept), or says 否 (her retirement would move
    to 2025 and the 2016 internal retirement fall outside its window: refused, naming it)."""
    number = synthetic_id(birth="19750301", seq=2)
    first = run(
        enterprise,
        book(
            [
                HEAD,
                r(
                    1,
                    number,
                    sex="女",
                    special="是",
                    channel="内部退养",
                    placed="2016.06.01",
                    diverted="2016.05",
                ),
            ]
        ),
    )
    assert errs(first) == []
    worker = Worker.objects.get()
    assert worker.retirement_date == datetime.date(2020, 3, 1)
    blank = run(enterprise, book([HEAD, r(1, number, sex="女", special=None, diverted="2016.05")]))
    worker.refresh_from_db()
    assert (blank.unchanged, worker.special_work_type) == (1, True)
    no = run(enterprise, book([HEAD, r(1, number, sex="女", special="否", diverted="2016.05")]))
    worker.refresh_from_db()
    assert worker.special_work_type is True
    [(row, column, message)] = errs(no)
    assert column == "特殊工种" and "安置记录（内部退养，2016-06-01）" in message


def test_a_roster_changing_a_cadre_to_worker_cannot_invalidate_a_stored_internal_retirement(
    enterprise,
):
    number = synthetic_id(birth="19700301", seq=2)  # a woman cadre: retires at 55 (2025-03 + delay)
    first = run(
        enterprise,
        book(
            [
                HEAD,
                r(
                    1,
                    number,
                    sex="女",
                    status="干部",
                    channel="内部退养",
                    placed="2021.06.01",
                    diverted="2016.05",
                ),
            ]
        ),
    )
    assert errs(first) == []
    second = run(
        enterprise, book([HEAD, r(1, number, sex="女", status="工人", diverted="2016.05")])
    )
    worker = Worker.objects.get()
    # As 工人 she retired at 50 (2020-03-01): a 2021 internal retirement is after retirement.
    assert second.refused, (worker.status, worker.retirement_date)


# The roster import needs placement.add_worker; what a row changes needs the pages' permissions
# (change_worker, add_placement, change_placement), as for enterprises and targets.
def test_an_add_only_user_cannot_change_stored_workers_or_placements_through_the_roster(
    client, make_user, enterprise
):
    number = synthetic_id(seq=1)
    run(
        enterprise,
        book(
            [
                HEAD,
                r(
                    1,
                    number,
                    name="王大",
                    channel="内部安置",
                    placed="2016.06.01",
                    diverted="2016.05",
                ),
            ]
        ),
    )
    clerk = make_user("county")
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(Permission.objects.get(codename="add_worker"))
    assert not clerk.has_perm("placement.change_worker")
    assert not clerk.has_perm("placement.change_placement")
    client.force_login(clerk)
    data = book(
        [
            HEAD,
            r(1, number, name="李四", channel="灵活就业", placed="2016.06.01", diverted="2016.05"),
        ]
    )
    upload = io.BytesIO(data)
    upload.name = "roster.xlsx"
    response = upload_and_check(
        client, IMPORT_URL, {"import_file": upload, "enterprise": enterprise.pk}
    )
    if response.context and response.context.get("confirm"):
        confirm_and_write(client, PROCESS_URL, response.context["confirm"])
    worker = Worker.objects.get()
    assert (worker.name, worker.current_placement().channel) == ("王大", "internal_transfer")


# A file with a header and no data row (the template sent back blank, the wrong sheet) is
# refused, not "imported" as identical to the stored data.
def test_a_roster_without_any_data_row_is_refused_not_imported(enterprise):
    result = run(enterprise, book([HEAD]))
    assert result.refused or result.notes, (result.imported, result.created, result.unchanged)


# Rows that hold only their 序号 (numbers dragged down a template below the data), a "合计：2人"
# total and a signature footer are skipped, not refused as rows without a name and a number.
def test_rows_holding_only_a_row_number_or_a_footer_are_skipped(enterprise):
    rows = [
        HEAD,
        r(1, synthetic_id(seq=1)),
        r(2, synthetic_id(seq=3)),
        [3],
        [4],
        [5],
        ["合计：2人"],
        ["单位负责人：张三    填表人：李四    联系电话：0351-1234567"],
    ]
    result = run(enterprise, book(rows), dry_run=True)
    assert errs(result) == []


def test_the_admin_does_not_call_an_empty_roster_identical_to_the_ledger(root_client, enterprise):
    upload = io.BytesIO(book([HEAD]))
    upload.name = "roster.xlsx"
    response = upload_and_check(
        root_client, IMPORT_URL, {"import_file": upload, "enterprise": enterprise.pk}
    )
    confirm = response.context["confirm"]
    assert confirm is None, "offered to confirm a file without any data row"


# A destination unit given without a channel (the officer forgot 安置方式) is an error, as a
# date without a channel is, not dropped in silence.
def test_a_destination_unit_without_a_channel_is_not_dropped_in_silence(enterprise):
    result = run(
        enterprise,
        book([HEAD, r(1, synthetic_id(seq=1), unit="太原市某物业公司", diverted="2016.05")]),
        dry_run=True,
    )
    assert result.refused, [c.fields for c in result.changes]
