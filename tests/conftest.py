"""Shared test data, built through the real write paths (services), never from demo fixtures."""

import datetime

import pytest

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region
from placement import idnumbers
from placement.demo import credit_code
from placement.services import worker_register


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing takes ~0.3 s a password; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def synthetic_id(region: str = "140105", birth: str = "19700501", seq: int = 123) -> str:
    """A synthetic ID number with a valid check digit (odd `seq` is a man, even a woman)."""
    return idnumbers.with_check_digit(f"{region}{birth}{seq:03d}")


@pytest.fixture
def province(db):
    return Region.objects.get(code="140000")


@pytest.fixture
def taiyuan(db):
    return Region.objects.get(code="140100")


@pytest.fixture
def xiaodian(db):
    return Region.objects.get(code="140105")


@pytest.fixture
def make_enterprise(db, xiaodian):
    counter = iter(range(1, 10_000))

    def make(name=None, region=None, parent=None, industry=Enterprise.Industry.COAL, **fields):
        serial = next(counter)
        region = region or xiaodian
        return Enterprise.objects.create(
            name=name or f"测试煤矿{serial}",
            credit_code=credit_code(region.code, 900_000 + serial),
            industry=industry,
            region=region,
            parent=parent,
            **fields,
        )

    return make


@pytest.fixture
def enterprise(make_enterprise):
    return make_enterprise(name="测试煤矿甲")


@pytest.fixture
def make_worker(db, enterprise):
    counter = iter(range(1, 999))

    def make(enterprise=enterprise, id_number=None, name=None, **fields):
        seq = next(counter)
        return worker_register(
            enterprise=enterprise,
            id_number=id_number or synthetic_id(seq=seq),
            name=name or f"测试职工{seq:03d}",
            registered_on=fields.pop("registered_on", datetime.date(2016, 1, 4)),
            actor=fields.pop("actor", SYSTEM),
            **fields,
        )

    return make
