"""Helpers for report tests: placements through the real service, workers in bulk for the
article-sized cases."""

import datetime

import pytest

from placement import idnumbers
from placement.models import Placement, Worker
from placement.services import worker_place
from tests.conftest import synthetic_id


@pytest.fixture
def place():
    def place(worker, on, channel="internal_transfer", ended_on=None):
        return worker_place(worker=worker, channel=channel, placed_on=on, ended_on=ended_on)

    return place


def bulk_workers(*, enterprise, count, registered_on, start=0):
    """`count` workers of one enterprise written in bulk (the article-sized cases). The ID
    numbers are synthetic and distinct; only the selectors read these rows."""
    base = datetime.date(1970, 1, 1)
    rows = []
    for i in range(start, start + count):
        birth = base + datetime.timedelta(days=i // 400)
        number = synthetic_id(birth=birth.strftime("%Y%m%d"), seq=i % 400 * 2 + 1)
        rows.append(
            Worker(
                enterprise=enterprise,
                name=f"批量职工{i:05d}",
                sex="M",
                birth_date=birth,
                registered_on=registered_on,
                id_number_digest=idnumbers.digest(number),
                id_number_cipher=idnumbers.encrypt(number),
            )
        )
    return Worker.objects.bulk_create(rows, batch_size=2000)


def bulk_place(workers, *, on, channel="internal_transfer"):
    Placement.objects.bulk_create(
        [Placement(worker=w, channel=channel, placed_on=on) for w in workers], batch_size=2000
    )
