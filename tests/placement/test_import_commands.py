"""The import commands: one JSON object with --json, exit status 0 when imported or a clean dry
run, 1 when refused; progress on stderr."""

import io
import json

import pytest
from django.core.management import call_command

from placement.demo_rosters import roster_rows, roster_xlsx
from placement.models import Worker


def counts(out):
    """The JSON answer's counts and errors (it also says how dates were read, tested elsewhere)."""
    answer = json.loads(out)
    return {key: answer[key] for key in ("created", "updated", "unchanged", "errors")}


def command(name, path, *args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(name, str(path), *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def roster_file(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster_xlsx(roster_rows(5, seed=1)))
    return path


def test_import_roster_prints_json_and_exits_0(enterprise, roster_file):
    args = ["--enterprise", enterprise.credit_code, "--json"]
    code, out, _err = command("import_roster", roster_file, *args)
    assert code == 0
    assert counts(out) == {"created": 5, "updated": 0, "unchanged": 0, "errors": []}
    code, out, _err = command("import_roster", roster_file, *args)
    assert counts(out) == {"created": 0, "updated": 0, "unchanged": 5, "errors": []}


def test_a_dry_run_exits_0_and_writes_nothing(enterprise, roster_file):
    args = ["--enterprise", enterprise.credit_code, "--dry-run", "--json"]
    code, out, _err = command("import_roster", roster_file, *args)
    assert (code, json.loads(out)["created"]) == (0, 5)
    assert Worker.objects.count() == 0


def test_a_refused_file_exits_1_and_lists_its_errors(enterprise, tmp_path):
    rows = roster_rows(2, seed=1)
    last = "0" if rows[1][2][17] != "0" else "1"
    rows[1][2] = rows[1][2][:17] + last
    path = tmp_path / "bad.xlsx"
    path.write_bytes(roster_xlsx(rows))
    code, out, _err = command(
        "import_roster", path, "--enterprise", enterprise.credit_code, "--json"
    )
    assert code == 1
    answer = json.loads(out)
    assert answer["created"] == 0
    assert [(e["row"], e["column"]) for e in answer["errors"]] == [(5, "身份证号码")]
    assert Worker.objects.count() == 0


def test_progress_goes_to_stderr_and_the_summary_to_stdout(enterprise, roster_file, monkeypatch):
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 2)
    code, out, err = command("import_roster", roster_file, "--enterprise", enterprise.credit_code)
    assert code == 0
    assert "新增 5" in out
    assert err.splitlines() == ["已读取 2 行", "已读取 4 行", "已读取 5 行"]
    assert "已读取" not in out


def test_import_targets_and_import_enterprises_answer_in_json(enterprise, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("年度,地区代码,目标任务（人）\n2017,140100,900\n", encoding="utf-8")
    code, out, _err = command("import_targets", path, "--json")
    assert (code, json.loads(out)["created"]) == (0, 1)
    path = tmp_path / "enterprises.csv"
    path.write_text(
        "企业名称,统一社会信用代码,行业,所在地区代码\n"
        f"{enterprise.name},{enterprise.credit_code},煤炭,{enterprise.region.code}\n",
        encoding="gbk",
    )
    code, out, _err = command("import_enterprises", path, "--json")
    assert code == 0
    assert counts(out) == {"created": 0, "updated": 0, "unchanged": 1, "errors": []}


def test_the_sample_roster_under_fixtures_imports_cleanly(enterprise):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "fixtures" / "rosters" / "sample_roster.xlsx"
    code, out, _err = command(
        "import_roster", path, "--enterprise", enterprise.credit_code, "--json"
    )
    assert (code, json.loads(out)["created"]) == (0, 60)
