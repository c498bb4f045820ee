"""The fixture world of the access tests: two enterprises in two counties of one city (太原: 小店区
and 迎泽区), a third in another city (大同), one user per role and a deactivated user."""

import datetime
from dataclasses import dataclass, field

import pytest

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region
from placement.channels import Channel
from placement.models import AnnualTarget, Placement, Worker
from placement.services import target_set, worker_place
from tests.conftest import MODEL_BACKEND, PASSWORD, synthetic_id  # noqa: F401


@dataclass
class Site:
    """One enterprise with one worker, one placement and one target: the markers of a scope."""

    enterprise: Enterprise
    worker: Worker
    placement: Placement
    target: AnnualTarget
    id_number: str
    phone: str

    @property
    def markers(self) -> list[str]:
        """Strings that must never appear on a page for a user who may not see this site."""
        return [
            self.enterprise.name,
            self.enterprise.credit_code,
            self.worker.name,
            self.id_number,
            self.worker.id_number_masked,
            self.phone,
            self.placement.destination_unit,
        ]


@dataclass
class World:
    a: Site  # 甲: 太原市小店区
    b: Site  # 乙: 太原市迎泽区
    c: Site  # 丙: 大同市新荣区
    users: dict = field(default_factory=dict)

    @property
    def sites(self) -> dict[str, Site]:
        return {"a": self.a, "b": self.b, "c": self.c}


def worker_form(worker, **changes) -> dict:
    """What the worker's admin page posts back unchanged (no placement rows), with `changes`."""
    data = {
        "enterprise": worker.enterprise_id,
        "name": worker.name,
        "id_number": "",
        "status": worker.status,
        "registered_on": "2016-01-04",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
        "placements-MIN_NUM_FORMS": "0",
        "placements-MAX_NUM_FORMS": "1000",
    }
    return data | changes


# What each role sees of the three sites.
VISIBLE_SITES = {
    "hr": {"a"},
    "county": {"a"},
    "city": {"a", "b"},
    "province": {"a", "b", "c"},
    "administrator": {"a", "b", "c"},
    "deactivated": set(),
}
ROLES = list(VISIBLE_SITES)


def _site(key, name, county_code, seq, phone) -> Site:
    from placement.demo import credit_code
    from placement.services import worker_register

    county = Region.objects.get(code=county_code)
    enterprise = Enterprise.objects.create(
        name=name,
        credit_code=credit_code(county_code, 700_000 + seq),
        industry=Enterprise.Industry.COAL,
        region=county,
    )
    number = synthetic_id(region=county_code, birth="19700501", seq=seq)
    worker = worker_register(
        enterprise=enterprise,
        id_number=number,
        name=f"{name}职工{key}",
        phone=phone,
        registered_on=datetime.date(2016, 1, 4),
        actor=SYSTEM,
    )
    placement = worker_place(
        worker=worker,
        channel=Channel.INTERNAL_TRANSFER,
        placed_on=datetime.date(2016, 6, 1),
        destination_unit=f"{name}安置单位{key}",
        actor=SYSTEM,
    )
    target = target_set(year=2016, enterprise=enterprise, workers=7, actor=SYSTEM)
    return Site(enterprise, worker, placement, target, number, phone)


@pytest.fixture
def world(db, make_user) -> World:
    world = World(
        a=_site("a", "甲测试煤矿", "140105", 11, "13800000011"),
        b=_site("b", "乙测试煤矿", "140106", 21, "13900000021"),
        c=_site("c", "丙测试钢铁厂", "140212", 31, "13700000031"),
    )
    world.users = {role: make_user(role, enterprise=world.a.enterprise) for role in ROLES}
    return world


@pytest.fixture
def login(client):
    """Log the client in as a user (through the model backend, as a real login would end)."""

    def log_in(user):
        client.force_login(user, backend=MODEL_BACKEND)
        return client

    return log_in
