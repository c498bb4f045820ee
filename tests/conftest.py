"""Shared test data, built through the real write paths (services), never from demo fixtures.

Personas: one user per role, made by `make_user(role)` and logged in by `client_as(role)`:
"hr" (the HR officer of `enterprise`, 测试煤矿甲 in 小店区), "county" (小店区), "city" (太原市),
"province" (山西省), "administrator" (the administrator role), "deactivated" (an HR officer
who left), and "superuser" (the installer's account from createsuperuser). The access tests'
three-enterprise world (tests/security/conftest.py) is built from the same personas."""

import datetime
import functools
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import translation
from openpyxl import Workbook

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region, UserScope
from placement import idnumbers
from placement.demo import credit_code
from placement.roles import roles_setup, user_role_sync
from placement.services import worker_place, worker_register

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A page asked for in English leaves English active in the thread (LocaleMiddleware
    activates the request's language and never puts it back): a later test calling a service
    directly would read its messages in English."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing takes ~0.3 s a password; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def xlsx_bytes(rows) -> bytes:
    """A one-sheet .xlsx holding the given rows (title rows, header, data) as a user saves it."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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


@pytest.fixture
def place():
    """Place a worker through the service, as the operator would."""

    def place(worker, on, channel="internal_transfer", ended_on=None):
        return worker_place(
            worker=worker, channel=channel, placed_on=on, ended_on=ended_on, actor=SYSTEM
        )

    return place


# role → (UserScope role, region code of the scope, username); HR officers' scope is an
# enterprise, given to make_user.
PERSONAS = {
    "hr": (UserScope.Role.ENTERPRISE_HR, None, "hr-a"),
    "county": (UserScope.Role.REGION_STAFF, "140105", "county-xiaodian"),
    "city": (UserScope.Role.REGION_STAFF, "140100", "city-taiyuan"),
    "province": (UserScope.Role.PROVINCE_STAFF, "140000", "province"),
    "administrator": (UserScope.Role.ADMINISTRATOR, None, "administrator"),
    "deactivated": (UserScope.Role.ENTERPRISE_HR, None, "hr-a-left"),
    "superuser": (None, None, "root"),
}


@functools.cache
def _password_hash() -> str:
    # Hashed once per run: hashing is slow on purpose, and tests make many users.
    return make_password(PASSWORD)


@pytest.fixture
def make_user(db, request):
    """A user of one persona (PERSONAS), or with no role at all (`make_user(None)`: an account
    nobody has given a scope). `enterprise` is an HR officer's (default: the
    `enterprise` fixture); `username` for a second user of the same persona."""
    roles_setup()

    def make(role, *, enterprise=None, username=None, region=None):
        if role is None:
            return get_user_model().objects.create(
                username=username or "no-role", password=_password_hash()
            )
        scope_role, region_code, default_name = PERSONAS[role]
        name = username or default_name
        if role == "superuser":
            return get_user_model().objects.create_superuser(
                name, f"{name}@example.invalid", PASSWORD
            )
        user = get_user_model().objects.create(
            username=name, password=_password_hash(), is_active=role != "deactivated"
        )
        if scope_role == UserScope.Role.ENTERPRISE_HR:
            enterprise = enterprise or request.getfixturevalue("enterprise")
        if region_code and region is None:
            region = Region.objects.get(code=region_code)
        UserScope.objects.create(
            user=user,
            role=scope_role,
            region=region if scope_role != UserScope.Role.ENTERPRISE_HR else None,
            enterprise=enterprise if scope_role == UserScope.Role.ENTERPRISE_HR else None,
        )
        user_role_sync(user=user)
        return user

    return make


@pytest.fixture
def client_as(client, make_user):
    """The test client logged in as a persona (through the model backend, as a real login
    would end); a user may be given instead of a role."""

    def log_in(role_or_user, **kwargs):
        user = make_user(role_or_user, **kwargs) if isinstance(role_or_user, str) else role_or_user
        client.force_login(user, backend=MODEL_BACKEND)
        client.user = user
        return client

    return log_in


@pytest.fixture
def superuser(make_user):
    return make_user("superuser")


@pytest.fixture
def root_client(client_as):
    """The client logged in as the installer's superuser (not pytest-django's `admin_client`,
    which this project does not use)."""
    return client_as("superuser")


@pytest.fixture(autouse=True)
def _regions_after_a_flush(request):
    """Shanxi's regions come from a data migration, and a transactional test's flush empties
    them for the tests that follow: load them again before a transactional test needs them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        transactional = True
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from enterprises.models import Region
    from enterprises.regions import regions_load

    if not Region.objects.exists():
        regions_load(province_code="14")


@pytest.fixture
def report_cache_on(settings):
    """A real cache (one process here, so a per-process one is enough)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
