"""Helpers for report tests: placements through the real service, workers in bulk for the
article-sized cases."""

import datetime

from access.actors import SYSTEM
from placement import idnumbers
from placement.models import Placement, Worker
from placement.services import placements_bulk_add, workers_bulk_register
from tests.conftest import synthetic_id


def bulk_workers(*, enterprise, count, registered_on, start=0):
    """`count` workers of one enterprise written through the bulk service the import uses (the
    article-sized cases). The ID numbers are synthetic and distinct."""
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
    workers_bulk_register(batches=[(rows, [])], actor=SYSTEM, source="test", history=False)
    return rows


def bulk_place(workers, *, on, channel="internal_transfer"):
    placements_bulk_add(
        placements=[Placement(worker=w, channel=channel, placed_on=on) for w in workers],
        actor=SYSTEM,
        source="test",
    )
