"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser for the whole session, a fresh context (cookies, language) per test. Every page a
test opens is watched: a request to anything but the live server, a console error (a refused
inline script or style under the CSP among them) or an uncaught exception fails the test.
`axe_check` runs axe-core (bundled with axe-playwright-python, nothing fetched) on the page;
`shot` saves a screenshot under tests/browser/screenshots/ (git-ignored).

Without Chromium at LEDGER_CHROMIUM (default /usr/bin/chromium) every test here is skipped with
that reason; .ci/run installs it, so CI always runs them.
"""

import datetime
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from access.actors import SYSTEM

# Playwright's sync API runs an event loop in the test's thread; Django then refuses ORM calls
# from that thread as "async unsafe", although they are plain synchronous calls. The live server
# runs in its own thread and the test only reads and writes between page steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "browser-test-password-2016"
# axe-core impacts that fail a test; the others are reported as warnings in the test output.
BLOCKING_IMPACTS = {"serious", "critical"}


class AccessibilityWarning(UserWarning):
    """An axe-core finding of minor or moderate impact (reported, not failing)."""


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def upload_dir(settings, tmp_path):
    # The live server runs in this process: the setting reaches its thread too.
    settings.LEDGER_IMPORT_UPLOAD_DIR = tmp_path / "ledger-imports"
    return settings.LEDGER_IMPORT_UPLOAD_DIR


@dataclass
class Watch:
    """What a page did that it must not: requests elsewhere, console errors, exceptions."""

    origin: str
    foreign_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)

    documents: set = field(default_factory=set)

    def request(self, request):
        url = request.url
        if request.resource_type == "document":
            self.documents.add(url)
        if not (url.startswith(self.origin + "/") or url.startswith(("data:", "about:"))):
            self.foreign_requests.append(url)

    def console(self, message):
        if message.type != "error":
            return
        where = message.location
        # Chromium logs a page answered 403 or 404 as a failed load; the tests that open such a
        # page assert its status and content themselves. A failed style or script still counts.
        if message.text.startswith("Failed to load resource") and where["url"] in self.documents:
            return
        self.console_errors.append(
            f"{message.text} ({where['url']}:{where['lineNumber']}:{where['columnNumber']})"
        )

    def assert_clean(self):
        assert self.foreign_requests == [], "requests left the live server"
        assert self.console_errors == [], "console errors:\n" + "\n".join(self.console_errors)
        assert self.page_errors == [], "uncaught page errors"


@pytest.fixture
def new_page(browser, live_server, upload_dir):
    """Open a page in a fresh browser context (Chinese, 1280 px unless told otherwise); every
    page opened is checked for foreign requests and console errors when the test ends."""
    watches = []
    contexts = []

    def open_page(*, width=1280, height=900, **options):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            locale=options.pop("locale", "zh-CN"),
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        watch = Watch(origin=live_server.url)
        context.on("request", watch.request)
        page = context.new_page()
        page.on("console", watch.console)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        watches.append(watch)
        return page

    yield open_page
    for context in contexts:
        context.close()
    for watch in watches:
        watch.assert_clean()


@pytest.fixture
def page(new_page):
    return new_page()


def log_in(page, username, password=PASSWORD, next_url="/"):
    """Log in through the admin's login form, as a person would."""
    page.goto(f"/admin/login/?next={next_url}")
    page.get_by_label(re.compile("用户名|Username")).fill(username)
    page.get_by_label(re.compile("密码|Password")).fill(password)
    page.get_by_role("button", name=re.compile("登录|Log in")).click()
    # Past every redirect that follows the login (to "/", then the user's page): under load the
    # first page's load event came while the next was on its way, and a script run then found no
    # document (CI, session 20: document.documentElement was null).
    page.wait_for_load_state("networkidle")
    assert "/admin/login/" not in page.url, page.locator(".errornote").all_inner_texts()


