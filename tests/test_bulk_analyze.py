"""Bulk writes leave fresh planner statistics behind: the imports, the demo seeder and the
report facts' refresh analyse the tables they wrote once they commit, when they wrote at least
LEDGER_ANALYZE_AFTER_ROWS rows (PostgreSQL planned the first reports after a bulk load without
statistics and took seconds)."""

from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from access.actors import SYSTEM
from database.analyze import tables_analyze
from enterprises.imports import enterprise_import
from placement.demo import credit_code
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.imports import roster_import, target_import
from placement.models import Worker
from reports.models import PlacementFact
from tests.conftest import xlsx_bytes


def analyse_counts() -> dict[str, int]:
    """How many times each table has been analysed (SQLite: whether it has statistics)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT relname, analyze_count FROM pg_stat_user_tables")
            return dict(cursor.fetchall())
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone():
            return {}
        cursor.execute("SELECT tbl, 1 FROM sqlite_stat1 GROUP BY tbl")
        return dict(cursor.fetchall())


@pytest.fixture
def analysed_during(django_capture_on_commit_callbacks):
    """A block whose commit callbacks run at its end; it gives the set of tables analysed."""

    @contextmanager
    def watch():
        before = analyse_counts()
        tables: set[str] = set()
        with django_capture_on_commit_callbacks(execute=True):
            yield tables
        tables |= {t for t, n in analyse_counts().items() if n > before.get(t, 0)}

    return watch


def test_a_write_below_the_threshold_asks_for_no_analyse(db, settings):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 5000
    assert not tables_analyze(models=[Worker], rows=4999)
    assert tables_analyze(models=[Worker], rows=5000)


def import_30_workers(enterprise, **kwargs):
    data = roster_xlsx(roster_rows(30, seed=5))
    return roster_import(data=data, filename="r.xlsx", enterprise=enterprise, user=SYSTEM, **kwargs)


def test_a_large_roster_import_analyses_workers_placements_and_their_history(
    enterprise, settings, analysed_during
):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 20
    with analysed_during() as tables:
        result = import_30_workers(enterprise)
    assert result.created == 30
    assert {
        "placement_worker",
        "placement_placement",
        "placement_historicalworker",
        "placement_historicalplacement",
    } <= tables


def test_a_small_roster_import_analyses_nothing(enterprise, settings, analysed_during):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 5000
    with analysed_during() as tables:
        import_30_workers(enterprise)
    assert tables == set()


def test_a_dry_run_analyses_nothing(enterprise, settings, analysed_during):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 1
    with analysed_during() as tables:
        import_30_workers(enterprise, dry_run=True)
    assert tables == set()


def test_large_enterprise_and_target_imports_analyse_their_tables(db, settings, analysed_during):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 3
    codes = [credit_code("140105", 600 + i) for i in range(3)]
    with analysed_during() as tables:
        enterprise_import(
            data=xlsx_bytes(
                [["企业名称", "统一社会信用代码", "行业", "所在地区代码"]]
                + [[f"样例煤矿{i}", code, "煤炭", "140105"] for i, code in enumerate(codes)]
            ),
            filename="e.xlsx",
            user=SYSTEM,
        )
        target_import(
            data=xlsx_bytes(
                [["年度", "地区代码", "统一社会信用代码", "目标任务（人）"]]
                + [[2017, None, code, 10] for code in codes]
            ),
            filename="t.xlsx",
            user=SYSTEM,
        )
    assert {
        "enterprises_enterprise",
        "enterprises_historicalenterprise",
        "placement_annualtarget",
        "placement_historicalannualtarget",
    } <= tables


def test_seed_demo_analyses_the_ledger_and_leaves_the_report_facts_built(
    db, settings, analysed_during
):
    settings.LEDGER_ANALYZE_AFTER_ROWS = 100
    with analysed_during() as tables:
        call_command("seed_demo", workers=200, stdout=StringIO())
    assert {
        "enterprises_region",
        "enterprises_enterprise",
        "placement_worker",
        "placement_placement",
        "placement_annualtarget",
        "reports_placementfact",
    } <= tables
    # Built with the workers: the first report finds nothing left to compute.
    assert PlacementFact.objects.filter(kind=PlacementFact.Kind.REGISTERED).count() == 200


def test_refresh_report_facts_analyses_the_facts(make_worker, settings, analysed_during):
    for _ in range(3):
        make_worker()
    # Lowered after the workers are made: their writes count toward the same (test) transaction.
    settings.LEDGER_ANALYZE_AFTER_ROWS = 3
    settings.LEDGER_ANALYZE_SHARE = 0  # 3 workers' facts are no share of the regions
    with analysed_during() as tables:
        call_command("refresh_report_facts", stdout=StringIO())
    # With the small tables the counts join: a plan guessed without them was 5× slower.
    assert {"reports_placementfact", "enterprises_enterprise", "enterprises_region"} <= tables


def test_writes_in_one_transaction_add_up_and_each_table_is_analysed_once(
    db, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """An import written in chunks asks after each chunk: below the threshold one at a time, the
    chunks together reach it, and the commit analyses every table named, once."""
    from django.db import transaction

    from placement.models import Placement

    settings.LEDGER_ANALYZE_AFTER_ROWS = 10
    settings.LEDGER_ANALYZE_SHARE = 0  # the tally alone, whatever the tables hold
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        assert not tables_analyze(models=[Worker], rows=6)
        assert tables_analyze(models=[Worker, Placement], rows=6)
        assert tables_analyze(models=[Worker, PlacementFact], rows=6)
    statements = []
    monkeypatch.setattr("database.analyze._analyze", statements.append)
    for callback in callbacks:
        callback()
    assert statements == [["placement_placement", "placement_worker", "reports_placementfact"]]


def test_a_rolled_back_savepoint_takes_its_rows_with_it(db, settings):
    """A tally begun inside a savepoint that is rolled back is forgotten: the next writes count
    from zero (the rows they follow were never written)."""
    from django.db import transaction

    settings.LEDGER_ANALYZE_AFTER_ROWS = 10
    with transaction.atomic():
        try:
            with transaction.atomic():
                assert not tables_analyze(models=[Worker], rows=8)
                raise RuntimeError
        except RuntimeError:
            pass
        assert not tables_analyze(models=[Worker], rows=8)
        assert tables_analyze(models=[Worker], rows=2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row counts")
def test_a_table_is_analysed_only_when_the_rows_written_are_a_share_of_it(make_worker, settings):
    """As autovacuum waits for: more than LEDGER_ANALYZE_SHARE of the rows the statistics know
    (10,000 workers corrected among 100,000 leave them as they were)."""
    from database.analyze import _due

    for _ in range(40):
        make_worker()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE placement_worker")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'placement_worker'")
        known = cursor.fetchone()[0]
    assert known >= 40
    settings.LEDGER_ANALYZE_SHARE = 0.1
    share = int(0.1 * known)
    assert _due({"placement_worker": share}) == []
    assert _due({"placement_worker": share + 1}) == ["placement_worker"]
    settings.LEDGER_ANALYZE_SHARE = 0  # no share: every table written
    assert _due({"placement_worker": 1}) == ["placement_worker"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics targets")
def test_no_statistics_are_gathered_for_the_id_numbers_ciphertext_and_digest(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attstattarget FROM pg_attribute"
            " WHERE attname IN ('id_number_cipher', 'id_number_digest', 'name')"
            " AND attrelid::regclass::text IN ('placement_worker', 'placement_historicalworker')"
        )
        targets = {(table, column): target for table, column, target in cursor.fetchall()}
    for table in ("placement_worker", "placement_historicalworker"):
        assert targets[(table, "id_number_cipher")] == targets[(table, "id_number_digest")] == 0
        assert targets[(table, "name")] != 0  # the others keep the default


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row counts")
def test_each_table_is_counted_with_the_rows_written_into_it(
    make_worker, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """Placements written among analysed workers analyse the placements' tables, not the
    workers' (a count for every table named analysed the workers' 40 for 6 placements)."""
    from django.db import transaction

    from placement.services import _analyze_ledger

    for _ in range(40):
        make_worker()
    with connection.cursor() as cursor:
        for table in ("worker", "historicalworker", "placement", "historicalplacement"):
            cursor.execute(f"ANALYZE placement_{table}")
    settings.LEDGER_ANALYZE_AFTER_ROWS = 1
    settings.LEDGER_ANALYZE_SHARE = 0.1
    statements = []
    monkeypatch.setattr("database.analyze._analyze", statements.append)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _analyze_ledger(placements=6)
    [analysed] = statements  # with the tables the workers' own writes asked for
    assert {"placement_placement", "placement_historicalplacement"} <= set(analysed)
    assert not {"placement_worker", "placement_historicalworker"} & set(analysed)


TWO_SIDES = ["placement_worker", "placement_historicalworker", "placement_placement"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second session of the server")
@pytest.mark.django_db(transaction=True)
def test_after_a_commit_the_tables_are_analysed_two_at_once_on_a_second_connection(monkeypatch):
    """An ANALYZE uses one core of the server: outside a transaction the tables are shared
    between the connection and a second one, and every table is analysed."""
    from database import analyze

    sides = []
    analyze_on = analyze._analyze_on

    def watched(conn, tables):
        analyze_on(conn, tables)
        sides.append((conn.connection.info.backend_pid, list(tables)))

    monkeypatch.setattr(analyze, "_analyze_on", watched)
    before = analyse_counts()
    analyze._analyze(TWO_SIDES)
    after = analyse_counts()
    assert all(after[table] == before.get(table, 0) + 1 for table in TWO_SIDES)
    assert len({pid for pid, _tables in sides}) == 2
    assert sorted(table for _pid, tables in sides for table in tables) == sorted(TWO_SIDES)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second session of the server")
@pytest.mark.django_db(transaction=True)
def test_a_failure_on_the_second_connection_is_raised_once_the_first_has_done_its_share(
    monkeypatch,
):
    from django.db import DatabaseError

    from database import analyze

    done = []
    analyze_on = analyze._analyze_on

    def second_fails(conn, tables):
        if conn is not connection:
            raise DatabaseError("the second session was lost")
        analyze_on(conn, tables)
        done.extend(tables)

    monkeypatch.setattr(analyze, "_analyze_on", second_fails)
    with pytest.raises(DatabaseError):
        analyze._analyze(TWO_SIDES)
    assert done and set(done) < set(TWO_SIDES)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second session of the server")
@pytest.mark.django_db(transaction=True)
def test_every_table_is_analysed_when_no_second_connection_can_be_had(monkeypatch):
    """The server's or a pooler's limit of clients: the first connection analyses the second's
    tables after its own."""
    from django.db import connections

    from database import analyze

    create = connections.create_connection

    def refused(alias):
        other = create(alias)
        other.settings_dict = {**other.settings_dict, "PORT": "1"}  # nothing listens there
        return other

    monkeypatch.setattr(connections, "create_connection", refused)
    before = analyse_counts()
    analyze._analyze(TWO_SIDES)
    after = analyse_counts()
    assert all(after[table] == before.get(table, 0) + 1 for table in TWO_SIDES)
