"""The bulk writes of the imports and the demo (database.bulk: unnest of array literals and COPY
on PostgreSQL) store text exactly as given, whatever characters it holds, and give the objects
their keys in order."""

import datetime

import pytest
from django.db import connection

from access.actors import SYSTEM
from placement import idnumbers
from placement.models import Placement, Worker
from placement.services import workers_bulk_register
from reports.models import PlacementFact
from tests.conftest import synthetic_id

# Each is special somewhere: array literals (quote, backslash, braces, comma, NULL), COPY's
# text format (backslash, tab, line breaks, \N).
AWKWARD = ['引号"', "反斜杠\\", "{大括号}", "逗号,", "NULL", "制表\t符", "换\n行\r", "\\N", ""]


def test_bulk_registration_stores_awkward_text_exactly_and_keys_in_order(enterprise):
    workers, placements = [], []
    for i, text in enumerate(AWKWARD):
        number = synthetic_id(seq=i * 2 + 1)
        worker = Worker(
            enterprise=enterprise,
            name=f"职工{i}",
            sex="M",
            birth_date=datetime.date(1970, 5, 1),
            post=text,
            registered_on=datetime.date(2016, 7, 1),
            id_number_digest=idnumbers.digest(number),
            id_number_cipher=idnumbers.encrypt(number),
        )
        workers.append(worker)
        placements.append(
            Placement(
                worker=worker,
                channel="internal_transfer",
                placed_on=datetime.date(2017, 3, 1),
                destination_unit=text,
                ended_on=None,
            )
        )
    workers_bulk_register(batches=[(workers, placements)], actor=SYSTEM, source="test")

    stored = dict(Worker.objects.values_list("pk", "post"))
    assert [stored[worker.pk] for worker in workers] == AWKWARD
    names = dict(Worker.objects.values_list("pk", "name"))
    assert [names[worker.pk] for worker in workers] == [f"职工{i}" for i in range(len(AWKWARD))]
    units = dict(Placement.objects.values_list("pk", "destination_unit"))
    assert [units[p.pk] for p in placements] == AWKWARD
    assert all(p.ended_on is None for p in Placement.objects.all())
    # The facts, written by COPY: registered, first in 2017 and the current span of each worker.
    facts = PlacementFact.objects.filter(worker__in=workers)
    assert facts.count() == 3 * len(AWKWARD)
    assert facts.filter(kind="current", end__isnull=True, channel="internal_transfer").count() == (
        len(AWKWARD)
    )


def test_rows_inserted_as_tuples_store_text_exactly_take_defaults_and_keys_in_order(enterprise):
    from database.bulk import insert_rows

    fields = ["enterprise_id", "id_number_digest", "id_number_cipher", "name", "sex"]
    fields += ["birth_date", "post", "registered_on"]
    numbers = [synthetic_id(seq=i * 2 + 1) for i in range(len(AWKWARD))]
    rows = [
        (enterprise.pk, idnumbers.digest(number), idnumbers.encrypt(number), f"职工{i}", "M")
        + (datetime.date(1970, 5, 1), text, datetime.date(2016, 7, 1))
        for i, (number, text) in enumerate(zip(numbers, AWKWARD, strict=True))
    ]
    ids = insert_rows(Worker, fields, rows)

    stored = {worker.pk: worker for worker in Worker.objects.all()}
    assert [stored[pk].post for pk in ids] == AWKWARD
    assert [stored[pk].name for pk in ids] == [f"职工{i}" for i in range(len(AWKWARD))]
    assert [stored[pk].id_number for pk in ids] == numbers
    first = stored[ids[0]]
    # The fields not named: the models' defaults, the times of the insert.
    assert (first.status, first.phone, first.hire_date, first.diversion_year) == (
        "worker",
        "",
        None,
        None,
    )
    assert first.special_work_type is False and first.employment_difficulty is False
    assert first.created_at is not None and first.updated_at is not None
    assert insert_rows(Worker, fields, []) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores varchar lengths")
def test_text_too_long_for_its_column_is_refused_not_cut(enterprise):
    from django.db import DatabaseError, transaction

    from database.bulk import insert_rows

    number = synthetic_id(seq=3)
    row = (enterprise.pk, idnumbers.digest(number), idnumbers.encrypt(number), "名" * 51, "M")
    row += (datetime.date(1970, 5, 1), datetime.date(2016, 7, 1))
    fields = ["enterprise_id", "id_number_digest", "id_number_cipher", "name", "sex"]
    fields += ["birth_date", "registered_on"]
    with pytest.raises(DatabaseError), transaction.atomic():
        insert_rows(Worker, fields, [row])
    assert not Worker.objects.exists()


def test_a_column_without_quotes_or_backslashes_is_joined_whole_and_stored_exactly(enterprise):
    """database.bulk._array_literal joins a column of one type without NULLs in one go (text
    without quotes or backslashes, whole numbers, dates): braces, commas, the word NULL, white
    space and the empty text still come back as they were."""
    from database.bulk import _array_literal, _array_literal_each, insert_rows

    texts = ["{大括号}", "逗号,", "NULL", "制表\t符", "换\n行\r", "", " 前后空格 ", "普通"]
    columns = [
        texts,
        [1, 22, -3, 4_000_000_000],
        [datetime.date(1970, 5, 1), datetime.date(2016, 12, 31)],
    ]
    for column in columns:
        # The same literal as value by value (which PostgreSQL reads back exactly, above).
        assert _array_literal(column) == _array_literal_each(column)
    fields = ["enterprise_id", "id_number_digest", "id_number_cipher", "name", "sex"]
    fields += ["birth_date", "post", "registered_on"]
    numbers = [synthetic_id(seq=i * 2 + 1) for i in range(len(texts))]
    rows = [
        (enterprise.pk, idnumbers.digest(number), idnumbers.encrypt(number), f"职工{i}", "M")
        + (datetime.date(1970, 5, 1 + i), text, datetime.date(2016, 7, 1))
        for i, (number, text) in enumerate(zip(numbers, texts, strict=True))
    ]
    ids = insert_rows(Worker, fields, rows)
    stored = {worker.pk: worker for worker in Worker.objects.all()}
    assert [stored[pk].post for pk in ids] == texts
    assert [stored[pk].birth_date.day for pk in ids] == list(range(1, len(texts) + 1))
    assert [stored[pk].enterprise_id for pk in ids] == [enterprise.pk] * len(texts)