def shot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the page under tests/browser/screenshots/ (looked at by people)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_check(page, name: str) -> list[dict]:
    """Run axe-core on the page: serious or critical violations fail, the rest are reported as
    warnings (and in screenshots/axe-<name>.json). Returns every violation."""
    from axe_playwright_python.sync_playwright import Axe

    # No preload: axe would copy the page's style sheets into <style> elements to read them,
    # which the CSP refuses (and their relative @imports would then point at the page's URL).
    results = Axe().run(page, options={"resultTypes": ["violations"], "preload": False})
    violations = results.response["violations"]
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / f"axe-{name}.json").write_text(
        json.dumps(
            [
                {
                    "id": v["id"],
                    "impact": v["impact"],
                    "help": v["help"],
                    "targets": [node["target"] for node in v["nodes"]],
                }
                for v in violations
            ],
            ensure_ascii=False,
            indent=1,
        )
    )
    blocking = []
    for violation in violations:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        line = f"{name}: {violation['id']} ({violation['impact']}) {violation['help']} at {targets}"
        if violation["impact"] in BLOCKING_IMPACTS:
            blocking.append(line)
        else:
            warnings.warn(line, AccessibilityWarning, stacklevel=2)
    assert blocking == [], "axe-core: serious or critical violations:\n" + "\n".join(blocking)
    return violations


def today() -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()


@dataclass
class World:
    """Three enterprises in two cities, one user per role that the flows need."""

    mine: object  # 太原市小店区: the HR officer's only enterprise
    yingze: object  # 太原市迎泽区
    datong: object  # 大同市新荣区: outside the city user's scope
    users: dict


def _user(username, **scope):
    from django.contrib.auth import get_user_model

    from enterprises.models import UserScope
    from placement.roles import user_role_sync

    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    UserScope.objects.create(user=user, **scope)
    user_role_sync(user=user)
    return user


def _enterprise(name, county, serial, *, workers, placed):
    from enterprises.models import Enterprise, Region
    from placement.demo import credit_code
    from placement.models import AnnualTarget
    from placement.services import worker_place, worker_register
    from tests.conftest import synthetic_id

    region = Region.objects.get(code=county)
    enterprise = Enterprise.objects.create(
        name=name,
        credit_code=credit_code(county, 800_000 + serial),
        industry=Enterprise.Industry.COAL,
        region=region,
    )
    for i in range(workers):
        worker = worker_register(
            enterprise=enterprise,
            id_number=synthetic_id(region=county, birth="19750301", seq=serial * 10 + i * 2 + 1),
            name=f"{name[:2]}职工{i + 1:02d}",
            registered_on=datetime.date(2016, 3, 1),
            actor=SYSTEM,
        )
        if i < placed:
            worker_place(
                worker=worker,
                channel="internal_transfer",
                placed_on=datetime.date(2017, 5, 2),
                actor=SYSTEM,
            )
    AnnualTarget.objects.create(year=2017, enterprise=enterprise, workers=workers)
    return enterprise


_REGIONS_JSON = []


def _regions_restore() -> None:
    """Put back Shanxi's regions (loaded by a data migration) after a transactional test's flush.

    The live server needs committed data, so these tests flush the database after each test;
    the flush's post_migrate signal recreates content types and permissions, not the regions.
    (pytest-django's serialized rollback would, but only when its database was set up after
    Playwright started: with a `db` test first it was never serialized.)"""
    from django.core import serializers

    from enterprises.models import Region

    if Region.objects.exists():
        if not _REGIONS_JSON:
            _REGIONS_JSON.append(serializers.serialize("json", Region.objects.order_by("code")))
        return
    for obj in serializers.deserialize("json", _REGIONS_JSON[0]):
        obj.save()


@pytest.fixture
def world(transactional_db) -> World:
    from enterprises.models import Region, UserScope
    from placement.models import AnnualTarget
    from placement.roles import roles_setup

    _regions_restore()
    roles_setup()
    world = World(
        mine=_enterprise("甲测试煤矿", "140105", 1, workers=4, placed=2),
        yingze=_enterprise("乙测试煤矿", "140106", 2, workers=3, placed=1),
        datong=_enterprise("丙测试钢铁厂", "140212", 3, workers=5, placed=4),
        users={},
    )
    AnnualTarget.objects.create(year=2017, region=Region.objects.get(code="140000"), workers=15)
    AnnualTarget.objects.create(year=2017, region=Region.objects.get(code="140100"), workers=8)
    Role = UserScope.Role
    world.users = {
        "hr": _user("hr-jia", role=Role.ENTERPRISE_HR, enterprise=world.mine),
        "city": _user(
            "city-taiyuan", role=Role.REGION_STAFF, region=Region.objects.get(code="140100")
        ),
        "province": _user(
            "province", role=Role.PROVINCE_STAFF, region=Region.objects.get(code="140000")
        ),
    }
    return world
