"""Roster import (花名册): what it creates, what it refuses (every bad row, with the row number the
spreadsheet shows, the column as written and the reason), and that a re-import changes nothing."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from access.actors import SYSTEM
from placement import idnumbers
from placement.demo_rosters import ROSTER_HEADERS, roster_csv, roster_rows, roster_xlsx
from placement.imports import (
    DUPLICATE_IN_FILE,
    NAME_REQUIRED,
    PLACEMENT_DATE_REQUIRED,
    roster_import,
)
from placement.models import ID_NUMBER_ALREADY_REGISTERED, Placement, Worker
from placement.resources import CHANNEL_UNKNOWN
from placement.rules import (
    BIRTH_DATE_CONTRADICTS_ID,
    INTERNAL_RETIREMENT_OUTSIDE_WINDOW,
    PLACEMENT_DATE_IN_FUTURE,
    SEX_CONTRADICTS_ID,
)
from tests.conftest import synthetic_id

# Title rows take rows 1-2, the header row 3: the first data row is row 4.
FIRST = 4


def row(number, name="测试职工", *, sex="男", birth="", channel="", placed=None, unit="", **extra):
    """One roster row in ROSTER_HEADERS order."""
    values = [1, name, number, sex, birth, "工人", "采煤工", "否", None, "", channel, placed, unit]
    for key, value in extra.items():
        values[ROSTER_HEADERS.index(key)] = value
    return values


def run(enterprise, rows, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    return roster_import(
        data=roster_xlsx(rows), filename="roster.xlsx", enterprise=enterprise, **kwargs
    )


def errors(result):
    return [(e.row, e.column, e.message) for e in result.errors]


@pytest.fixture
def rows():
    return roster_rows(12, seed=3)


def test_a_valid_roster_creates_workers_and_their_placements(enterprise, rows):
    result = run(enterprise, rows)
    assert errors(result) == []
    assert (result.created, result.updated, result.unchanged) == (12, 0, 0)
    assert Worker.objects.filter(enterprise=enterprise).count() == 12
    placed = sum(1 for r in rows if r[10])
    assert Placement.objects.filter(worker__enterprise=enterprise).count() == placed
    first = Worker.objects.by_id_number(rows[0][2]).get()
    parsed = idnumbers.parse(rows[0][2])
    assert (first.name, first.sex, first.birth_date) == (rows[0][1], parsed.sex, parsed.birth_date)
    assert first.phone == rows[0][9]


def test_reimporting_the_same_file_creates_and_updates_nothing(enterprise, rows):
    run(enterprise, rows)
    before = list(Worker.objects.values_list("id", "id_number_cipher", "updated_at"))
    placements = list(Placement.objects.values_list("id", "updated_at"))
    result = run(enterprise, rows)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 12)
    assert result.changes == []
    assert list(Worker.objects.values_list("id", "id_number_cipher", "updated_at")) == before
    assert list(Placement.objects.values_list("id", "updated_at")) == placements


def test_a_corrected_file_updates_only_what_changed_and_never_duplicates_a_placement(
    enterprise, rows
):
    run(enterprise, rows)
    placed = [i for i, r in enumerate(rows) if r[10]]
    renamed, rechannelled, moved = placed[0], placed[1], placed[2]
    rows[renamed][1] = "改名职工"
    rows[rechannelled][10] = "灵活就业" if rows[rechannelled][10] != "灵活就业" else "内部安置"
    before = f"{rows[moved][10]} {rows[moved][11]:%Y-%m-%d}"
    rows[moved][11] = datetime.date(2018, 3, 1)
    rows[moved][10] = "公益性岗位托底安置"
    count = Placement.objects.count()
    preview = run(enterprise, rows, dry_run=True)
    assert [c.row for c in preview.changes] == sorted(
        FIRST + i for i in (renamed, rechannelled, moved)
    )
    # A later placement is added and the current one kept: the preview says so, and shows both.
    [added] = [c for c in preview.changes if c.row == FIRST + moved]
    assert added.fields == [
        ("安置（新增一条，原安置留作记录）", before, "公益性岗位托底安置 2018-03-01")
    ]
    result = run(enterprise, rows)
    assert errors(result) == []
    assert (result.created, result.updated, result.unchanged) == (0, 3, 9)
    # The rows' changes are the preview's: the import itself answers with its counts.
    assert result.changes == []
    assert Worker.objects.by_id_number(rows[renamed][2]).get().name == "改名职工"
    # Same date, another channel: that placement is updated. A new date: a new placement.
    assert Placement.objects.count() == count + 1
    worker = Worker.objects.by_id_number(rows[moved][2]).get()
    assert worker.placements.count() == 2
    assert worker.current_placement().placed_on == datetime.date(2018, 3, 1)
    again = run(enterprise, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)


def test_every_bad_row_is_listed_with_row_column_and_reason_and_nothing_is_written(
    enterprise, make_enterprise, make_worker
):
    other = make_enterprise(name="另一煤矿")
    elsewhere = make_worker(enterprise=other, id_number=synthetic_id(seq=901))
    future = timezone.localdate() + datetime.timedelta(days=3)
    bad_digit = synthetic_id(seq=11)[:17] + ("0" if synthetic_id(seq=11)[17] != "0" else "1")
    good = synthetic_id(seq=21)
    rows = [
        row(synthetic_id(seq=1)),
        row(bad_digit),
        row(1.40105197005011e17),
        row(synthetic_id(seq=31), name=""),
        row(good),
        row(good),
        row(synthetic_id(seq=41), sex="女"),
        row(synthetic_id(seq=51), birth="1971.05"),
        row(synthetic_id(seq=61), channel="去外地", placed=datetime.date(2017, 1, 1)),
        row(synthetic_id(seq=71), channel="内部安置", placed=future),
        row(synthetic_id(seq=81), channel="内部退养", placed=datetime.date(2017, 1, 1)),
        row(elsewhere.id_number),
        row(synthetic_id(seq=91), channel="内部安置"),
    ]
    result = run(enterprise, rows)
    assert result.refused
    assert errors(result) == [
        (FIRST + 1, "身份证号码", str(idnumbers.ID_NUMBER_BAD_CHECK_DIGIT)),
        (FIRST + 2, "身份证号码", str(idnumbers.ID_NUMBER_LOST_DIGITS)),
        (FIRST + 3, "姓名", str(NAME_REQUIRED)),
        (FIRST + 5, "身份证号码", DUPLICATE_IN_FILE % {"first": FIRST + 4, "row": FIRST + 5}),
        (FIRST + 6, "性别", SEX_CONTRADICTS_ID % {"expected": "男"}),
        (FIRST + 7, "出生年月", BIRTH_DATE_CONTRADICTS_ID % {"expected": "1970-05-01"}),
        (FIRST + 8, "安置方式", CHANNEL_UNKNOWN % {"value": "去外地", "choices": CHANNELS}),
        (FIRST + 9, "安置时间", str(PLACEMENT_DATE_IN_FUTURE)),
        (FIRST + 10, "安置方式", internal_retirement_message()),
        (FIRST + 11, "身份证号码", ID_NUMBER_ALREADY_REGISTERED % {"enterprise": "另一煤矿"}),
        (FIRST + 12, "安置时间", str(PLACEMENT_DATE_REQUIRED)),
    ]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert Worker.objects.filter(enterprise=enterprise).count() == 0


def test_a_bad_value_repeated_is_refused_on_every_row_and_a_good_one_kept_on_every_row(enterprise):
    """Cells that repeat are cleaned once per column (LedgerResource.clean_rows): a refused
    value is not kept, so each of its rows has its error."""
    rows = [
        row(synthetic_id(seq=1), channel="去外地", placed=datetime.date(2017, 1, 1)),
        row(synthetic_id(seq=13), channel="去外地", placed=datetime.date(2017, 1, 1)),
        row(synthetic_id(seq=15), channel="灵活就业", placed=datetime.date(2017, 1, 1)),
        row(synthetic_id(seq=17), channel="灵活就业", placed=datetime.date(2017, 1, 1)),
    ]
    result = run(enterprise, rows, dry_run=True)
    refused = CHANNEL_UNKNOWN % {"value": "去外地", "choices": CHANNELS}
    assert errors(result) == [(FIRST, "安置方式", refused), (FIRST + 1, "安置方式", refused)]

    kept = run(enterprise, rows[2:])
    assert kept.created == 2
    assert set(Placement.objects.values_list("channel", flat=True)) == {"flexible_employment"}


CHANNELS = (
    "内部安置、培训转岗、内部退养、外部分流、转移就业、自主择业、灵活就业、创新创业、"
    "公益性岗位托底安置"
)


def internal_retirement_message():
    # A man born 1970-05-01 retires at 60 plus the 2025 reform's delay.
    worker = Worker(sex="M", birth_date=datetime.date(1970, 5, 1), status=Worker.Status.WORKER)
    retires = worker.retirement_date
    start = retires.replace(year=retires.year - 5)
    return INTERNAL_RETIREMENT_OUTSIDE_WINDOW % {
        "retirement": retires.isoformat(),
        "years": 5,
        "start": start.isoformat(),
    }


def test_internal_retirement_inside_the_window_is_accepted(enterprise):
    number = synthetic_id(birth="19580301", seq=1)
    result = run(enterprise, [row(number, channel="内部退养", placed=datetime.date(2016, 6, 1))])
    assert errors(result) == []
    assert Placement.objects.get().channel == "internal_retirement"


def test_a_refused_file_leaves_stored_workers_unchanged(enterprise, rows):
    run(enterprise, rows)
    rows[0][1] = "不应保存的改名"
    rows.append(row("123"))
    result = run(enterprise, rows)
    assert result.refused
    assert Worker.objects.by_id_number(rows[0][2]).get().name != "不应保存的改名"


def test_a_dry_run_reports_the_counts_but_writes_nothing(enterprise, rows):
    result = run(enterprise, rows, dry_run=True)
    assert (result.created, result.imported) == (12, False)
    assert Worker.objects.count() == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_a_csv_roster_in_utf8_or_gbk_imports_the_same(enterprise, rows, encoding):
    data = roster_csv(rows, encoding=encoding, title_rows=["花名册"])
    result = roster_import(data=data, filename="r.csv", enterprise=enterprise, user=SYSTEM)
    assert errors(result) == []
    assert result.created == 12
    assert Worker.objects.by_id_number(rows[3][2]).get().name == rows[3][1]


def test_english_headers_and_15_digit_numbers_are_accepted(enterprise):
    old = "140105700501123"
    data = roster_xlsx(
        [["王五", old, "男"]], headers=["name", "ID number", "sex"], title_rows=(), total_row=False
    )
    result = roster_import(data=data, filename="r.xlsx", enterprise=enterprise, user=SYSTEM)
    assert errors(result) == []
    assert Worker.objects.get().id_number == idnumbers.normalize(old)


def test_a_file_without_a_header_row_is_refused_as_a_whole(enterprise):
    data = roster_xlsx([["a", "b"]], headers=["甲", "乙"])
    result = roster_import(data=data, filename="r.xlsx", enterprise=enterprise, user=SYSTEM)
    assert [(e.row, e.column) for e in result.errors] == [(None, "")]


# (first import, re-import with one name changed) by database and file size: a fixed handful
# per batch, never one per row. SQLite splits a bulk INSERT by its 999-variable limit (80
# workers are two INSERTs); PostgreSQL takes the import lock and inserts in one statement.
# The new workers' report facts are written from the rows in hand: no lock, read or delete;
# with them one INSERT (or COPY) of their monthly sums. PostgreSQL updates changed workers with
# one UPDATE a batch (no SELECT of them first), after one query a batch that holds the stored
# workers it changes (still the enterprise's, locked until the commit).
IMPORT_QUERIES = {
    ("sqlite", 10): (11, 10),
    ("sqlite", 80): (13, 10),
    ("postgresql", 10): (12, 10),
    ("postgresql", 80): (12, 10),
}


@pytest.mark.parametrize("size", [10, 80])
def test_queries_do_not_grow_with_the_number_of_rows(enterprise, django_assert_num_queries, size):
    first, again = IMPORT_QUERIES[connection.vendor, size]
    rows = roster_rows(size, seed=size)
    with django_assert_num_queries(first):
        run(enterprise, rows)
    rows[0][1] = "改名"
    with django_assert_num_queries(again):
        result = run(enterprise, rows)
    assert result.updated == 1


def test_an_import_records_audit_history_for_every_row_it_writes(enterprise, rows, make_user):
    officer = make_user("hr", username="hr-import")
    run(enterprise, rows, user=officer)
    workers = Worker.history.filter(history_type="+")
    assert workers.count() == 12
    sources = set(workers.values_list("history_source", flat=True))
    assert len(sources) == 1 and sources.pop().startswith("import:roster:")
    assert set(workers.values_list("history_user__username", flat=True)) == {"hr-import"}
    placed = sum(1 for r in rows if r[10])
    assert Placement.history.filter(history_type="+").count() == placed

    run(enterprise, rows, user=officer)
    assert Worker.history.count() == 12, "an identical re-import writes no history"

    changed = [list(r) for r in rows]
    changed[0][ROSTER_HEADERS.index("岗位")] = "调度员"
    run(enterprise, changed, user=officer)
    update = Worker.history.get(history_type="~")
    assert update.post == "调度员" and update.history_user == officer


def test_a_worker_registered_during_the_import_refuses_it_cleanly(enterprise, rows, monkeypatch):
    from placement import imports
    from placement.imports import IMPORT_CONFLICT

    real_write = imports._roster_write

    def racing_write(**kwargs):
        # Another path registers one of the file's workers between the check and the write.
        number = rows[0][2]
        from placement.services import worker_register

        worker_register(enterprise=enterprise, id_number=number, name="同时登记", actor=SYSTEM)
        real_write(**kwargs)

    monkeypatch.setattr(imports, "_roster_write", racing_write)
    result = run(enterprise, rows)
    assert errors(result) == [(None, "", str(IMPORT_CONFLICT))]
    assert Worker.objects.count() == 0


def test_a_blank_status_keeps_a_stored_cadre_a_cadre(enterprise):
    number = synthetic_id(birth="19700501", seq=124)
    run(enterprise, [row(number, sex="女", 身份="干部")])
    result = run(enterprise, [row(number, sex="女", 身份=None)])
    assert (result.updated, result.unchanged) == (0, 1)
    assert Worker.objects.get().status == Worker.Status.CADRE


def test_a_month_only_placement_date_matches_the_stored_placement_of_that_month(enterprise):
    number = synthetic_id(seq=125)
    run(enterprise, [row(number, channel="灵活就业", placed=datetime.date(2017, 3, 15))])
    result = run(enterprise, [row(number, channel="灵活就业", placed="2017.03")])
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Placement.objects.get().placed_on == datetime.date(2017, 3, 15)


def test_the_preview_masks_phones_and_typed_numbers_for_users_who_may_not_see_them(
    enterprise, make_user
):
    number = synthetic_id(seq=127)
    run(enterprise, [row(number, 联系电话="13812345678")])
    viewer = make_user("county")  # sees the enterprise, not full numbers
    # Granted the change of workers (a row changing one needs it), not the full numbers.
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_worker", "add_placement"])
    )
    viewer = type(viewer).objects.get(pk=viewer.pk)
    result = run(enterprise, [row(number, 联系电话="13900001111")], dry_run=True, user=viewer)
    assert result.changes[0].fields == [("联系电话", "138****5678", "139****1111")]
    other = synthetic_id(seq=129)
    refused = run(
        enterprise, [row(other, channel=other, placed=datetime.date(2017, 3, 1))], user=viewer
    )
    assert refused.errors and all(other not in e.message for e in refused.errors)


def test_a_worker_placed_before_the_import_is_registered_from_that_day(enterprise):
    placed, waiting = synthetic_id(seq=131), synthetic_id(seq=133)
    run(
        enterprise,
        [row(placed, channel="内部安置", placed=datetime.date(2017, 3, 1)), row(waiting)],
    )
    assert Worker.objects.by_id_number(placed).get().registered_on == datetime.date(2017, 3, 1)
    assert Worker.objects.by_id_number(waiting).get().registered_on == timezone.localdate()


def test_the_facts_a_first_import_writes_are_those_a_rebuild_computes(enterprise):
    from reports.facts import report_facts_rebuild
    from reports.models import PlacementFact

    rows = roster_rows(40, seed=21)
    run(enterprise, rows)
    columns = ("worker_id", "enterprise_id", "kind", "channel", "start", "end")
    written = sorted(PlacementFact.objects.values_list(*columns))
    assert {kind for _w, _e, kind, *_rest in written} == {"registered", "current", "first_in_year"}

    report_facts_rebuild()

    assert sorted(PlacementFact.objects.values_list(*columns)) == written


def test_a_phone_that_is_neither_a_mobile_nor_a_landline_is_refused_naming_its_row(enterprise):
    from placement.models import PHONE_INVALID

    numbers = [synthetic_id(seq=seq) for seq in (11, 13, 15)]
    rows = [
        row(numbers[0], 联系电话="0351-1234567"),
        row(numbers[1], 联系电话="12345"),
        row(numbers[2], 联系电话="13812345678"),
    ]
    result = run(enterprise, rows)
    assert errors(result) == [(FIRST + 1, "联系电话", str(PHONE_INVALID))]
    assert Worker.objects.count() == 0


def test_a_reimport_changes_only_what_changed_for_each_worker(enterprise, rows):
    run(enterprise, rows)
    before = {w.id_number: w for w in Worker.objects.all()}
    changed = [list(r) for r in rows]
    changed[0][ROSTER_HEADERS.index("姓名")] = "改名"
    changed[1][ROSTER_HEADERS.index("岗位")] = "调度员"
    changed[2][ROSTER_HEADERS.index("联系电话")] = "13900001111"

    result = run(enterprise, changed)

    assert (result.updated, result.unchanged) == (3, 9)
    after = {w.id_number: w for w in Worker.objects.all()}
    fields = ["name", "post", "phone", "status", "special_work_type", "hire_date"]
    fields += ["registered_on", "registered_on_source", "diversion_year", "id_number_cipher"]
    expected = {0: {"name": "改名"}, 1: {"post": "调度员"}, 2: {"phone": "13900001111"}}
    for index, values in enumerate(rows):
        old, new = before[values[2]], after[values[2]]
        differ = {f: getattr(new, f) for f in fields if getattr(old, f) != getattr(new, f)}
        assert differ == expected.get(index, {}), index
    assert Worker.history.filter(history_type="~").count() == 3


def test_an_earlier_placement_added_to_the_history_is_previewed_as_such(enterprise, rows):
    """A placement dated before the current one goes into the history and leaves the current
    one current: the preview shows it alone, not as a change of the current placement (and the
    diversion date the first import took from the later placement moves to the earlier one)."""
    run(enterprise, rows)
    moved = next(i for i, r in enumerate(rows) if r[10] and r[11] > datetime.date(2016, 2, 1))
    rows[moved][11] = datetime.date(2016, 1, 15)
    rows[moved][10] = "灵活就业" if rows[moved][10] != "灵活就业" else "内部安置"
    preview = run(enterprise, rows, dry_run=True)
    [change] = preview.changes
    labels = [label for label, _old, _new in change.fields]
    assert labels == ["分流时间", "安置时间", "安置方式"]
    assert change.fields[0][2].startswith("2016-01-15（")
    assert [old for _label, old, _new in change.fields[1:]] == ["", ""]


def grouped(rows, merges) -> bytes:
    """An .xlsx of `rows` with the given cells merged (a header grouped as officers do)."""
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(values)
    for merge in merges:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_file(enterprise, data: bytes):
    return roster_import(data=data, filename="roster.xlsx", enterprise=enterprise, user=SYSTEM)


def test_a_roster_with_its_placement_columns_grouped_under_a_second_header_row_is_imported(
    enterprise,
):
    """安置情况 over 安置方式 and 安置时间, the other headers merged down over both rows: the
    placements are read, and the first data row keeps the number the spreadsheet shows."""
    data = grouped(
        [
            ["样例煤业分流职工花名册"],
            ["序号", "姓名", "公民身份号码", "性别", "安置情况", None],
            [None, None, None, None, "安置方式", "安置时间"],
            [1, "张三", synthetic_id(seq=1), "男", "内部安置", "2017-03-01"],
            [2, "李四", synthetic_id(seq=3), "男", "", None],
        ],
        [*(f"{column}2:{column}3" for column in "ABCD"), "E2:F2"],
    )
    result = import_file(enterprise, data)
    assert errors(result) == []
    assert (result.created, result.unused_columns) == (2, [])
    placement = Placement.objects.get()
    assert placement.worker.name == "张三"
    assert (placement.channel, placement.placed_on) == (
        "internal_transfer",
        datetime.date(2017, 3, 1),
    )


def header_read(data):
    from placement.resources import RosterResource

    table = RosterResource().read(data, filename="roster.xlsx")
    columns = {name: index for name, (index, _header) in table.columns.items()}
    return table.header_row, columns, table.unused, [number for number, _cells in table.rows]


NAME_ID = {"name": 1, "id_number": 2}


@pytest.mark.parametrize(
    ("rows", "merges", "expected"),
    [
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "安置去向", None, None],
                [None, None, None, "安置单位", "安置方式", "安置时间"],
                [1, "张三", synthetic_id(seq=1), "本矿", "内部安置", "2017-03-01"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:F1"],
            (2, NAME_ID | {"destination_unit": 3, "channel": 4, "placed_on": 5}, [], [3]),
            id="a group header that is a name yields to its sub-headers",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "岗位", None],
                [None, None, None, "是否特殊工种", "工种"],
                [1, "张三", synthetic_id(seq=1), "是", "采煤工"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:E1"],
            (2, NAME_ID | {"special_work_type": 3, "post": 4}, [], [3]),
            id="岗位 over 是否特殊工种 and 工种",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "安置情况", None, None],
                [None, None, None, "安置方式", "安置时间", "安置岗位"],
                [1, "张三", synthetic_id(seq=1), "内部安置", "2017-03-01", "检修工"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:F1"],
            (2, NAME_ID | {"channel": 3, "placed_on": 4}, ["安置岗位"], [3]),
            id="a sub-header with no known name is left unread",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "性别"],
                [None, None, None, None],
                [1, "张三", synthetic_id(seq=1), "男"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:D2"],
            (2, NAME_ID | {"sex": 3}, [], [3]),
            id="headers merged down over two rows",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "安置情况", None, None],
                [None, None, None, "安置方式", "安置时间", "安置单位"],
                [None] * 6,
                [1, "张三", synthetic_id(seq=1), "内部安置", "2017-03-01", "本矿"],
            ],
            ["A1:A3", "B1:B3", "C1:C3", "D1:F1", "D2:D3", "E2:E3", "F2:F3"],
            (3, NAME_ID | {"channel": 3, "placed_on": 4, "destination_unit": 5}, [], [4]),
            id="a header of three rows",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "性别", "紧急联系人", None],
                [None, None, None, None, "姓名", "联系电话"],
                [1, "张三", synthetic_id(seq=1), "男", "张父", "13800138000"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"],
            (2, NAME_ID | {"sex": 3}, ["紧急联系人", "姓名", "联系电话"], [3]),
            id="another person's columns are left unread",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "紧急联系人", None, "联系电话"],
                [None, None, None, "关系", "联系电话", None],
                [1, "张三", synthetic_id(seq=1), "父子", "13900000001", "13800000002"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:E1", "F1:F2"],
            (2, NAME_ID | {"phone": 5}, ["紧急联系人", "关系", "联系电话"], [3]),
            id="the worker's phone beside a contact's",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "安置情况", None, "接收单位", None],
                [None, None, None, "安置方式", "安置时间", "单位名称", "联系电话"],
                [1, "张三", synthetic_id(seq=1), "灵活就业", "2017-03-01", "某物流公司", "0351"],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:E1", "F1:G1"],
            (
                2,
                NAME_ID | {"channel": 3, "placed_on": 4},
                ["接收单位", "单位名称", "联系电话"],
                [3],
            ),
            id="an employer's columns are left unread",
        ),
        pytest.param(
            [
                ["序号", "姓名", "公民身份号码", "其他信息", None],
                [None, None, None, "姓名", "备注"],
                [1, "张三", synthetic_id(seq=1), "张父", ""],
            ],
            ["A1:A2", "B1:B2", "C1:C2", "D1:E1"],
            (1, NAME_ID, ["其他信息"], [2, 3]),
            id="a name found elsewhere above: the row is read as data",
        ),
    ],
)
def test_headers_of_several_rows_are_read_as_officers_group_them(rows, merges, expected):
    assert header_read(grouped(rows, merges)) == expected


def test_an_emergency_contacts_phone_is_never_stored_as_the_workers(enterprise):
    """紧急联系人 over 关系 and 联系电话, the worker's own phone nowhere: the contact's columns are
    left unread (and listed as such), the worker imported without a phone."""
    data = grouped(
        [
            ["序号", "姓名", "公民身份号码", "性别", "紧急联系人", None],
            [None, None, None, None, "关系", "联系电话"],
            [1, "张三", synthetic_id(seq=1), "男", "父子", "13900000001"],
        ],
        ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"],
    )
    result = import_file(enterprise, data)
    assert errors(result) == [] and result.created == 1
    assert result.unused_columns == ["紧急联系人", "关系", "联系电话"]
    assert Worker.objects.get().phone == ""


def test_a_groups_code_is_never_read_as_the_enterprises_own(db):
    """上级集团公司 over 名称 and 统一社会信用代码, left of the enterprise's own code: the group's
    columns are another party's, left unread and listed; the mine is registered under its own
    code and the registered group is left as it was."""
    from enterprises.imports import enterprise_import
    from enterprises.models import Enterprise
    from tests.enterprises.test_enterprise_import import GROUP, MINE, ROWS
    from tests.enterprises.test_enterprise_import import run as enterprises_run

    assert enterprises_run(ROWS[1:]).imported  # the group is registered
    data = grouped(
        [
            ["企业名称", "上级集团公司", None, "统一社会信用代码", "行业", "所在地区代码"],
            [None, "名称", "统一社会信用代码", None, None, None],
            ["样例煤矿一矿", "样例集团", GROUP, MINE, "煤炭", "140105"],
        ],
        ["A1:A2", "B1:C1", "D1:D2", "E1:E2", "F1:F2"],
    )
    result = enterprise_import(data=data, filename="e.xlsx", user=SYSTEM)
    assert result.errors == [] and result.created == 1
    assert result.unused_columns == ["上级集团公司", "名称", "统一社会信用代码"]
    assert Enterprise.objects.get(credit_code=GROUP).name == "样例集团"
    assert Enterprise.objects.get(credit_code=MINE).name == "样例煤矿一矿"


def test_a_form_numbering_its_columns_under_the_header_is_imported(enterprise):
    """栏次 | 甲 | 乙 | 1 … under the header, as government forms number their columns: passed
    over, where it had been refused as a worker whose ID number "lost its digits"."""
    data = grouped(
        [
            ["序号", "姓名", "公民身份号码", "性别"],
            ["栏次", "甲", "乙", 1],
            [1, "张三", synthetic_id(seq=1), "男"],
        ],
        [],
    )
    result = import_file(enterprise, data)
    assert errors(result) == [] and result.created == 1
    assert Worker.objects.get().name == "张三"
